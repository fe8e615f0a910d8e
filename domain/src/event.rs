//! Events / Logs: the append-only record of every provisioning change, configuration change
//! and sign-in.

use crate::ids::EventId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The broad kind of an event, the first filter an admin reaches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Provisioning,
    Configuration,
    SignIn,
    Administration,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Provisioning => "provisioning",
            Category::Configuration => "configuration",
            Category::SignIn => "sign_in",
            Category::Administration => "administration",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "provisioning" => Category::Provisioning,
            "configuration" => Category::Configuration,
            "sign_in" => Category::SignIn,
            "administration" => Category::Administration,
            _ => return None,
        })
    }
}

/// Whether the thing the event describes happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

/// Who caused an event, as the console names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// Gatehouse itself (start-up, scheduled jobs).
    System,
    /// An administrator, by id.
    Admin(String),
    /// Someone not (yet) known: a sign-in attempt, a setup-link visitor.
    Anonymous,
    /// An identity provider's SCIM client, by the id of the token it presented.
    ScimToken(String),
}

/// A recorded event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub category: Category,
    /// A dotted verb such as `admin.signed_in`; stable, so filters and exports can rely on it.
    pub action: String,
    pub outcome: Outcome,
    pub actor: Actor,
    /// What the event is about, in words an admin recognises (an email, a group name).
    pub target: Option<String>,
    /// Extra facts as JSON text (never a secret).
    pub detail: Option<String>,
}

/// An event about to be appended; the store gives it its id and time.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub category: Category,
    pub action: &'static str,
    pub outcome: Outcome,
    pub actor: Actor,
    pub target: Option<String>,
    pub detail: Option<String>,
}
