//! A per-token request rate limit for SCIM clients: a token bucket per API token, refilled
//! at the configured rate, allowing bursts of twice that. Over the limit a client gets a
//! SCIM 429 with an integer `Retry-After`, which Okta honours.
//!
//! Buckets live in this process: with several replicas each counts its own share, so the
//! effective limit is the setting times the number of replicas. Shared counting would put
//! a database write on every SCIM request for a limit whose purpose is only to keep one
//! runaway client from starving the others.

use super::response;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use gatehouse_domain::ids::ScimTokenId;
use gatehouse_domain::token::ScimToken;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets per token.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<ScimTokenId, Bucket>>,
}

impl RateLimiter {
    /// `per_second` = 0 turns the limit off.
    pub fn new(per_second: u32) -> Arc<Self> {
        Arc::new(RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(per_second) * 2.0,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one request from the token's bucket, or says in how many whole seconds one
    /// will be available.
    pub fn take(&self, token: ScimTokenId, now: Instant) -> Result<(), u64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(token).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

/// Middleware body: runs after authentication, so the token is known.
pub async fn limit(limiter: Arc<RateLimiter>, req: Request, next: Next) -> Response {
    let Some(token) = req.extensions().get::<ScimToken>().map(|t| t.id) else {
        return next.run(req).await;
    };
    match limiter.take(token, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(retry_after) => {
            let mut res = response::error(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                &format!("Too many requests with this token; retry after {retry_after} seconds."),
            );
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&retry_after.to_string()).expect("digits are a valid header"),
            );
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_of_twice_the_rate_then_refusals_then_refill() {
        let limiter = RateLimiter::new(5);
        let token = ScimTokenId::new();
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(limiter.take(token, t0).is_ok());
        }
        assert_eq!(limiter.take(token, t0), Err(1));
        assert!(
            limiter.take(token, t0 + Duration::from_millis(250)).is_ok(),
            "refilled 1.25"
        );
        // Another token has its own bucket.
        assert!(limiter.take(ScimTokenId::new(), t0).is_ok());
    }

    #[test]
    fn zero_means_no_limit() {
        let limiter = RateLimiter::new(0);
        let token = ScimTokenId::new();
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| limiter.take(token, t0).is_ok()));
    }
}
