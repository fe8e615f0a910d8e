//! `gatehouse`: the one binary an operator runs.

#![recursion_limit = "256"]

use clap::{Parser, Subcommand};
use gatehouse_domain::store::AdminOrigin;
use gatehouse_server::config::{ServeArgs, StoreArgs};
use gatehouse_server::serve;
use gatehouse_server::telemetry;
use std::io::Read;
use std::process::ExitCode;

/// Gatehouse: the admin console and identity edge of a Zero-Trust access product. Okta
/// provisions users and groups over SCIM 2.0; administrators assign SAML profiles to groups.
///
/// Every option is also an environment variable (shown in brackets).
#[derive(Parser, Debug)]
#[command(name = "gatehouse", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default when no command is given).
    Serve(ServeArgs),
    /// Bring the database schema up to date, then exit (start-up also does this).
    Migrate(StoreArgs),
    /// Manage console administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage the API tokens identity providers use on /scim/v2.
    #[command(subcommand, name = "scim-token")]
    ScimToken(ScimTokenCommand),
}

#[derive(Subcommand, Debug)]
enum ScimTokenCommand {
    /// Create a token and print only the token on standard output (for automation). It is
    /// shown this once; Gatehouse keeps only a digest.
    Create {
        /// What uses the token, e.g. "Okta production".
        #[arg(long)]
        name: String,
        /// Days until the token stops working by itself (default: never).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3650))]
        expires_in: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the tokens: id, name, created, last used, expiry, revoked.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Stop a token at once.
    Revoke {
        /// The token's id (from `list`).
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Make a new token with the same name and print it; the old one stops at once, or
    /// after the grace period so the identity provider can be switched over first.
    Regenerate {
        /// The token's id (from `list`).
        id: String,
        /// Hours the old token keeps working (default: it stops now).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=720))]
        grace_hours: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create an administrator. The password is read from standard input, so it never
    /// appears in the shell history or the process list.
    Create {
        /// The administrator's email, used to sign in.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required; the first line is used).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn with_password_from_env(mut args: ServeArgs) -> ServeArgs {
    args.admin_password = std::env::var("GATEHOUSE_ADMIN_PASSWORD").ok();
    args
}

async fn admin_create(email: String, store_args: StoreArgs) -> Result<(), String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = input.lines().next().unwrap_or_default();
    if password.is_empty() {
        return Err("no password on standard input: pipe it in, e.g. `printf %s \"$PASS\" | gatehouse admin create --email … --password-stdin`".into());
    }
    let store = serve::open_store(&store_args)
        .await
        .map_err(|e| e.to_string())?;
    let admin = store
        .create_admin(&email, password, AdminOrigin::CommandLine)
        .await
        .map_err(|e| e.to_string())?;
    println!("Created administrator {}", admin.email);
    Ok(())
}

async fn scim_token_create(
    name: String,
    expires_in: Option<u64>,
    store_args: StoreArgs,
) -> Result<(), String> {
    let store = serve::open_store(&store_args)
        .await
        .map_err(|e| e.to_string())?;
    let (token, secret) = store
        .create_scim_token(
            &name,
            expires_in.map(|days| std::time::Duration::from_secs(days * 86_400)),
            gatehouse_domain::event::Actor::System,
        )
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "Created SCIM token \"{}\" ({}). It is shown only now:",
        token.name, token.id
    );
    println!("{secret}");
    Ok(())
}

fn token_id(id: &str) -> Result<gatehouse_domain::ids::ScimTokenId, String> {
    id.parse()
        .map_err(|_| format!("\"{id}\" is not a token id; `gatehouse scim-token list` shows them"))
}

fn when(t: Option<time::OffsetDateTime>) -> String {
    t.map(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    })
    .unwrap_or_else(|| "-".into())
}

async fn scim_token_other(cmd: ScimTokenCommand) -> Result<(), String> {
    use gatehouse_domain::event::Actor;
    match cmd {
        ScimTokenCommand::Create { .. } => unreachable!("handled by scim_token_create"),
        ScimTokenCommand::List { store } => {
            let store = serve::open_store(&store).await.map_err(|e| e.to_string())?;
            let tokens = store.list_scim_tokens().await.map_err(|e| e.to_string())?;
            println!(
                "{:<36}  {:<24}  {:<25}  {:<25}  {:<25}  revoked",
                "id", "name", "created", "last used", "expires"
            );
            for t in tokens {
                println!(
                    "{:<36}  {:<24}  {:<25}  {:<25}  {:<25}  {}",
                    t.id,
                    t.name,
                    when(Some(t.created_at)),
                    when(t.last_used_at),
                    when(t.expires_at),
                    when(t.revoked_at)
                );
            }
            Ok(())
        }
        ScimTokenCommand::Revoke { id, store } => {
            let id = token_id(&id)?;
            let store = serve::open_store(&store).await.map_err(|e| e.to_string())?;
            let t = store
                .revoke_scim_token(id, Actor::System)
                .await
                .map_err(|e| e.to_string())?;
            println!("Revoked SCIM token \"{}\" ({}).", t.name, t.id);
            Ok(())
        }
        ScimTokenCommand::Regenerate {
            id,
            grace_hours,
            store,
        } => {
            let id = token_id(&id)?;
            let store = serve::open_store(&store).await.map_err(|e| e.to_string())?;
            let grace = grace_hours.map(|h| std::time::Duration::from_secs(h * 3600));
            let (t, secret) = store
                .regenerate_scim_token(id, grace, Actor::System)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "New SCIM token \"{}\" ({}). It is shown only now:",
                t.name, t.id
            );
            println!("{secret}");
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let result = match cli.command {
        None => serve::run(with_password_from_env(cli.serve))
            .await
            .map_err(|e| e.to_string()),
        Some(Command::Serve(args)) => serve::run(with_password_from_env(args))
            .await
            .map_err(|e| e.to_string()),
        Some(Command::Migrate(store_args)) => match serve::open_store(&store_args).await {
            Ok(store) => {
                println!(
                    "Database schema is up to date ({}).",
                    store.backend().name()
                );
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        },
        Some(Command::Admin(AdminCommand::Create { email, store, .. })) => {
            admin_create(email, store).await
        }
        Some(Command::ScimToken(ScimTokenCommand::Create {
            name,
            expires_in,
            store,
        })) => scim_token_create(name, expires_in, store).await,
        Some(Command::ScimToken(other)) => scim_token_other(other).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("gatehouse: {message}");
            ExitCode::FAILURE
        }
    }
}
