//! The route table: which handler answers which method and path, and the layers every request
//! passes (body limit, timeout, error redaction, the read gate, CORS, access log).

use std::sync::Arc;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::{access_log, auth, cors, error, health, read, write, ApiError, Shared};

/// `GET /healthz`, `POST /api/prompts`, `GET`, `PATCH` and `PUT` under `/api/prompts/` (the
/// path's suffix picks the read or the write, see [`super::query::split`]); anything else is
/// 404.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/prompts", post(write::create))
        .route(
            "/api/prompts/{*rest}",
            get(read::read).patch(write::patch).put(write::put_split),
        )
        .fallback(not_found)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            super::BODY_LIMIT,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            super::REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            error::redact_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            auth::require_reader,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            cors::cors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            access_log::access_log,
        ))
        .with_state(shared)
}

/// 404 `not-found` for a path no route takes.
async fn not_found(uri: Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no such endpoint: {}", uri.path()),
    )
    .into_response()
}
