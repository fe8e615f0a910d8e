//! SIGTERM drains the real binary (issue 6): the request in flight finishes, new
//! connections are refused, and the process exits 0.

#![cfg(unix)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn gatehouse(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_ADMIN_EMAIL")
        .env_remove("GATEHOUSE_ADMIN_PASSWORD")
        .env_remove("GATEHOUSE_METRICS_TOKEN")
        .env("GATEHOUSE_DATA_DIR", data_dir);
    cmd
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_refuses_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/gatehouse.js"), "").unwrap();

    let out = gatehouse(dir.path())
        .args(["scim-token", "create", "--name", "drain"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let addr = free_port();
    let mut server = gatehouse(dir.path())
        .env("GATEHOUSE_LISTEN", addr.to_string())
        .env("GATEHOUSE_SITE_DIR", &site)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A request whose body is still on its way: the server is inside it when SIGTERM lands.
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "drain@example.com",
        "name": {"givenName": "Dee", "familyName": "Rain"},
        "emails": [{"value": "drain@example.com", "primary": true}],
        "active": true
    })
    .to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        conn,
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));

    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    // New connections are refused once the server has taken the signal.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr) {
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
                break;
            }
            Ok(_) => {
                assert!(Instant::now() < deadline, "still accepting after SIGTERM");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    assert!(
        server.try_wait().unwrap().is_none(),
        "the process exited with a request in flight"
    );

    // The request in flight still completes.
    conn.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the in-flight request did not complete: {response}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the process did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
}
