//! Serving HTTPS directly with GATEHOUSE_TLS_CERT / GATEHOUSE_TLS_KEY, on the real binary
//! (issue 6).

#![cfg(unix)]

use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslConnector, SslMethod};
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509NameBuilder, X509};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn gatehouse(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GATEHOUSE_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("GATEHOUSE_DATA_DIR", data_dir);
    cmd
}

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// A self-signed certificate for `localhost` and 127.0.0.1.
fn certificate(key: &PKey<Private>) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let serial = openssl::bn::BigNum::from_u32(1)
        .unwrap()
        .to_asn1_integer()
        .unwrap();
    b.set_serial_number(&serial).unwrap();
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(key, MessageDigest::sha256()).unwrap();
    b.build()
}

struct Files {
    dir: tempfile::TempDir,
    site: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    x509: X509,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/gatehouse.js"), "").unwrap();
    let k = key();
    let x509 = certificate(&k);
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, x509.to_pem().unwrap()).unwrap();
    std::fs::write(&key, k.private_key_to_pem_pkcs8().unwrap()).unwrap();
    Files {
        dir,
        site,
        cert,
        key,
        x509,
    }
}

/// One HTTPS request, checking the server's certificate against ours.
fn https_get(addr: SocketAddr, ca: &X509, path: &str) -> String {
    let mut connector = SslConnector::builder(SslMethod::tls_client()).unwrap();
    connector.cert_store_mut().add_cert(ca.clone()).unwrap();
    let connector = connector.build();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = connector.connect("localhost", tcp).unwrap();
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    )
    .unwrap();
    let mut response = String::new();
    let _ = tls.read_to_string(&mut response);
    response
}

#[test]
fn https_is_served_with_the_configured_certificate_and_drains_on_sigterm() {
    let f = files();
    let addr: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut server = gatehouse(f.dir.path())
        .env("GATEHOUSE_LISTEN", addr.to_string())
        .env("GATEHOUSE_SITE_DIR", &f.site)
        .env("GATEHOUSE_TLS_CERT", &f.cert)
        .env("GATEHOUSE_TLS_KEY", &f.key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline || server.try_wait().unwrap().is_some() {
            let _ = server.kill();
            panic!("the server did not start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let response = https_get(addr, &f.x509, "/healthz");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"ok\""), "{response}");
    // The public URL defaults to https:// on the listen address, so HSTS is sent.
    assert!(
        response
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age="),
        "{response}"
    );

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(plain, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf);
    assert!(
        !String::from_utf8_lossy(&buf).contains("\"ok\""),
        "plain HTTP was answered"
    );

    // SIGTERM: new connections are refused, the process exits 0.
    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            panic!("the process did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn config_check_names_tls_problems_without_printing_the_key() {
    let f = files();
    let check = |cert: Option<&Path>, key: Option<&Path>| {
        let mut cmd = gatehouse(f.dir.path());
        cmd.args(["config", "check"])
            .env("GATEHOUSE_SITE_DIR", &f.site);
        if let Some(c) = cert {
            cmd.env("GATEHOUSE_TLS_CERT", c);
        }
        if let Some(k) = key {
            cmd.env("GATEHOUSE_TLS_KEY", k);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };

    let (ok, text) = check(Some(&f.cert), Some(&f.key));
    assert!(ok, "{text}");
    assert!(text.contains("ok     tls_cert / tls_key: HTTPS"), "{text}");
    assert!(text.contains("https://127.0.0.1:3000"), "{text}");

    let (ok, text) = check(Some(&f.cert), None);
    assert!(!ok);
    assert!(
        text.contains("GATEHOUSE_TLS_CERT is set but GATEHOUSE_TLS_KEY is not"),
        "{text}"
    );

    // Another key than the certificate's.
    let other = f.dir.path().join("other.pem");
    std::fs::write(&other, key().private_key_to_pem_pkcs8().unwrap()).unwrap();
    let (ok, text) = check(Some(&f.cert), Some(&other));
    assert!(!ok);
    assert!(
        text.contains("GATEHOUSE_TLS_KEY: the key in") && text.contains("does not belong"),
        "{text}"
    );

    // Not a key at all: named, and its contents never shown.
    let garbage = f.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "top-secret-not-a-key-material\n").unwrap();
    let (ok, text) = check(Some(&f.cert), Some(&garbage));
    assert!(!ok);
    assert!(text.contains("GATEHOUSE_TLS_KEY"), "{text}");
    assert!(!text.contains("top-secret-not-a-key-material"), "{text}");

    // Missing certificate file.
    let (ok, text) = check(Some(&f.dir.path().join("missing.pem")), Some(&f.key));
    assert!(!ok);
    assert!(text.contains("GATEHOUSE_TLS_CERT"), "{text}");

    // serve refuses at start with the same message.
    let out = gatehouse(f.dir.path())
        .env("GATEHOUSE_SITE_DIR", &f.site)
        .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_TLS_CERT", &f.cert)
        .env("GATEHOUSE_TLS_KEY", &other)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not belong"));
}
