//! `GET /healthz`: whether prompts can be served from the tip of the served ref.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::response::json_response;
use super::{with_reader, ApiError, Shared};
use crate::store::{ObjectId, Store};

/// 200 when prompts can be served from the tip of the served ref, else 503 with the reason:
/// the ref is gone (a deleted branch, no commit yet), the tip has no `registry.yaml` or one that
/// does not parse, or the repository cannot be read.
pub(super) async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let checked = shared.clone();
    let verdict = tokio::task::spawn_blocking(move || {
        with_reader(&checked.repo.clone(), |store| health(&checked, store)).map_err(|e| {
            match e.status {
                StatusCode::SERVICE_UNAVAILABLE => e,
                _ => unavailable("repository-unreadable", e.message),
            }
        })
    })
    .await
    .unwrap_or_else(|e| Err(unavailable("repository-unreadable", e.to_string())));
    let (status, body) = match verdict {
        Ok(tip) => (
            StatusCode::OK,
            serde_json::json!({"status": "ok", "ref": shared.refname, "commit": tip.to_string()}),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "unavailable", "error": e.code, "message": e.message}),
        ),
    };
    let body = serde_json::to_string_pretty(&body).unwrap_or_default() + "\n";
    json_response(status, body.into())
}

/// A 503 with its reason.
pub(super) fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
}

/// The tip of the served ref when its index parses; the verdict is kept per tip.
pub(super) fn health(shared: &Shared, store: &Store) -> Result<ObjectId, ApiError> {
    let refname = &shared.refname;
    let tip = match store.ref_target(refname) {
        Ok(Some(tip)) => tip,
        Ok(None) => {
            return Err(unavailable(
                "ref-missing",
                format!("`{refname}` does not exist (deleted, or no commit yet); nothing to serve"),
            ))
        }
        Err(e) => {
            return Err(unavailable(
                "repository-unreadable",
                format!("cannot read `{refname}`: {}", e.message()),
            ))
        }
    };
    if let Some((seen, verdict)) = shared.health.lock().ok().and_then(|h| h.clone()) {
        if seen == tip {
            return verdict.map(|()| tip);
        }
    }
    let short = &crate::store::short_id(tip);
    let verdict = (|| {
        let commit = store
            .commit(Some(&tip.to_string()))
            .map_err(|e| unavailable("repository-unreadable", ApiError::from(e).message))?;
        let tree = commit.tree().map_err(|e| {
            unavailable(
                "repository-unreadable",
                format!("cannot read {short}: {}", e.message()),
            )
        })?;
        let id = store.entry_id(&tree, crate::REGISTRY_FILE).ok_or_else(|| {
            unavailable(
                "registry-missing",
                format!("the tip of `{refname}` ({short}) has no registry.yaml"),
            )
        })?;
        crate::read::registry_of_blob(store, id).map_err(|e| {
            unavailable(
                "registry-invalid",
                format!(
                    "registry.yaml at the tip of `{refname}` ({short}) is invalid: {}",
                    ApiError::from(e).message
                ),
            )
        })?;
        Ok(())
    })();
    if let Ok(mut health) = shared.health.lock() {
        *health = Some((tip, verdict.clone()));
    }
    verdict.map(|()| tip)
}
