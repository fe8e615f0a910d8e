//! `gatehouse`: the one binary an operator runs.

#![recursion_limit = "256"]

/// glibc's malloc took about a seventh of the server's samples under SCIM load (`perf
/// record` while `scripts/bench-scim` ran): every request allocates its headers, its JSON and
/// its rows on one thread and frees many of them on another. mimalloc's thread-local
/// free lists make that cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use gatehouse_domain::admin::AdminRole;
use gatehouse_domain::store::AdminOrigin;
use gatehouse_server::backup;
use gatehouse_server::cli_profiles::{self, AuthProfileCommand, GroupCommand};
use gatehouse_server::config::{ServeArgs, StoreArgs};
use gatehouse_server::config_check;
use gatehouse_server::config_file::{self, FileSettings, ADMIN_PASSWORD_KEY};
use gatehouse_server::serve;
use gatehouse_server::telemetry;
use std::ffi::OsString;
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

    /// A TOML file of settings: the variables' names in lower case without the GATEHOUSE_
    /// prefix, e.g. `public_url = "https://gatehouse.example.com"`. Precedence: command
    /// line > environment > file > default.
    // Read before clap parses, by `config_file::locate`; declared here for --help.
    #[arg(long, env = "GATEHOUSE_CONFIG", global = true, value_name = "FILE")]
    #[allow(dead_code)]
    config: Option<std::path::PathBuf>,

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
    /// Manage SAML authentication profiles.
    #[command(subcommand, name = "auth-profile")]
    AuthProfile(AuthProfileCommand),
    /// Manage user groups' sign-in (the groups themselves come from the IdP over SCIM).
    #[command(subcommand)]
    Group(GroupCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a consistent copy of the SQLite database to PATH while the server keeps
    /// serving (SQLite's VACUUM INTO). PATH must not exist. Keep the secret key (the
    /// data directory's secret.key, or GATEHOUSE_SECRET_KEY) with the copy: the SAML
    /// profiles' private keys in it are sealed with that key. For PostgreSQL use pg_dump.
    Backup {
        /// The file to write; refused if it exists.
        path: std::path::PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print every effective setting and where it came from (secrets only as "(set)"),
    /// then check what `serve` checks at start-up: the public URL, the first-administrator
    /// pair, that the database answers, that the secret key decodes, the site files.
    /// Changes nothing. Exit status 0 when the configuration is valid.
    Check(ServeArgs),
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
        /// What the administrator may do: `administrator` changes anything, `auditor` sees
        /// everything and changes nothing (except their own password).
        #[arg(long, default_value = "administrator", value_parser = parse_role)]
        role: AdminRole,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn parse_role(s: &str) -> Result<AdminRole, String> {
    AdminRole::parse(s)
}

/// The first administrator's password: GATEHOUSE_ADMIN_PASSWORD, else the file's
/// `admin_password` (it has no command-line flag, so it never shows in the process list).
fn with_password(mut args: ServeArgs, file: &FileSettings) -> ServeArgs {
    args.admin_password = std::env::var("GATEHOUSE_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .or_else(|| file.get(ADMIN_PASSWORD_KEY).map(str::to_string));
    args
}

async fn admin_create(email: String, role: AdminRole, store_args: StoreArgs) -> Result<(), String> {
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
        .create_admin_with_role(&email, password, role, AdminOrigin::CommandLine)
        .await
        .map_err(|e| e.to_string())?;
    match admin.role {
        AdminRole::Administrator => println!("Created administrator {}", admin.email),
        AdminRole::Auditor => println!("Created administrator {} (Auditor)", admin.email),
    }
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

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // The configuration file's values become the defaults of the arguments they name, so
    // clap's own order (command line, then environment, then default) gives the precedence.
    let file = match config_file::locate(&argv) {
        None => FileSettings::default(),
        Some(path) => match config_file::load(&path, &Cli::command()) {
            Ok(file) => file,
            Err(message) => {
                for line in message.lines() {
                    eprintln!("gatehouse: {line}");
                }
                return ExitCode::from(2);
            }
        },
    };
    let matches = config_file::apply(Cli::command(), &file).get_matches_from(argv);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.format(&mut Cli::command()).exit(),
    };
    telemetry::init();
    // Rendering a console page polls deeply nested futures; in a debug build their frames
    // outgrow tokio's default 2 MiB worker stack. Memory is only committed as it is used.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 << 20)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gatehouse: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli, matches, file))
}

async fn run(cli: Cli, matches: ArgMatches, file: FileSettings) -> ExitCode {
    let result = match cli.command {
        None => serve::run(with_password(cli.serve, &file))
            .await
            .map_err(|e| e.to_string()),
        Some(Command::Serve(args)) => serve::run(with_password(args, &file))
            .await
            .map_err(|e| e.to_string()),
        Some(Command::Config(ConfigCommand::Check(args))) => {
            let args = with_password(args, &file);
            let command = Cli::command();
            let check_cmd = command
                .find_subcommand("config")
                .and_then(|c| c.find_subcommand("check"))
                .expect("the config check command exists");
            let check_matches = matches
                .subcommand_matches("config")
                .and_then(|m| m.subcommand_matches("check"))
                .expect("config check was parsed");
            config_check::run(&args, check_cmd, check_matches, &file).await
        }
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
        Some(Command::Admin(AdminCommand::Create {
            email, role, store, ..
        })) => admin_create(email, role, store).await,
        Some(Command::ScimToken(ScimTokenCommand::Create {
            name,
            expires_in,
            store,
        })) => scim_token_create(name, expires_in, store).await,
        Some(Command::ScimToken(other)) => scim_token_other(other).await,
        Some(Command::AuthProfile(cmd)) => cli_profiles::auth_profile(cmd).await,
        Some(Command::Group(cmd)) => cli_profiles::group(cmd).await,
        Some(Command::Backup { path, store }) => backup::run(&store, &path).await.map(|r| {
            println!(
                "Wrote a consistent copy of the database to {} ({} bytes).",
                r.path.display(),
                r.bytes
            );
        }),
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
