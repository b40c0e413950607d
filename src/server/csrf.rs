//! What a write must look like so that a web page cannot make a browser send it (CSRF).
//!
//! - `Content-Type: application/json`, else 415: an HTML form or a "simple" cross-origin
//!   `fetch` can only send `text/plain`, form or multipart bodies; a JSON body needs a CORS
//!   preflight, which this server grants only to the origins `--cors` lists.
//! - No foreign `Origin`, else 403: browsers send `Origin` with every POST and PATCH, and a
//!   request is same-origin only when its `Origin` (scheme, host, port) names the host and port
//!   the request was sent to (its `Host` header). Requests without `Origin` come from
//!   non-browser clients (curl, scripts, the promptreg client) and are let through.
//!   An origin `--cors` lists passes too: its pages are meant to write (see the CORS layer, `cors.rs`).
//! - A write as the server's own identity (`--allow-local-writes`) must also be addressed to a
//!   loopback name (`127.0.0.1`, `[::1]`, `localhost`): a page that rebinds its own DNS name to
//!   127.0.0.1 is same-origin with itself, but its requests carry its name in `Host`.

use axum::http::{header, HeaderMap, StatusCode};

use super::ApiError;

/// 415 unless the body is declared as JSON (`application/json`, parameters allowed).
pub(super) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = given.split(';').next().unwrap_or_default().trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    let shown = if given.is_empty() {
        "none".to_owned()
    } else {
        format!("`{}`", given.chars().take(64).collect::<String>())
    };
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        format!("writes take a JSON body: send `Content-Type: application/json` (got {shown})"),
    ))
}

/// 403 when the request carries an `Origin` other than the host and port it was sent to (an
/// origin `--cors` lists is let through before this check, by `authorize`).
pub(super) fn require_same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null");
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if same_origin(origin, host) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "foreign-origin",
        format!(
            "writes from another origin are refused (Origin `{}`, sent to `{}`); send them \
             without a browser, or from a page served by this server",
            origin.chars().take(100).collect::<String>(),
            host.chars().take(100).collect::<String>()
        ),
    ))
}

/// 403 unless the request was addressed to a loopback name (for writes as the local identity).
pub(super) fn require_loopback_host(headers: &HeaderMap) -> Result<(), ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if split_authority(host).is_some_and(|(name, _)| is_loopback_name(&name)) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "foreign-origin",
        format!(
            "writes without a token must be sent to a loopback address (127.0.0.1, [::1] or \
             localhost), not `{}`",
            host.chars().take(100).collect::<String>()
        ),
    ))
}

/// Whether `origin` (`scheme://host[:port]`) names the authority `host` (`host[:port]`).
fn same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // `null` (sandboxed frames, file: pages) and anything malformed.
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    match (split_authority(authority), split_authority(host)) {
        (Some((a, pa)), Some((b, pb))) => {
            a == b && pa.unwrap_or(default_port) == pb.unwrap_or(default_port)
        }
        _ => false,
    }
}

/// `host[:port]` → (lower-case host, port); `None` when malformed (a path, user info, a bad
/// port). IPv6 hosts keep their brackets.
pub(super) fn split_authority(authority: &str) -> Option<(String, Option<u16>)> {
    let authority = authority.trim();
    if authority.is_empty() || authority.contains(['/', '@', ' ', '?', '#']) {
        return None;
    }
    let (name, port) = match authority.rfind(':') {
        Some(at) if !authority[at..].contains(']') => {
            let port = authority[at + 1..].parse::<u16>().ok()?;
            (&authority[..at], Some(port))
        }
        _ => (authority, None),
    };
    if name.is_empty() {
        return None;
    }
    Some((name.to_ascii_lowercase(), port))
}

fn is_loopback_name(name: &str) -> bool {
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), value.parse().unwrap());
        }
        map
    }

    #[test]
    fn only_json_bodies_are_writes() {
        let json = |v: &str| require_json(&headers(&[(header::CONTENT_TYPE, v)]));
        assert!(json("application/json").is_ok());
        assert!(json("Application/JSON; charset=utf-8").is_ok());
        for refused in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
        ] {
            assert_eq!(json(refused).unwrap_err().status, 415, "{refused}");
        }
        assert_eq!(require_json(&HeaderMap::new()).unwrap_err().status, 415);
    }

    #[test]
    fn origins_are_compared_with_the_host_the_request_was_sent_to() {
        assert!(same_origin("http://127.0.0.1:8000", "127.0.0.1:8000"));
        assert!(same_origin("HTTP://LOCALHOST:8000", "localhost:8000"));
        assert!(same_origin(
            "https://prompts.example.com",
            "prompts.example.com"
        ));
        assert!(same_origin("http://[::1]:8000", "[::1]:8000"));
        assert!(same_origin("http://x.test", "x.test:80"));
        assert!(!same_origin("http://evil.example", "127.0.0.1:8000"));
        assert!(!same_origin("http://127.0.0.1:9999", "127.0.0.1:8000"));
        assert!(!same_origin("http://localhost:8000", "127.0.0.1:8000"));
        assert!(!same_origin("null", "127.0.0.1:8000"));
        assert!(!same_origin("file://", "127.0.0.1:8000"));
        assert!(!same_origin("http://a@127.0.0.1:8000", "127.0.0.1:8000"));
        assert!(!same_origin("http://127.0.0.1:8000", ""));
        assert!(require_same_origin(&HeaderMap::new()).is_ok());
        let foreign = headers(&[
            (header::ORIGIN, "http://evil.example"),
            (header::HOST, "127.0.0.1:8000"),
        ]);
        assert_eq!(require_same_origin(&foreign).unwrap_err().status, 403);
    }

    #[test]
    fn local_writes_need_a_loopback_host() {
        let host = |v: &str| require_loopback_host(&headers(&[(header::HOST, v)]));
        for ok in [
            "127.0.0.1:8000",
            "localhost:8000",
            "[::1]:8000",
            "127.1.2.3",
        ] {
            assert!(host(ok).is_ok(), "{ok}");
        }
        for refused in [
            "evil.example:8000",
            "10.0.0.1:8000",
            "localhost.evil.example",
        ] {
            assert_eq!(host(refused).unwrap_err().status, 403, "{refused}");
        }
        assert!(require_loopback_host(&HeaderMap::new()).is_err());
    }
}
