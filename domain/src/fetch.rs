//! Fetching an identity provider's metadata from the URL an administrator gave (Okta's
//! `https://{org}.okta.com/app/{appId}/sso/saml/metadata`), without turning Gatehouse into a
//! proxy into its own network.
//!
//! The URL comes from an administrator, but a mistyped or malicious one must not reach
//! loopback, link-local (cloud metadata at 169.254.169.254) or private addresses, by itself
//! or through a redirect; the host is resolved once per hop and the connection is pinned to
//! the address that was checked, so a DNS answer cannot change between check and use. Time,
//! size and redirects are capped, and no credentials are ever sent.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Metadata documents are a few kilobytes; anything near this is not metadata.
pub const MAX_FETCH_BYTES: usize = 1 << 20;
const MAX_REDIRECTS: usize = 3;

/// How strict a fetch is.
#[derive(Clone, Copy, Debug)]
pub struct FetchPolicy {
    /// Allow plain http and loopback/private addresses. Only for test identity providers
    /// running beside Gatehouse (GATEHOUSE_METADATA_ALLOW_PRIVATE); off in production.
    pub allow_private: bool,
    /// The whole fetch, connection to last byte.
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            allow_private: false,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Why a fetch failed, in words an administrator can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("the metadata URL is not a valid URL: {0}")]
    BadUrl(String),
    #[error("the metadata URL must use https (got {0})")]
    NotHttps(String),
    #[error("the metadata URL's host {host} resolves to {addr}, a loopback, private or link-local address; Gatehouse only fetches metadata from public addresses")]
    PrivateAddress { host: String, addr: IpAddr },
    #[error("could not resolve the host {0}")]
    Unresolvable(String),
    #[error("the identity provider did not answer within {0} seconds")]
    Timeout(u64),
    #[error("could not fetch the metadata: {0}")]
    Network(String),
    #[error("the metadata URL answered HTTP {0}")]
    Status(u16),
    #[error("the metadata URL redirected more than {MAX_REDIRECTS} times")]
    TooManyRedirects,
    #[error("the metadata is larger than {} KiB", MAX_FETCH_BYTES / 1024)]
    TooLarge,
    #[error("the metadata is not UTF-8 text")]
    NotText,
}

/// Fetches the document at `url`, following at most a few redirects, each checked like the
/// first URL.
pub async fn fetch_metadata(url: &str, policy: FetchPolicy) -> Result<String, FetchError> {
    let seconds = policy.timeout.as_secs().max(1);
    tokio::time::timeout(policy.timeout, fetch_following(url, policy))
        .await
        .map_err(|_| FetchError::Timeout(seconds))?
}

async fn fetch_following(url: &str, policy: FetchPolicy) -> Result<String, FetchError> {
    let mut current = reqwest::Url::parse(url).map_err(|e| FetchError::BadUrl(e.to_string()))?;
    for _ in 0..=MAX_REDIRECTS {
        let (host, addr) = check_target(&current, policy).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, addr)
            .timeout(policy.timeout)
            .user_agent(concat!("Gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Network(e.to_string()))?;
        let mut response = client
            .get(current.clone())
            .header(
                "Accept",
                "application/samlmetadata+xml, application/xml, text/xml",
            )
            .send()
            .await
            .map_err(network_error)?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or(FetchError::Status(status.as_u16()))?;
            current = current
                .join(location)
                .map_err(|e| FetchError::BadUrl(e.to_string()))?;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_FETCH_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network_error)? {
            if body.len() + chunk.len() > MAX_FETCH_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        return String::from_utf8(body).map_err(|_| FetchError::NotText);
    }
    Err(FetchError::TooManyRedirects)
}

fn network_error(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout(0)
    } else {
        FetchError::Network(e.to_string())
    }
}

/// Checks scheme and address of one hop; returns the host and the one address to connect to.
async fn check_target(
    url: &reqwest::Url,
    policy: FetchPolicy,
) -> Result<(String, SocketAddr), FetchError> {
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_private => {}
        other => return Err(FetchError::NotHttps(format!("{other}:"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::BadUrl(
            "credentials in the URL are not allowed".into(),
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::BadUrl("the URL has no host".into()))?
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|_| FetchError::Unresolvable(host.clone()))?
            .collect(),
    };
    let first = *addrs
        .first()
        .ok_or_else(|| FetchError::Unresolvable(host.clone()))?;
    if !policy.allow_private {
        // Every address the name resolves to must be public, not just the first.
        if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(FetchError::PrivateAddress {
                host,
                addr: bad.ip(),
            });
        }
    }
    Ok((bare.to_string(), first))
}

/// Whether an address is on the public internet (not loopback, private, link-local,
/// shared, documentation, multicast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
        for ip in ["8.8.8.8", "2606:4700::1111", "52.1.2.3"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} counted as private");
        }
    }

    #[tokio::test]
    async fn loopback_and_plain_http_are_refused_by_default() {
        let strict = FetchPolicy::default();
        assert!(matches!(
            fetch_metadata("https://127.0.0.1:1/metadata", strict).await,
            Err(FetchError::PrivateAddress { .. })
        ));
        assert!(matches!(
            fetch_metadata("https://localhost:1/metadata", strict).await,
            Err(FetchError::PrivateAddress { .. })
        ));
        assert!(matches!(
            fetch_metadata("http://example.com/metadata", strict).await,
            Err(FetchError::NotHttps(_))
        ));
        assert!(matches!(
            fetch_metadata("file:///etc/passwd", strict).await,
            Err(FetchError::NotHttps(_))
        ));
        assert!(matches!(
            fetch_metadata("https://user:pw@example.com/metadata", strict).await,
            Err(FetchError::BadUrl(_))
        ));
    }
}
