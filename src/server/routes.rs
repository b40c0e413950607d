//! The route table: which handler answers which method and path, and the layers every request
//! passes (body limit, timeout, error redaction, the read gate, CORS, access log).
//!
//! Every refusal is the JSON error body, 404 and 405 included; a 405 carries `Allow` with exactly
//! the methods its route takes (axum's own would list every method of `/api/prompts/{*rest}`,
//! whose suffix picks the route).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;

use super::query::{percent_decode, split, Kind};
use super::response::PREFIX;
use super::{access_log, auth, cors, error, events, health, read, write, ApiError, Shared};
use crate::{PromptName, Version};

/// `GET /healthz`, `GET` and `POST /api/prompts`, and under `/api/prompts/` the read or write
/// the path's suffix names (see [`prompt_route`]); with `ui`, the web UI's pages (`/`,
/// `/prompts/…`, `/compare/…`, `/history…`, `/_ui/…`); any other path is 404, any other method 405.
pub(super) fn router(shared: Arc<Shared>, ui: bool) -> Router {
    let pages = if ui {
        super::ui::router(shared.clone())
    } else {
        Router::new()
    };
    Router::new()
        .merge(pages)
        .route(
            "/healthz",
            get(health::healthz).fallback(|method: Method| async move {
                method_not_allowed(&method, "/healthz", "GET, HEAD")
            }),
        )
        .route(
            "/api/prompts",
            get(read::list)
                .post(write::create)
                .fallback(|method: Method| async move {
                    method_not_allowed(&method, Kind::List.route(), Kind::List.methods())
                }),
        )
        .route("/api/prompts/{*rest}", any(prompt_route))
        .route(
            "/api/events",
            get(events::events).fallback(|method: Method| async move {
                method_not_allowed(&method, Kind::Events.route(), Kind::Events.methods())
            }),
        )
        .fallback(not_found)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            super::BODY_LIMIT,
        ))
        .layer(axum::middleware::from_fn(deadline))
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

/// A request under `/api/prompts/`: its path percent-decoded once (`support%2Frefund-agent` is
/// `support/refund-agent`, `%40` the `@` of `NAME@VERSION`, as generated clients and
/// `encodeURIComponent` send them), then handed to the read or write its suffix and method name;
/// 405 with the route's `Allow` for another method.
async fn prompt_route(State(shared): State<Arc<Shared>>, mut request: Request) -> Response {
    let raw = request
        .uri()
        .path()
        .strip_prefix(PREFIX)
        .unwrap_or_default();
    let decoded = match decode_rest(raw) {
        Ok(decoded) => decoded,
        Err(refusal) => return refusal.into_response(),
    };
    let kind = split(&decoded).1;
    if decoded != raw {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        match format!("{PREFIX}{decoded}{query}").parse::<Uri>() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(e) => return ApiError::internal(format!("a decoded path: {e}")).into_response(),
        }
    }
    let method = request.method().clone();
    match kind {
        Kind::Record | Kind::Latest | Kind::Versions | Kind::History | Kind::Tests
            if method == Method::GET || method == Method::HEAD =>
        {
            read::read.call(request, shared).await
        }
        Kind::Promote | Kind::Rollback if method == Method::PATCH => {
            write::patch.call(request, shared).await
        }
        Kind::Split if method == Method::PUT => write::put_split.call(request, shared).await,
        _ => method_not_allowed(&method, kind.route(), kind.methods()),
    }
}

/// The part of a path after `/api/prompts/`, percent-decoded once. What decodes to a character
/// no prompt name, version or suffix has (`?`, `#`, `%`, a space, a control, non-ASCII, …) is
/// refused as the name or version it is part of would be (`400 invalid-name`,
/// `invalid-version`), since it could not be passed on as a path; a decoded `..` passes here
/// and is refused by the handler's name check like any other invalid name.
fn decode_rest(raw: &str) -> Result<String, ApiError> {
    let Some(decoded) = percent_decode(raw) else {
        return Err(ApiError::from(crate::Error::InvalidName {
            name: raw.chars().take(128).collect(),
            reason: "its percent-encoding is not UTF-8".into(),
        }));
    };
    let path_safe = |c: char| c.is_ascii_alphanumeric() || "-._~/@!$&'()*+,;=:".contains(c);
    if decoded.chars().all(path_safe) {
        return Ok(decoded);
    }
    let (id, kind) = split(&decoded);
    let (name, version) = match kind {
        Kind::Promote => id.rsplit_once('@').unwrap_or((id, "")),
        _ => (id, ""),
    };
    PromptName::parse(name)?;
    if kind == Kind::Promote {
        Version::parse(version)?;
    }
    Err(ApiError::bad_request(format!(
        "the path has characters no prompt route takes: {}",
        decoded.chars().take(128).collect::<String>()
    )))
}

/// Answers `408 request-timeout` to a request not answered within [`super::REQUEST_TIMEOUT`],
/// or that plus its `wait` for a long poll (which answers by itself when its wait runs out; an
/// event stream's answer is its headers, sent at once).
async fn deadline(request: Request, next: axum::middleware::Next) -> Response {
    let waits = request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair.starts_with("wait=")));
    let limit = if waits {
        super::REQUEST_TIMEOUT + super::query::MAX_WAIT
    } else {
        super::REQUEST_TIMEOUT
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            format!("the request was not answered within {} s", limit.as_secs()),
        )
        .into_response(),
    }
}

/// 405 `method-not-allowed` for `route`, with `Allow: allowed`.
fn method_not_allowed(method: &Method, route: &str, allowed: &'static str) -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!("{method} is not a method of {route}; it takes {allowed}"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allowed));
    response
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
