//! `gatehouse auth-profile …` and `gatehouse group set-profile`: the SAML set-up from the
//! command line, for automation and tests. The same functions as the console run underneath
//! (`gatehouse_domain::saml_profiles`), so validation and events are the same; the actor in
//! Events is the system.

use crate::config::StoreArgs;
use crate::serve;
use clap::{Args, Subcommand};
use gatehouse_domain::event::Actor;
use gatehouse_domain::fetch::FetchPolicy;
use gatehouse_domain::saml_profiles::{self, MetadataSource};
use gatehouse_domain::sealed::Sealer;
use std::path::PathBuf;

/// Where people and IdPs reach Gatehouse; the SP entity ID and ACS URL derive from it.
#[derive(Args, Clone, Debug)]
pub struct PublicUrlArg {
    /// Same meaning as for `serve`; must match the running server's.
    #[arg(
        long,
        env = "GATEHOUSE_PUBLIC_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub public_url: String,
}

#[derive(Subcommand, Debug)]
pub enum AuthProfileCommand {
    /// Create a SAML profile with a new SP key pair; prints only the new profile's id.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List profiles in priority order (the first one a user's groups use wins).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Import the IdP's metadata into a profile (by id or name), from a file or a URL.
    ImportMetadata {
        /// The profile's id or name.
        profile: String,
        /// A metadata XML file.
        #[arg(long, conflicts_with = "url", required_unless_present = "url")]
        file: Option<PathBuf>,
        /// The IdP's metadata URL (Okta: https://ORG.okta.com/app/APP_ID/sso/saml/metadata).
        #[arg(long)]
        url: Option<String>,
        /// Which IdP to take from a document that describes several.
        #[arg(long)]
        entity_id: Option<String>,
        /// Import even if a signing certificate has expired.
        #[arg(long)]
        accept_expired: bool,
        /// Allow http and loopback/private addresses for --url (test IdPs only).
        #[arg(long, env = "GATEHOUSE_METADATA_ALLOW_PRIVATE")]
        allow_private: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the profile's SP metadata XML (what the IdP needs: entity ID, ACS, certificate).
    Metadata {
        /// The profile's id or name.
        profile: String,
        #[command(flatten)]
        public_url: PublicUrlArg,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// Assign a profile to a group (both by id or name); `none` removes the assignment.
    SetProfile {
        group: String,
        profile: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn auth_profile(cmd: AuthProfileCommand) -> Result<(), String> {
    match cmd {
        AuthProfileCommand::Create {
            name,
            description,
            store,
        } => {
            let sealer = sealer(&store)?;
            let store = open(&store).await?;
            let profile =
                saml_profiles::create_profile(&store, &sealer, &name, &description, Actor::System)
                    .await
                    .map_err(|e| e.to_string())?;
            eprintln!("Created SAML profile \"{}\".", profile.name);
            println!("{}", profile.id);
            Ok(())
        }
        AuthProfileCommand::List { store } => {
            let store = open(&store).await?;
            let profiles = store
                .list_auth_profiles()
                .await
                .map_err(|e| e.to_string())?;
            if profiles.is_empty() {
                eprintln!(
                    "No authentication profiles yet: `gatehouse auth-profile create --name NAME`."
                );
            }
            for p in profiles {
                let idp = p
                    .idp
                    .as_ref()
                    .map(|i| i.entity_id.as_str())
                    .unwrap_or("(no IdP metadata)");
                let groups: Vec<_> = p.groups.iter().map(|g| g.display_name.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    p.id,
                    p.priority,
                    p.name,
                    idp,
                    groups.join(", ")
                );
            }
            Ok(())
        }
        AuthProfileCommand::ImportMetadata {
            profile,
            file,
            url,
            entity_id,
            accept_expired,
            allow_private,
            store,
        } => {
            let store = open(&store).await?;
            let profile = store
                .resolve_auth_profile(&profile)
                .await
                .map_err(|e| e.to_string())?;
            let source = match (file, url) {
                (Some(path), _) => MetadataSource::Xml(read_limited(&path)?),
                (None, Some(url)) => MetadataSource::Url(url),
                (None, None) => return Err("give --file PATH or --url URL".into()),
            };
            let policy = FetchPolicy {
                allow_private,
                ..FetchPolicy::default()
            };
            let updated = saml_profiles::import_metadata(
                &store,
                profile.id,
                source,
                policy,
                entity_id.as_deref(),
                accept_expired,
                Actor::System,
            )
            .await
            .map_err(|e| e.to_string())?;
            if let Some(idp) = &updated.idp {
                eprintln!(
                    "Imported IdP {} into \"{}\" ({} signing certificate(s)).",
                    idp.entity_id,
                    updated.name,
                    idp.certificates.len()
                );
                for c in &idp.certificates {
                    eprintln!(
                        "  {}  SHA-256 {}  expires {}",
                        c.subject, c.sha256_fingerprint, c.not_after
                    );
                }
            }
            Ok(())
        }
        AuthProfileCommand::Metadata {
            profile,
            public_url,
            store,
        } => {
            let store = open(&store).await?;
            let profile = store
                .resolve_auth_profile(&profile)
                .await
                .map_err(|e| e.to_string())?;
            let xml =
                saml_profiles::sp_metadata(public_url.public_url.trim_end_matches('/'), &profile)
                    .map_err(|e| e.to_string())?;
            println!("{xml}");
            Ok(())
        }
    }
}

pub async fn group(cmd: GroupCommand) -> Result<(), String> {
    match cmd {
        GroupCommand::SetProfile {
            group,
            profile,
            store,
        } => {
            let store = open(&store).await?;
            let group = store
                .resolve_group(&group)
                .await
                .map_err(|e| e.to_string())?;
            let profile_id = if profile.eq_ignore_ascii_case("none") {
                None
            } else {
                Some(
                    store
                        .resolve_auth_profile(&profile)
                        .await
                        .map_err(|e| e.to_string())?
                        .id,
                )
            };
            let change = store
                .set_group_profile(&group.id, profile_id, Actor::System)
                .await
                .map_err(|e| e.to_string())?;
            match change.after {
                Some(p) => eprintln!(
                    "Group \"{}\" now signs in through \"{}\".",
                    change.group.display_name, p.name
                ),
                None => eprintln!(
                    "Group \"{}\" has no authentication profile now.",
                    change.group.display_name
                ),
            }
            Ok(())
        }
    }
}

async fn open(store: &StoreArgs) -> Result<gatehouse_domain::store::Store, String> {
    serve::open_store(store).await.map_err(|e| e.to_string())
}

fn sealer(store: &StoreArgs) -> Result<Sealer, String> {
    Ok(Sealer::new(store.resolve_secret_key()?))
}

/// Reads a metadata file, refusing one far too large to be metadata before reading it all.
fn read_limited(path: &PathBuf) -> Result<String, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if size > gatehouse_domain::saml::MAX_METADATA_BYTES as u64 {
        return Err(format!(
            "{} is {size} bytes; metadata over {} bytes is refused",
            path.display(),
            gatehouse_domain::saml::MAX_METADATA_BYTES
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
