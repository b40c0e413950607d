//! API errors: `{"error": "<kebab code>", "message": "…"}` with an HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::Error;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let value = serde_json::json!({ "error": self.code, "message": self.message });
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        use StatusCode as S;
        let (status, code) = match &error {
            Error::InvalidName { .. } => (S::BAD_REQUEST, "invalid-name"),
            Error::InvalidVersion { .. } => (S::BAD_REQUEST, "invalid-version"),
            Error::InvalidSelector { .. } => (S::BAD_REQUEST, "invalid-selector"),
            Error::PromptNotFound { .. } => (S::NOT_FOUND, "prompt-not-found"),
            Error::NoVersions { .. } => (S::NOT_FOUND, "no-versions"),
            Error::VersionNotFound { .. } => (S::NOT_FOUND, "version-not-found"),
            Error::UnknownEnvironment { .. } => (S::NOT_FOUND, "unknown-environment"),
            Error::NotInEnvironment { .. } => (S::NOT_FOUND, "not-in-environment"),
            Error::NeverInEnvironment { .. } => (S::NOT_FOUND, "never-in-environment"),
            Error::PromptFileMissing { .. } => (S::NOT_FOUND, "prompt-file-missing"),
            Error::AccessDenied { .. } => (S::FORBIDDEN, "access-denied"),
            Error::VersionExists { .. } => (S::CONFLICT, "version-exists"),
            Error::PipelineSkipped { .. } => (S::CONFLICT, "pipeline-skipped"),
            Error::RegistryDirty => (S::CONFLICT, "registry-dirty"),
            Error::Unchanged { .. } => (S::CONFLICT, "unchanged"),
            Error::NothingToRollBack { .. } => (S::CONFLICT, "nothing-to-roll-back"),
            Error::OperationInProgress { .. } => (S::CONFLICT, "operation-in-progress"),
            Error::DetachedHead => (S::CONFLICT, "detached-head"),
            Error::Locked { .. } | Error::RefLocked { .. } => (S::CONFLICT, "locked"),
            Error::Contended { .. } => (S::CONFLICT, "contended"),
            Error::Yaml { .. } | Error::Invalid { .. } => {
                (S::UNPROCESSABLE_ENTITY, "invalid-prompt")
            }
            Error::RegistryMissing { .. } | Error::UnbornBranch { .. } => {
                (S::NOT_FOUND, "registry-missing")
            }
            Error::BareRepository { .. } => (S::FORBIDDEN, "bare-repository"),
            Error::NoIdentity { .. } | Error::BadIdentity { .. } => {
                (S::INTERNAL_SERVER_ERROR, "no-identity")
            }
            _ => (S::INTERNAL_SERVER_ERROR, "internal"),
        };
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Self::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.body(),
        )
            .into_response()
    }
}
