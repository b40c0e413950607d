//! The web UI of `promptreg serve` (`--ui`, on by default): read-only HTML pages over the same
//! served tip, response cache and read operations as the JSON API (docs/SERVE.md, "The web UI").
//!
//! Pages are rendered by MiniJinja with HTML auto-escaping (every template is `*.html`), so
//! prompt text — untrusted input — is always shown as text. The stylesheet and the one script
//! are embedded in the binary and served from `/_ui/`; the Content-Security-Policy allows
//! scripts, styles and requests from the server alone, so no inline script runs and nothing
//! is loaded from elsewhere. Every page works without JavaScript.

mod data;
mod diff;
mod pages;
mod text;

use std::sync::Arc;

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{ApiError, Shared};

/// The stylesheet, the script and the icon, embedded.
const CSS: &str = include_str!("static/ui.css");
const JS: &str = include_str!("static/ui.js");
const ICON: &str = include_str!("static/icon.svg");

/// What the pages may load: from the server only; no inline script or style, no frames, no
/// plugins, forms only to the server.
pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

/// The UI's own state: the templates, and what it derived from the served tip.
pub(super) struct Ui {
    pub shared: Arc<Shared>,
    pub templates: minijinja::Environment<'static>,
    pub derived: data::Derived,
}

/// The UI's routes (docs/SERVE.md, "The web UI"), for any router state: they carry their own.
pub(super) fn router<S: Clone + Send + Sync + 'static>(shared: Arc<Shared>) -> Router<S> {
    let ui = Arc::new(Ui {
        shared,
        templates: pages::templates(),
        derived: data::Derived::default(),
    });
    // In a server (not an in-process router without a runtime), the index is made ahead.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(warm(ui.clone()));
    }
    Router::new()
        .route("/", get(pages::index).fallback(read_only))
        .route("/prompts/{*id}", get(pages::prompt).fallback(read_only))
        .route("/compare/{*name}", get(pages::compare).fallback(read_only))
        .route("/history", get(pages::registry_history).fallback(read_only))
        .route(
            "/history/{*name}",
            get(pages::prompt_history).fallback(read_only),
        )
        .route(
            "/_ui/ui.css",
            get(|| async { asset(CSS, "text/css") }).fallback(read_only),
        )
        .route(
            "/_ui/icon.svg",
            get(|| async { asset(ICON, "image/svg+xml") }).fallback(read_only),
        )
        .route(
            "/_ui/ui.js",
            get(|| async { asset(JS, "text/javascript") }).fallback(read_only),
        )
        .with_state(ui)
}

/// 405 `method-not-allowed` with `Allow: GET, HEAD`, as the API refuses a method: the pages
/// are read-only.
async fn read_only(method: Method, uri: Uri) -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "{method} is not a method of {}; the web UI takes GET, HEAD",
            uri.path()
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// Makes the index page's data at start and again each time the refs watch sees the tip move,
/// so the first visitor after a promotion does not wait for the list of every prompt (0.7 s on
/// 10,000 prompts). The whole registry's history, costlier and less visited, is made when asked.
async fn warm(ui: Arc<Ui>) {
    let mut tips = ui.shared.tips.clone();
    loop {
        let made = ui.clone();
        let _ = data::blocking(&ui.shared, move |shared, store| {
            data::index(shared, store, &made.derived)
        })
        .await;
        if tips.changed().await.is_err() {
            return;
        }
    }
}

/// An embedded file, cacheable for an hour (its URL names no version, so not longer).
fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// A rendered page with the UI's headers.
pub(super) fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
