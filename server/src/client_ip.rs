//! Where a request comes from, behind a reverse proxy or not (GATEHOUSE_TRUSTED_PROXIES).
//!
//! Without trusted proxies (the default) the client is the TCP peer and `X-Forwarded-For` is
//! ignored: anyone can write that header. When the peer is a trusted proxy, the client is the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy: each proxy appends
//! the address it received the request from, so entries to the left of the first untrusted
//! one may have been made up by the client and are never used.
//!
//! The layer rewrites the request's `ConnectInfo<SocketAddr>` to the client's address, so
//! every place that records a client IP (SCIM events and the token's "last used from",
//! console sign-in throttling and events, SAML sign-in events) gets it without knowing about
//! proxies; the TCP peer stays available as [`PeerAddr`]. From a trusted proxy it also takes
//! the host from `X-Forwarded-Host` (right-most value) as the request's `Host`, so the
//! console's same-origin check compares the browser's `Origin` with the host the browser
//! used rather than the proxy's upstream address.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// The TCP peer of a request (the proxy, when there is one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// An address or a CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    addr: IpAddr,
    prefix: u8,
}

impl Block {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == full {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// The proxies whose `X-Forwarded-For` (and `X-Forwarded-Host`) Gatehouse believes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[Block]>);

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies (an IPv4 address seen as `::ffff:a.b.c.d`
    /// on a dual-stack socket counts as the IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|b| b.contains(ip))
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// Comma-separated addresses and CIDR blocks, e.g. `10.0.0.0/8, 192.0.2.7, fd00::/8`.
    /// Empty: no proxy is trusted.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut blocks = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let bad = || {
                format!(
                    "\"{item}\" is not an IP address or a CIDR block (such as 10.0.0.0/8, 192.0.2.7 or fd00::/8)"
                )
            };
            let (addr, prefix) = match item.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix)),
                None => (item, None),
            };
            let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
            let full = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => full,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= full)
                    .ok_or_else(bad)?,
            };
            blocks.push(Block { addr, prefix });
        }
        Ok(TrustedProxies(blocks.into()))
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`), as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim().trim_matches('"');
    IpAddr::from_str(entry)
        .ok()
        .or_else(|| SocketAddr::from_str(entry).ok().map(|s| s.ip()))
        .or_else(|| IpAddr::from_str(entry.strip_prefix('[')?.strip_suffix(']')?).ok())
        .map(|ip| ip.to_canonical())
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy. Should every entry be a trusted
/// proxy, the left-most; should an entry be unreadable, the trusted hop that wrote it.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    // Several X-Forwarded-For headers form one list, in order.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut nearest_trusted = peer;
    for entry in entries.iter().rev() {
        match parse_entry(entry) {
            Some(ip) if trusted.contains(ip) => nearest_trusted = ip,
            Some(ip) => return ip,
            None => return nearest_trusted,
        }
    }
    nearest_trusted
}

/// The right-most `X-Forwarded-Host` value, when it is a plausible host (and port).
fn forwarded_host(headers: &HeaderMap) -> Option<HeaderValue> {
    let last = headers
        .get_all("x-forwarded-host")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|h| !h.is_empty())?;
    let plausible = last.len() <= 255
        && last
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if plausible {
        HeaderValue::from_str(last).ok()
    } else {
        None
    }
}

/// The layer: rewrites `ConnectInfo` to the client's address (keeping the peer as
/// [`PeerAddr`]) and, from a trusted proxy, `Host` to `X-Forwarded-Host`.
pub async fn resolve(
    State(trusted): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        req.extensions_mut().insert(PeerAddr(peer));
        if trusted.contains(peer.ip()) {
            let client = client_ip(peer.ip(), req.headers(), &trusted);
            // The client's port is not known; 0 says so.
            let port = if client == peer.ip().to_canonical() {
                peer.port()
            } else {
                0
            };
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(client, port)));
            if let Some(host) = forwarded_host(req.headers()) {
                req.headers_mut().insert(axum::http::header::HOST, host);
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn parses_addresses_and_blocks_and_refuses_the_rest() {
        let t: TrustedProxies = " 10.0.0.0/8, 192.0.2.7 ,fd00::/8,".parse().unwrap();
        assert_eq!(t.to_string(), "10.0.0.0/8,192.0.2.7,fd00::/8");
        assert!(t.contains(ip("10.200.3.4")));
        assert!(t.contains(ip("192.0.2.7")));
        assert!(!t.contains(ip("192.0.2.8")));
        assert!(t.contains(ip("fd12::1")));
        assert!(t.contains(ip("::ffff:10.1.1.1")), "v4-mapped peers count");
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        for bad in [
            "10.0.0.0/33",
            "example.com",
            "10.0.0/8",
            "::/129",
            "1.2.3.4/x",
        ] {
            let e = bad.parse::<TrustedProxies>().unwrap_err();
            assert!(e.contains(bad.split('/').next().unwrap()), "{e}");
        }
        let all: TrustedProxies = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let t = TrustedProxies::default();
        let h = xff(&["203.0.113.9"]);
        assert_eq!(client_ip(ip("198.51.100.2"), &h, &t), ip("198.51.100.2"));
        let t: TrustedProxies = "10.0.0.1".parse().unwrap();
        assert_eq!(client_ip(ip("198.51.100.2"), &h, &t), ip("198.51.100.2"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() {
        let t: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        // The client forged the first entry; the proxy appended the real one.
        let h = xff(&["1.1.1.1, 203.0.113.9"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &t), ip("203.0.113.9"));
        // Two proxies: the second appended the first's address.
        let h = xff(&["1.1.1.1, 203.0.113.9, 10.0.0.7"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &t), ip("203.0.113.9"));
        // Split over several headers, ports and brackets as some proxies write them.
        let h = xff(&["1.1.1.1", "203.0.113.9:4711, 10.0.0.7"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &t), ip("203.0.113.9"));
        let h = xff(&["[2001:db8::9]:4711"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &t), ip("2001:db8::9"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.5"), &HeaderMap::new(), &t),
            ip("10.0.0.5")
        );
        // Everything trusted: the left-most.
        let h = xff(&["10.0.0.9, 10.0.0.7"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &t), ip("10.0.0.9"));
        // Garbage written by a trusted hop: that hop.
        let h = xff(&["203.0.113.9, unknown, 10.0.0.7"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &h, &t), ip("10.0.0.7"));
    }

    #[test]
    fn forwarded_host_takes_the_right_most_plausible_value() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-host",
            "evil.example, gatehouse.example.com".parse().unwrap(),
        );
        assert_eq!(forwarded_host(&h).unwrap(), "gatehouse.example.com");
        let mut h = HeaderMap::new();
        h.append("x-forwarded-host", "a b/c".parse().unwrap());
        assert!(forwarded_host(&h).is_none());
    }
}
