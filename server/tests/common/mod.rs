//! A Gatehouse server on a random loopback port, over a throw-away SQLite database, and an
//! HTTP client that shows redirects and cookies as they are.

#![allow(dead_code)]

use gatehouse_app::state::{AppState, Settings};
use gatehouse_domain::store::{AdminOrigin, Store};
use gatehouse_domain::testing::TestDatabase;
use leptos::prelude::LeptosOptions;
use reqwest::header::{HeaderMap, COOKIE, ORIGIN, SET_COOKIE};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub const ADMIN_EMAIL: &str = "ada@example.com";
pub const ADMIN_PASSWORD: &str = "a long enough password";

pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub client: reqwest::Client,
    /// The key the server seals secrets with, for tests that create SAML profiles.
    pub sealer: gatehouse_domain::sealed::Sealer,
    _db: TestDatabase,
}

pub struct Options {
    pub public_url: Option<String>,
    pub session_absolute: Duration,
    pub with_admin: bool,
    /// Run on a throw-away PostgreSQL database instead of SQLite.
    pub postgres: bool,
    /// SCIM requests per second per token (0: unlimited, the default in tests).
    pub scim_rate_per_second: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            public_url: None,
            session_absolute: Duration::from_secs(3600),
            with_admin: true,
            postgres: false,
            scim_rate_per_second: 0,
        }
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(opts: Options) -> Self {
        let db = if opts.postgres {
            TestDatabase::postgres().await
        } else {
            TestDatabase::sqlite()
        };
        let store = db.store().await;
        if opts.with_admin {
            store
                .create_admin(ADMIN_EMAIL, ADMIN_PASSWORD, AdminOrigin::CommandLine)
                .await
                .unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let sealer = gatehouse_domain::sealed::Sealer::new(rand::random());
        let state = AppState {
            leptos_options: LeptosOptions::builder()
                .output_name("gatehouse")
                .site_root("target/site")
                .site_addr(addr)
                .build(),
            store: store.clone(),
            settings: Arc::new(Settings {
                public_url: opts.public_url.unwrap_or_else(|| base.clone()),
                session_idle: Duration::from_secs(1800),
                session_absolute: opts.session_absolute,
                event_retention_days: 365,
                scim_rate_per_second: opts.scim_rate_per_second,
                sealer: sealer.clone(),
                // Tests fetch metadata from listeners on loopback.
                metadata_fetch: gatehouse_domain::fetch::FetchPolicy {
                    allow_private: true,
                    timeout: Duration::from_secs(5),
                },
            }),
        };
        let app = gatehouse_server::router::build(state);
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            base,
            store,
            client,
            sealer,
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Calls a server function the way the console's own pages do (same-origin POST).
    pub async fn call(
        &self,
        name: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(&format!("/console/api/{name}")))
            .header(ORIGIN, &self.base)
            .form(form);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    /// Signs in and returns the session cookie (`name=value`).
    pub async fn sign_in(&self) -> String {
        let res = self
            .call(
                "sign_in",
                &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
                None,
            )
            .await;
        assert!(
            res.status().is_success(),
            "sign-in failed: {}",
            res.status()
        );
        session_cookie(res.headers()).expect("a session cookie after sign-in")
    }
}

/// The full `Set-Cookie` line for the session, if the response sets one.
pub fn session_set_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gatehouse_session="))
        .map(str::to_string)
}

/// `name=value` of the session cookie set by a response.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    session_set_cookie(headers).map(|c| c.split(';').next().unwrap().to_string())
}

/// A SCIM client with a valid token, as Okta's provisioning engine would be.
pub struct ScimClient {
    pub app: TestApp,
    pub token: String,
}

impl ScimClient {
    pub async fn new() -> Self {
        let app = TestApp::spawn().await;
        let (_, token) = app
            .store
            .create_scim_token("Okta", None, gatehouse_domain::event::Actor::System)
            .await
            .unwrap();
        ScimClient { app, token }
    }

    /// A request to `/scim/v2{path}` with the token.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .request(method, self.app.url(&format!("/scim/v2{path}")))
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
    }

    /// Sends `body` (if any) as SCIM JSON; checks the answer is SCIM JSON and returns it.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (reqwest::StatusCode, HeaderMap, serde_json::Value) {
        let mut req = self.req(method, path);
        if let Some(b) = body {
            req = req
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/scim+json; charset=utf-8",
                )
                .body(b.to_string());
        }
        let res = req.send().await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        if status != reqwest::StatusCode::NO_CONTENT {
            assert_eq!(
                headers[reqwest::header::CONTENT_TYPE],
                "application/scim+json",
                "{status}"
            );
        }
        let text = res.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// [`Self::send_json`] without the headers.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let (status, _, body) = self.send_json(method, path, body).await;
        (status, body)
    }
}
