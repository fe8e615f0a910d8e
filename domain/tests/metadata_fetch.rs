//! Fetching metadata by URL against real listeners on loopback: caps on size, time and
//! redirects hold, and a redirect is checked like the first URL.

use gatehouse_domain::fetch::{fetch_metadata, FetchError, FetchPolicy};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves every connection with `respond(path)` written raw; returns the base URL.
async fn serve(respond: fn(&str) -> Vec<u8>, dribble: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let answer = respond(&path);
                if dribble {
                    // Headers, then a byte a second: a server that never finishes.
                    let _ = socket.write_all(&answer).await;
                    loop {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        if socket.write_all(b"x").await.is_err() {
                            return;
                        }
                    }
                }
                let _ = socket.write_all(&answer).await;
            });
        }
    });
    format!("http://{addr}")
}

fn ok_body(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn test_policy() -> FetchPolicy {
    FetchPolicy {
        allow_private: true,
        timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn fetches_a_document_and_follows_a_redirect() {
    let base = serve(
        |path| match path {
            "/moved" => b"HTTP/1.1 302 Found\r\nLocation: /metadata\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            _ => ok_body("<EntityDescriptor/>"),
        },
        false,
    )
    .await;
    assert_eq!(
        fetch_metadata(&format!("{base}/moved"), test_policy())
            .await
            .unwrap(),
        "<EntityDescriptor/>"
    );
}

#[tokio::test]
async fn a_loopback_server_is_refused_unless_allowed() {
    let base = serve(|_| ok_body("<EntityDescriptor/>"), false).await;
    let https_like = base.replace("http://", "https://");
    let strict = FetchPolicy {
        allow_private: false,
        timeout: Duration::from_secs(2),
    };
    assert!(matches!(
        fetch_metadata(&https_like, strict).await,
        Err(FetchError::PrivateAddress { .. })
    ));
}

#[tokio::test]
async fn endless_redirects_stop() {
    let base = serve(
        |_| b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        false,
    )
    .await;
    assert_eq!(
        fetch_metadata(&format!("{base}/start"), test_policy()).await,
        Err(FetchError::TooManyRedirects)
    );
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_checked_like_the_first_url() {
    let base = serve(
        |_| b"HTTP/1.1 301 Moved\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        false,
    )
    .await;
    assert!(matches!(
        fetch_metadata(&base, test_policy()).await,
        Err(FetchError::NotHttps(_))
    ));
}

#[tokio::test]
async fn a_huge_document_is_refused() {
    let base = serve(
        |_| {
            let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            r.extend(std::iter::repeat_n(b'a', 3 << 20));
            r
        },
        false,
    )
    .await;
    assert_eq!(
        fetch_metadata(&base, test_policy()).await,
        Err(FetchError::TooLarge)
    );
}

#[tokio::test]
async fn a_server_that_never_finishes_times_out() {
    let base = serve(
        |_| b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<a>".to_vec(),
        true,
    )
    .await;
    assert!(matches!(
        fetch_metadata(&base, test_policy()).await,
        Err(FetchError::Timeout(_))
    ));
}

#[tokio::test]
async fn an_error_status_is_reported() {
    let base = serve(
        |_| b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        false,
    )
    .await;
    assert_eq!(
        fetch_metadata(&base, test_policy()).await,
        Err(FetchError::Status(404))
    );
}
