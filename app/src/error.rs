//! The error every server function returns, typed across the wire so pages can tell "sign in
//! again" from "fix this field" from "try later".

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a console request failed, in words shown to the administrator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid admin session: the page sends the visitor to sign in.
    #[error("Your session has ended. Sign in to continue.")]
    Unauthorized,
    /// Signed in, but the role does not allow this (an Auditor asking to change something);
    /// the message says why, so it is not mistaken for a fault.
    #[error("{0}")]
    Forbidden(String),
    /// The input was refused; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; the message says when to try again.
    #[error("{0}")]
    TooManyRequests(String),
    /// Something failed on the server; the details are logged there, not shown.
    #[error("Something went wrong on the server. Try again; if it persists, the server log has the details.")]
    Internal,
    /// The request did not reach the function (network, encoding).
    #[error("The server could not be reached: {0}")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                AppError::Invalid(format!("The form could not be read: {msg}"))
            }
            ServerFnErrorErr::MissingArg(arg) => {
                AppError::Invalid(format!("The form is missing the field \"{arg}\"."))
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// The HTTP status this error is sent with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Invalid(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Sets this error's status on the current response, and returns the error: server
    /// functions end with `Err(e.respond())`.
    pub fn respond(self) -> Self {
        if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(self.status());
        }
        self
    }
}

#[cfg(feature = "ssr")]
impl From<gatehouse_domain::DomainError> for AppError {
    fn from(e: gatehouse_domain::DomainError) -> Self {
        use gatehouse_domain::DomainError as D;
        let app = match e {
            D::Invalid(m) => AppError::Invalid(m),
            D::Conflict(m) => AppError::Conflict(m),
            D::NotFound(m) => AppError::NotFound(m),
            D::BadCredentials => AppError::Invalid(D::BadCredentials.to_string()),
            e @ D::Throttled { .. } => AppError::TooManyRequests(e.to_string()),
            D::Database(m) => {
                tracing::error!(error = %m, "database error in a server function");
                AppError::Internal
            }
        };
        app.respond()
    }
}
