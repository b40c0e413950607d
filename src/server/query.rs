//! What a read asks for: the route under `/api/prompts/` and its query parameters.
//!
//! Each route knows its parameters and anything else is refused with 400: a mistyped
//! `?env=staging` must not silently serve production, and `?cachebuster=N` must not mint a new
//! cache entry per request. The parsed, normalised parameters (never the raw query string) key
//! the response cache, so `?environment=dev&x` spellings cannot multiply its entries.

use axum::http::{StatusCode, Uri};

use super::ApiError;
use crate::Version;

/// What a path under `/api/prompts/` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Record,
    Latest,
    Versions,
    History,
    Promote,
    Tests,
}

impl Kind {
    /// The query parameters the route takes.
    fn parameters(self) -> &'static [&'static str] {
        match self {
            Kind::Record | Kind::Tests => &["version", "environment"],
            Kind::Latest | Kind::History => &["environment"],
            Kind::Versions | Kind::Promote => &[],
        }
    }

    /// The route as documented, for messages.
    fn route(self) -> &'static str {
        match self {
            Kind::Record => "/api/prompts/NAME",
            Kind::Latest => "/api/prompts/NAME/latest",
            Kind::Versions => "/api/prompts/NAME/versions",
            Kind::History => "/api/prompts/NAME/history",
            Kind::Promote => "/api/prompts/NAME@VERSION/promote",
            Kind::Tests => "/api/prompts/NAME/tests",
        }
    }
}

/// Splits `name[/latest|/versions|/history|/promote|/tests]`.
pub(super) fn split(rest: &str) -> (&str, Kind) {
    for (suffix, kind) in [
        ("/latest", Kind::Latest),
        ("/versions", Kind::Versions),
        ("/history", Kind::History),
        ("/promote", Kind::Promote),
        ("/tests", Kind::Tests),
    ] {
        if let Some(name) = rest.strip_suffix(suffix) {
            return (name, kind);
        }
    }
    (rest, Kind::Record)
}

/// A read's parameters, decoded and normalised (`version` is spelled as semver prints it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Params {
    pub version: Option<String>,
    pub environment: Option<String>,
}

/// Longest parameter name echoed back in an error (the rest is cut).
const ECHO_LIMIT: usize = 64;

/// The parameters of `uri` for the route `kind`: 400 `unknown-parameter` for a parameter the
/// route does not take, 400 `bad-request` for one given twice or empty.
pub(super) fn parse(kind: Kind, uri: &Uri) -> Result<Params, ApiError> {
    let pairs: Vec<(String, String)> = axum::extract::Query::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let known = kind.parameters();
    let mut params = Params::default();
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "version" if known.contains(&"version") => &mut params.version,
            "environment" if known.contains(&"environment") => &mut params.environment,
            _ => return Err(unknown(kind, &key)),
        };
        if slot.is_some() {
            return Err(ApiError::bad_request(format!("`{key}` is given twice")));
        }
        if value.trim().is_empty() {
            return Err(ApiError::bad_request(format!("`{key}` is empty")));
        }
        *slot = Some(value);
    }
    if let Some(version) = &params.version {
        if version != "latest" {
            params.version = Some(Version::parse(version)?.to_string());
        }
    }
    Ok(params)
}

fn unknown(kind: Kind, key: &str) -> ApiError {
    let shown: String = key.chars().take(ECHO_LIMIT).collect();
    let shown = if shown.len() < key.len() {
        format!("{shown}…")
    } else {
        shown
    };
    let known = kind.parameters();
    let mut message = format!("unknown query parameter `{shown}`");
    let nearest = known
        .iter()
        .map(|candidate| (strsim::levenshtein(key, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 3 || candidate.starts_with(key))
        .min();
    if let Some((_, candidate)) = nearest.filter(|_| !key.is_empty()) {
        message.push_str(&format!(" (did you mean `{candidate}`?)"));
    }
    if known.is_empty() {
        message.push_str(&format!("; {} takes no parameters", kind.route()));
    } else {
        message.push_str(&format!("; {} takes: {}", kind.route(), known.join(", ")));
    }
    ApiError::new(StatusCode::BAD_REQUEST, "unknown-parameter", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    #[test]
    fn splits_suffixes() {
        assert_eq!(split("a/b/latest"), ("a/b", Kind::Latest));
        assert_eq!(split("a@1.0.0/promote"), ("a@1.0.0", Kind::Promote));
        assert_eq!(split("a/b"), ("a/b", Kind::Record));
    }

    #[test]
    fn known_parameters_are_decoded_and_normalised() {
        let params = parse(Kind::Record, &uri("/x?environment=st%61ging")).unwrap();
        assert_eq!(params.environment.as_deref(), Some("staging"));
        let a = parse(Kind::Tests, &uri("/x?version=1.0.0&environment=dev")).unwrap();
        let b = parse(Kind::Tests, &uri("/x?environment=dev&version=1.0.0")).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            parse(Kind::Versions, &uri("/x")).unwrap(),
            Params::default()
        );
        assert_eq!(
            parse(Kind::Versions, &uri("/x?")).unwrap(),
            Params::default()
        );
    }

    #[test]
    fn unknown_repeated_and_empty_parameters_are_refused() {
        let e = parse(Kind::Latest, &uri("/x?env=staging")).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "unknown-parameter"));
        assert!(e.message.contains("`env`"), "{}", e.message);
        assert!(
            e.message.contains("did you mean `environment`"),
            "{}",
            e.message
        );
        let e = parse(Kind::Record, &uri("/x?cachebuster=12")).unwrap_err();
        assert!(
            e.message.contains("takes: version, environment"),
            "{}",
            e.message
        );
        let e = parse(Kind::Versions, &uri("/x?version=1.0.0")).unwrap_err();
        assert!(e.message.contains("takes no parameters"), "{}", e.message);
        let e = parse(Kind::Latest, &uri("/x?version=1.0.0")).unwrap_err();
        assert_eq!(e.code, "unknown-parameter");
        let e = parse(Kind::Record, &uri("/x?version=1.0.0&version=2.0.0")).unwrap_err();
        assert_eq!(e.code, "bad-request");
        let e = parse(Kind::Record, &uri("/x?environment=")).unwrap_err();
        assert_eq!(e.code, "bad-request");
        let long = format!("/x?{}=1", "a".repeat(500));
        let e = parse(Kind::Record, &uri(&long)).unwrap_err();
        assert!(e.message.len() < 200, "{}", e.message);
    }
}
