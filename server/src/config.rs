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
}

impl StoreArgs {
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

    /// Directory of the built site (the wasm, JS and static files). Default: the
    /// LEPTOS_SITE_ROOT variable, else `target/site` under the current directory.
    #[arg(long, env = "GATEHOUSE_SITE_DIR")]
    pub site_dir: Option<PathBuf>,
}

impl ServeArgs {
    /// The public URL without a trailing slash, checked.
    pub fn resolve_public_url(&self) -> Result<String, String> {
        let url = match &self.public_url {
            Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
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
