//! Serving HTTPS directly (GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY), with the OpenSSL that
//! samael already links.
//!
//! Handshakes run in their own tasks, so a slow or silent client delays nobody else; a
//! finished handshake is handed to axum's server through a channel, so everything else
//! (connection info, graceful shutdown) is the same code as plain HTTP. When axum stops
//! accepting (SIGTERM), the channel closes, the accept task ends and drops the socket: new
//! connections are refused at once, as over plain HTTP.

use openssl::ssl::{Ssl, SslAcceptor, SslFiletype, SslMethod};
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_openssl::SslStream;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes that may be finished but not yet taken by the server.
const QUEUE: usize = 64;

/// Loads the certificate chain and key and checks they belong together. Messages name the
/// setting and the file, never the key's contents.
pub fn acceptor(cert: &Path, key: &Path) -> Result<SslAcceptor, String> {
    for (setting, path) in [("GATEHOUSE_TLS_CERT", cert), ("GATEHOUSE_TLS_KEY", key)] {
        std::fs::File::open(path)
            .map_err(|e| format!("{setting}: cannot read {}: {e}", path.display()))?;
    }
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    builder.set_certificate_chain_file(cert).map_err(|e| {
        format!(
            "GATEHOUSE_TLS_CERT: {} is not a readable PEM certificate chain: {}",
            cert.display(),
            first_reason(&e)
        )
    })?;
    builder
        .set_private_key_file(key, SslFiletype::PEM)
        .map_err(|e| match first_reason(&e).as_str() {
            "key values mismatch" => mismatch(cert, key),
            reason => format!(
                "GATEHOUSE_TLS_KEY: {} is not a readable, unencrypted PEM private key: {reason}",
                key.display(),
            ),
        })?;
    builder
        .check_private_key()
        .map_err(|_| mismatch(cert, key))?;
    Ok(builder.build())
}

fn mismatch(cert: &Path, key: &Path) -> String {
    format!(
        "GATEHOUSE_TLS_KEY: the key in {} does not belong to the certificate in {}",
        key.display(),
        cert.display()
    )
}

/// OpenSSL's error stack, shortened to its first reason (or the system error, such as a
/// missing file).
fn first_reason(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .first()
        .map(|err| {
            err.reason()
                .map(str::to_string)
                .unwrap_or_else(|| err.to_string())
        })
        .unwrap_or_else(|| std::io::Error::last_os_error().to_string())
}

/// A listener whose connections have finished their TLS handshake.
pub struct TlsListener {
    ready: mpsc::Receiver<(SslStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp`, handshaking each connection in its own task.
    pub fn new(tcp: TcpListener, acceptor: SslAcceptor) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(QUEUE);
        let acceptor = std::sync::Arc::new(acceptor);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    // The server stopped accepting: close the socket.
                    _ = tx.closed() => break,
                    accepted = tcp.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                let tx = tx.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&acceptor, stream))
                        .await
                    {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { ready, local })
    }
}

async fn handshake(
    acceptor: &SslAcceptor,
    stream: TcpStream,
) -> Result<SslStream<TcpStream>, String> {
    let ssl = Ssl::new(acceptor.context()).map_err(|e| e.to_string())?;
    let mut tls = SslStream::new(ssl, stream).map_err(|e| e.to_string())?;
    Pin::new(&mut tls)
        .accept()
        .await
        .map_err(|e| e.to_string())?;
    Ok(tls)
}

impl axum::serve::Listener for TlsListener {
    type Io = SslStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task only ends once this receiver is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
