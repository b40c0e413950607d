//! What the handlers' answers share: where the prompt routes start, and a JSON body's headers.
//! Kept apart from the route table, which names every handler, so handlers need not name it.

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Where the prompt routes start.
pub(super) const PREFIX: &str = "/api/prompts/";

/// A JSON body with `status`.
pub(super) fn json_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
