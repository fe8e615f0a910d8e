//! Configuration: every setting is a command-line flag and an environment variable of the
//! same meaning, checked at start-up with messages that name the setting.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Settings shared by every subcommand that touches the database.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Directory for the SQLite database and other state; created if missing.
    #[arg(long, env = "GATEHOUSE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Database URL. Default: a SQLite file `gatehouse.db` in the data directory.
    /// `postgres://USER@HOST:PORT/DB` selects PostgreSQL (required for several replicas).
    #[arg(long, env = "GATEHOUSE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Key that encrypts secrets kept in the database (the private keys of SAML profiles):
    /// 32 random bytes in base64, e.g. from `openssl rand -base64 32`. Default: the file
    /// `secret.key` in the data directory, created on first use. Replicas must share it.
    #[arg(long, env = "GATEHOUSE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}

/// Name of the generated key file in the data directory.
pub const SECRET_KEY_FILE: &str = "secret.key";

impl StoreArgs {
    /// The database URL to use, without creating anything (for commands that only look).
    pub fn database_url_for_reading(&self) -> String {
        match self
            .database_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", self.data_dir.join("gatehouse.db").display()),
        }
    }

    /// The database URL to use, creating the data directory for the SQLite default.
    pub fn resolve_database_url(&self) -> Result<String, String> {
        if let Some(url) = self
            .database_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        {
            if url.starts_with("sqlite:") {
                if let Some(parent) = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:")
                    .split('?')
                    .next()
                    .map(PathBuf::from)
                    .and_then(|p| p.parent().map(PathBuf::from))
                    .filter(|p| !p.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(&parent).map_err(|e| {
                        format!(
                            "GATEHOUSE_DATABASE_URL: cannot create directory {}: {e}",
                            parent.display()
                        )
                    })?;
                }
            }
            return Ok(url.to_string());
        }
        std::fs::create_dir_all(&self.data_dir).map_err(|e| {
            format!(
                "GATEHOUSE_DATA_DIR: cannot create {}: {e}",
                self.data_dir.display()
            )
        })?;
        Ok(format!(
            "sqlite://{}",
            self.data_dir.join("gatehouse.db").display()
        ))
    }

    /// The key that seals stored secrets: GATEHOUSE_SECRET_KEY, else the key file in the data
    /// directory, generated (readable by the owner only) the first time it is needed.
    pub fn resolve_secret_key(&self) -> Result<[u8; 32], String> {
        use base64::Engine as _;
        let decode = |text: &str, origin: &str| -> Result<[u8; 32], String> {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| {
                    format!("{origin} must be 32 bytes in base64 (make one with `openssl rand -base64 32`)")
                })
        };
        if let Some(key) = self.secret_key.as_deref().filter(|k| !k.trim().is_empty()) {
            return decode(key, "GATEHOUSE_SECRET_KEY");
        }
        let path = self.data_dir.join(SECRET_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => decode(&text, &format!("the key file {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.data_dir).map_err(|e| {
                    format!(
                        "GATEHOUSE_DATA_DIR: cannot create {}: {e}",
                        self.data_dir.display()
                    )
                })?;
                let key: [u8; 32] = rand::random();
                match write_private_file(
                    &path,
                    &base64::engine::general_purpose::STANDARD.encode(key),
                ) {
                    Ok(()) => Ok(key),
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        self.resolve_secret_key()
                    }
                    Err(e) => Err(format!(
                        "cannot create the key file {}: {e}",
                        path.display()
                    )),
                }
            }
            Err(e) => Err(format!("cannot read the key file {}: {e}", path.display())),
        }
    }
}

