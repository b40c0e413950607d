//! `--cors ORIGIN…`: cross-origin access for the browser pages of the listed origins, and for no
//! one else.
//!
//! Without the option the server sends no CORS header at all, so a browser lets no other page
//! read its answers or send it a JSON write. With it, a preflight (`OPTIONS` with
//! `Access-Control-Request-Method`) from a listed origin is answered here with 204 and what it may
//! send; every answer to a listed origin names that origin (never `*`: the allowed headers include
//! `Authorization`, and a wildcard would hand every page the registry a token opens) and exposes
//! `ETag` for revalidation. A listed origin also passes the cross-site write check
//! ([`super::csrf`]). Answers vary by `Origin` whenever the option is on, so a shared cache never
//! serves one origin's headers to another.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Shared;

/// The methods a listed origin may use.
const ALLOW_METHODS: &str = "GET, HEAD, POST, PATCH, PUT";
/// The request headers a listed origin may send beyond the simple ones.
const ALLOW_HEADERS: &str = "authorization, content-type, if-none-match";
/// How long a browser may keep a preflight's answer, in seconds.
const MAX_AGE: &str = "600";

/// An origin as `--cors` gives it (`https://app.example.com`, `http://localhost:3000`) in the
/// form requests are compared in: lower-case scheme and host, the port always written out.
/// `Err` says what is wrong with it (a path, a wildcard, another scheme).
pub fn parse_origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    let refuse = |why: &str| Err(format!("`{text}` is not an origin: {why}"));
    if text == "*" {
        return refuse("list each origin; a wildcard would let every page use the tokens");
    }
    let Some((scheme, authority)) = text.split_once("://") else {
        return refuse("give scheme://host[:port], e.g. https://app.example.com");
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return refuse("the scheme is http or https"),
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let Some((host, port)) = super::csrf::split_authority(authority) else {
        return refuse("give scheme://host[:port] with no path, e.g. https://app.example.com");
    };
    if host.contains('*') {
        return refuse("list each origin; a wildcard would let every page use the tokens");
    }
    Ok(format!(
        "{scheme}://{host}:{}",
        port.unwrap_or(default_port)
    ))
}

/// Whether the request's `Origin` is one of `allowed` (each as [`parse_origin`] gives it).
pub(super) fn allowed_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|origin| parse_origin(origin).ok())
        .is_some_and(|origin| allowed.contains(&origin))
}

/// The CORS layer: answers preflights of listed origins, and adds the headers to every answer to
/// one; a no-op without `--cors`.
pub(super) async fn cors(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if shared.cors.is_empty() {
        return next.run(request).await;
    }
    let listed = allowed_origin(request.headers(), &shared.cors);
    // The origin exactly as the browser sent it: it compares the answer byte for byte.
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight && listed {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE),
        );
        response
    } else {
        // An unlisted origin's preflight goes on to the routes and gets no CORS header, which is
        // the browser's refusal.
        next.run(request).await
    };
    let headers = response.headers_mut();
    if let (true, Some(origin)) = (listed, origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if !preflight {
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("ETag"),
            );
        }
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_in_one_form() {
        assert_eq!(
            parse_origin("https://App.Example.com").unwrap(),
            "https://app.example.com:443"
        );
        assert_eq!(
            parse_origin("http://localhost:3000/").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(parse_origin("HTTP://[::1]").unwrap(), "http://[::1]:80");
        for refused in [
            "*",
            "https://*.example.com",
            "app.example.com",
            "ftp://app.example.com",
            "https://app.example.com/path",
            "https://user@app.example.com",
            "null",
            "https://app.example.com:99999",
        ] {
            assert!(parse_origin(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn only_listed_origins_are_allowed() {
        let allowed = vec![parse_origin("https://app.example.com").unwrap()];
        let with = |origin: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ORIGIN, origin.parse().unwrap());
            allowed_origin(&headers, &allowed)
        };
        assert!(with("https://app.example.com"));
        assert!(with("https://app.example.com:443"));
        assert!(!with("http://app.example.com"));
        assert!(!with("https://app.example.com.evil.example"));
        assert!(!with("null"));
        assert!(!allowed_origin(&HeaderMap::new(), &allowed));
    }
}
