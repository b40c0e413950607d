//! API errors: `{"error": "<kebab code>", "message": "…"}` with an HTTP status.
//!
//! An HTTP error never shows the server's filesystem paths, its pid or the content of files the
//! client did not send: errors that carry a path (`Locked`, `Io`, `NotARepository`, …) are
//! worded without it here, every error body is passed through [`Redact`] (the repository's own
//! paths shown relative to it) on its way out, and a 500 says only that the server's log has
//! the details.

use std::path::Path;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Shared;

use crate::Error;

/// An error response.
#[derive(Clone, Debug)]
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
        let (status, code) = error.status_and_code();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, code, public_message(&error))
    }
}

/// `error` as a client may read it: variants that name a server path or a pid are worded
/// without them; the others say what they say, with their causes.
fn public_message(error: &Error) -> String {
    match error {
        Error::NotARepository { .. } => "the served repository cannot be opened".into(),
        Error::ReftableUnsupported { .. } => {
            "the served repository uses the reftable ref format, which promptreg cannot read yet"
                .into()
        }
        Error::Locked { .. } => "the registry is locked by another write; retry in a moment".into(),
        Error::RefLocked { .. } => {
            "the branch is locked (a git `.lock` file is in place); retry in a moment".into()
        }
        Error::Io { source, .. } => {
            format!("cannot access a file of the registry: {}", source.kind())
        }
        _ => {
            let mut message = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            message
        }
    }
}

/// Rewrites the server's own paths in error messages: each absolute prefix is shown as a
/// name relative to the repository (longest prefix first).
#[derive(Clone, Debug, Default)]
pub(crate) struct Redact {
    rules: Vec<(String, String)>,
}

impl Redact {
    /// Rules for a repository: its working tree is shown as the repository-relative path and
    /// its Git directory as `.git` (both as given and canonicalised).
    pub fn for_repository(workdir: Option<&Path>, git_dir: &Path) -> Self {
        let mut redact = Self::default();
        if let Some(workdir) = workdir {
            redact = redact.with(workdir, "");
        }
        redact.with(git_dir, ".git/")
    }

    /// Shows `path` (and anything below it) as `shown`.
    pub fn with(mut self, path: &Path, shown: &str) -> Self {
        let mut forms = vec![path.to_path_buf()];
        if let Ok(real) = path.canonicalize() {
            forms.push(real);
        }
        for form in forms {
            let text = form.to_string_lossy().trim_end_matches('/').to_owned();
            if text.is_empty() {
                continue;
            }
            let below = if shown.is_empty() || shown.ends_with('/') {
                shown.to_owned()
            } else {
                format!("{shown}/")
            };
            let itself = match shown.trim_end_matches('/') {
                "" => "the repository".to_owned(),
                name => name.to_owned(),
            };
            self.rules.push((format!("{text}/"), below));
            self.rules.push((text, itself));
        }
        self.rules
            .sort_by_key(|rule| std::cmp::Reverse(rule.0.len()));
        self.rules.dedup();
        self
    }

    /// `text` with every rule applied.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (from, to) in &self.rules {
            if out.contains(from.as_str()) {
                out = out.replace(from.as_str(), to);
            }
        }
        out
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

/// Largest error body rewritten by [`redact_errors`]; error bodies are a few hundred bytes.
const ERROR_BODY_LIMIT: usize = 64 << 10;

/// Every error body on its way out: the server's own paths are shown relative to the
/// repository, and a 500 says only that the log has the details (which go to the log).
pub(super) async fn redact_errors(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_LIMIT).await else {
        return ApiError::internal("the error could not be shown").into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    let shown = if status == StatusCode::INTERNAL_SERVER_ERROR {
        (shared.notify)(&format!("internal error: {text}"));
        ApiError::internal("the server could not answer this request; its log has the details")
            .body()
    } else {
        shared.redact.apply(&text)
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_shows_repository_paths_relative_to_it() {
        let redact = Redact::for_repository(
            Some(Path::new("/srv/registry")),
            Path::new("/srv/registry/.git"),
        )
        // `serve --repo` as given, when it is not the repository's own path (a link to it).
        .with(Path::new("/data/link-to-registry"), "");
        assert_eq!(
            redact.apply("/data/link-to-registry/prompts/a/prompt.yaml:3:1: unknown field"),
            "prompts/a/prompt.yaml:3:1: unknown field"
        );
        assert_eq!(
            redact.apply("failed to lock '/srv/registry/.git/refs/heads/main.lock'"),
            "failed to lock '.git/refs/heads/main.lock'"
        );
        assert_eq!(
            redact.apply("`/srv/registry/prompts/a/prompt.yaml` not found in /srv/registry"),
            "`prompts/a/prompt.yaml` not found in the repository"
        );
    }

    #[test]
    fn errors_with_paths_or_pids_are_worded_without_them() {
        let locked = Error::Locked {
            path: "/srv/registry/.git/promptreg.lock".into(),
            holder: "pid 4242 on host".into(),
        };
        let io = Error::Io {
            path: "/etc/passwd".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        for error in [locked, io] {
            let message = ApiError::from(error).message;
            assert!(
                !message.contains('/') && !message.contains("4242"),
                "{message}"
            );
        }
    }
}
