//! The access log: one JSON line per request, with what the handler adds about it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::Shared;

/// What the access log records beyond the request line; handlers attach it to responses.
#[derive(Clone, Debug, Default)]
pub(super) struct LogInfo {
    pub(super) prompt: Option<String>,
    pub(super) version: Option<String>,
    pub(super) environment: Option<String>,
    /// A keyed read of a split: the key's bucket (the key itself is never logged).
    pub(super) bucket: Option<u32>,
    pub(super) identity: Option<String>,
}

/// `response` with what the access log should record about it.
pub(super) fn with_info(mut response: Response, info: LogInfo) -> Response {
    response.extensions_mut().insert(info);
    response
}

/// Writes the access-log line of every request.
pub(super) async fn access_log(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    let response = next.run(request).await;
    let info = response
        .extensions()
        .get::<LogInfo>()
        .cloned()
        .unwrap_or_default();
    let line = crate::ops::access_log::AccessLine {
        time: crate::ops::access_log::now(),
        method,
        path,
        prompt: info.prompt,
        version: info.version,
        environment: info.environment,
        bucket: info.bucket,
        identity: info.identity,
        client,
        status: response.status().as_u16(),
        duration_ms: (start.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
    };
    shared.log(line.to_json());
    response
}