/// Creates a file only its owner can read, failing if it already exists (two processes
/// starting at once must not overwrite each other's key).
fn write_private_file(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Settings of the running server.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Address and port to listen on.
    #[arg(long, env = "GATEHOUSE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The URL people and identity providers use to reach Gatehouse (scheme, host, port,
    /// no path). Default: `http://` and the listen address. Use https in production:
    /// cookies are then marked Secure.
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Email of the first administrator, created at start-up when no administrator exists.
    /// Give it together with GATEHOUSE_ADMIN_PASSWORD.
    #[arg(long, env = "GATEHOUSE_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// Password of that first administrator (at least 12 characters). Read from the
    /// environment only, so it never shows in the process list.
    #[arg(skip)]
    pub admin_password: Option<String>,

    /// Minutes without activity after which a console session ends.
    #[arg(long, env = "GATEHOUSE_SESSION_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub session_idle_minutes: u64,

    /// Hours after sign-in at which a console session ends however active it is.
    #[arg(long, env = "GATEHOUSE_SESSION_MAX_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u64).range(1..=720))]
    pub session_max_hours: u64,

    /// SCIM requests per second one API token may make on average (bursts of twice as
    /// many are allowed); over it the client gets 429 with Retry-After. 0 turns it off.
    /// Counted per replica.
    #[arg(long, env = "GATEHOUSE_SCIM_RATE_LIMIT", default_value_t = 100)]
    pub scim_rate_limit: u32,

    /// Days Events / Logs keeps an event. Once a day older events are deleted, and the
    /// deletion is itself recorded as an event (with the count). 0 keeps events forever.
    #[arg(long, env = "GATEHOUSE_EVENT_RETENTION_DAYS", default_value_t = 365,
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub event_retention_days: u32,

    /// Allow fetching IdP metadata over plain http and from loopback or private addresses.
    /// Only for a test IdP running beside Gatehouse: in production, metadata URLs must be
    /// https on public addresses, so an admin's URL cannot reach internal services.
    #[arg(
        long,
        env = "GATEHOUSE_METADATA_ALLOW_PRIVATE",
        default_value_t = false
    )]
    pub metadata_allow_private: bool,

    /// Directory of the built site (the wasm, JS and static files). Default: the
    /// LEPTOS_SITE_ROOT variable, else `target/site` under the current directory.
    #[arg(long, env = "GATEHOUSE_SITE_DIR")]
    pub site_dir: Option<PathBuf>,

    /// Reverse proxies whose X-Forwarded-For Gatehouse believes: comma-separated IP
    /// addresses and CIDR blocks, e.g. `127.0.0.1` or `10.0.0.0/8, fd00::/8`. A request from
    /// one of them is recorded as coming from the right-most X-Forwarded-For address that is
    /// not itself a trusted proxy, and its X-Forwarded-Host is taken as the host the browser
    /// used. Empty (the default): the client is the TCP peer and those headers are ignored.
    #[arg(
        long,
        env = "GATEHOUSE_TRUSTED_PROXIES",
        default_value = "",
        value_name = "IPS"
    )]
    pub trusted_proxies: crate::client_ip::TrustedProxies,

    /// PEM file with the certificate chain (the server's certificate first) to serve HTTPS
    /// directly on the listen address. Give it together with GATEHOUSE_TLS_KEY. Unset:
    /// plain HTTP, for a TLS-terminating proxy in front.
    #[arg(long, env = "GATEHOUSE_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// PEM file with that certificate's private key (unencrypted; readable by Gatehouse
    /// only).
    #[arg(long, env = "GATEHOUSE_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Bearer token Prometheus must send to read /metrics. Unset: /metrics is open to
    /// whoever can reach the port (it shows counts and route templates, no user data).
    #[arg(long, env = "GATEHOUSE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl ServeArgs {
    /// The public URL without a trailing slash, checked.
    pub fn resolve_public_url(&self) -> Result<String, String> {
        let url = match &self.public_url {
            Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
            _ if self.tls_cert.is_some() => format!("https://{}", self.listen),
            _ => format!("http://{}", self.listen),
        };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| {
                format!("GATEHOUSE_PUBLIC_URL must start with http:// or https:// (got \"{url}\")")
            })?;
        if rest.is_empty() || rest.contains('/') || rest.contains('?') || rest.contains('#') {
            return Err(format!(
                "GATEHOUSE_PUBLIC_URL must be a scheme and host (and port) without a path, such as https://gatehouse.example.com (got \"{url}\")"
            ));
        }
        Ok(url)
    }

    /// Both or neither of the first-administrator variables.
    pub fn first_admin(&self) -> Result<Option<(String, String)>, String> {
        match (&self.admin_email, &self.admin_password) {
            (Some(e), Some(p)) if !e.is_empty() && !p.is_empty() => Ok(Some((e.clone(), p.clone()))),
            (None, None) => Ok(None),
            (Some(e), None) if e.is_empty() => Ok(None),
            (Some(_), _) => Err("GATEHOUSE_ADMIN_EMAIL is set but GATEHOUSE_ADMIN_PASSWORD is not: set both or neither".into()),
            (None, Some(_)) => Err("GATEHOUSE_ADMIN_PASSWORD is set but GATEHOUSE_ADMIN_EMAIL is not: set both or neither".into()),
        }
    }

    /// The certificate and key files for serving HTTPS: both or neither.
    pub fn tls_files(&self) -> Result<Option<(PathBuf, PathBuf)>, String> {
        let set = |p: &Option<PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
        match (set(&self.tls_cert), set(&self.tls_key)) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(_), None) => Err("GATEHOUSE_TLS_CERT is set but GATEHOUSE_TLS_KEY is not: set both (to serve HTTPS) or neither".into()),
            (None, Some(_)) => Err("GATEHOUSE_TLS_KEY is set but GATEHOUSE_TLS_CERT is not: set both (to serve HTTPS) or neither".into()),
        }
    }

    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_minutes * 60)
    }

    pub fn session_absolute(&self) -> Duration {
        Duration::from_secs(self.session_max_hours * 3600)
    }
}

/// Hides the password in a database URL, for log lines.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_database_urls_are_hidden() {
        assert_eq!(
            redact_url("postgres://gh:s3cret@db:5432/gh"),
            "postgres://gh:***@db:5432/gh"
        );
        assert_eq!(redact_url("postgres://gh@db/gh"), "postgres://gh@db/gh");
        assert_eq!(
            redact_url("sqlite://./data/gatehouse.db"),
            "sqlite://./data/gatehouse.db"
        );
    }
}
