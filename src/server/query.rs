//! What a read asks for: the route under `/api/prompts/` and its query parameters.
//!
//! Each route knows its parameters and anything else is refused with 400: a mistyped
//! `?env=staging` must not silently serve production, and `?cachebuster=N` must not mint a new
//! cache entry per request. The parsed, normalised parameters (never the raw query string) key
//! the response cache, so `?environment=dev&x` spellings cannot multiply its entries.

use std::time::Duration;

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
    /// `PUT …/split` (a write; no read takes this path).
    Split,
    /// `PATCH …/rollback` (a write).
    Rollback,
    /// `GET /api/prompts`: every prompt, as `promptreg list --format json`.
    List,
    /// `GET /api/events`: the environments' changes as Server-Sent Events.
    Events,
}

impl Kind {
    /// The query parameters the route takes.
    fn parameters(self) -> &'static [&'static str] {
        match self {
            Kind::Record => &["version", "environment", "key"],
            Kind::Tests => &["version", "environment"],
            Kind::Latest => &["environment", "key", "wait"],
            Kind::History => &["environment"],
            Kind::List => &["environment", "domain"],
            Kind::Events => &["prompt", "environment"],
            Kind::Versions | Kind::Promote | Kind::Split | Kind::Rollback => &[],
        }
    }

    /// The methods the route takes, as `Allow` lists them (HEAD wherever GET is).
    pub(super) fn methods(self) -> &'static str {
        match self {
            Kind::Record
            | Kind::Latest
            | Kind::Versions
            | Kind::History
            | Kind::Tests
            | Kind::Events => "GET, HEAD",
            Kind::List => "GET, HEAD, POST",
            Kind::Promote | Kind::Rollback => "PATCH",
            Kind::Split => "PUT",
        }
    }

    /// The route as documented, for messages.
    pub(super) fn route(self) -> &'static str {
        match self {
            Kind::Record => "/api/prompts/NAME",
            Kind::Latest => "/api/prompts/NAME/latest",
            Kind::Versions => "/api/prompts/NAME/versions",
            Kind::History => "/api/prompts/NAME/history",
            Kind::Promote => "/api/prompts/NAME@VERSION/promote",
            Kind::Tests => "/api/prompts/NAME/tests",
            Kind::Split => "/api/prompts/NAME/split",
            Kind::Rollback => "/api/prompts/NAME/rollback",
            Kind::List => "/api/prompts",
            Kind::Events => "/api/events",
        }
    }
}

/// Splits `name[/latest|/versions|/history|/promote|/tests|/split|/rollback]`.
pub(super) fn split(rest: &str) -> (&str, Kind) {
    for (suffix, kind) in [
        ("/latest", Kind::Latest),
        ("/versions", Kind::Versions),
        ("/history", Kind::History),
        ("/promote", Kind::Promote),
        ("/tests", Kind::Tests),
        ("/split", Kind::Split),
        ("/rollback", Kind::Rollback),
    ] {
        if let Some(name) = rest.strip_suffix(suffix) {
            return (name, kind);
        }
    }
    (rest, Kind::Record)
}

/// A read's parameters, decoded and normalised (`version` is spelled as semver prints it).
/// They key the response cache, so the split key is not one of them (see [`Query`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Params {
    pub version: Option<String>,
    pub environment: Option<String>,
    /// `GET /api/prompts?domain=`.
    pub domain: Option<String>,
    /// `GET /api/events?prompt=`.
    pub prompt: Option<String>,
}

/// A read's parameters and, apart, its split key (`key=`: a user, session or tenant id). The key
/// picks an entry of a split environment; it never keys the cache, which holds one answer per
/// entry and fills the key's bucket in per request, so a million users cost no more memory than
/// one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Query {
    pub params: Params,
    pub key: Option<String>,
    /// `wait=SECONDS` on `/latest`: how long a request whose `If-None-Match` names the current
    /// answer is held for a change (a long poll); not a cache parameter either.
    pub wait: Option<Duration>,
}

/// The longest `wait` a long poll takes.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(60);

/// Longest parameter name echoed back in an error (the rest is cut).
const ECHO_LIMIT: usize = 64;

/// The parameters of `uri` for the route `kind`: 400 `unknown-parameter` for a parameter the
/// route does not take, 400 `bad-request` for one given twice or empty (or `key` beside
/// `version`: a key picks an entry of an environment's split), 400 `invalid-key` for a key the
/// split rule cannot take (empty, or with a line break). A key is taken as sent, spaces
/// included: they are part of what is hashed.
pub(super) fn parse(kind: Kind, uri: &Uri) -> Result<Query, ApiError> {
    let pairs: Vec<(String, String)> = axum::extract::Query::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    let known = kind.parameters();
    let mut query = Query::default();
    for (name, value) in pairs {
        let params = &mut query.params;
        let slot = match name.as_str() {
            "version" if known.contains(&"version") => &mut params.version,
            "environment" if known.contains(&"environment") => &mut params.environment,
            "domain" if known.contains(&"domain") => &mut params.domain,
            "prompt" if known.contains(&"prompt") => &mut params.prompt,
            "key" if known.contains(&"key") => &mut query.key,
            "wait" if known.contains(&"wait") => {
                if query.wait.is_some() {
                    return Err(ApiError::bad_request("`wait` is given twice"));
                }
                query.wait = Some(parse_wait(&value)?);
                continue;
            }
            _ => return Err(unknown(kind, &name)),
        };
        if slot.is_some() {
            return Err(ApiError::bad_request(format!("`{name}` is given twice")));
        }
        if name == "key" {
            promptreg_wire::split::check_key(&value).map_err(|reason| {
                ApiError::from(crate::Error::InvalidKey {
                    reason: reason.to_owned(),
                })
            })?;
        } else if value.trim().is_empty() {
            return Err(ApiError::bad_request(format!("`{name}` is empty")));
        }
        *slot = Some(value);
    }
    if query.key.is_some() && query.params.version.is_some() {
        return Err(ApiError::bad_request(
            "`key` picks the version of an environment's split; it cannot go with `version`",
        ));
    }
    if let Some(version) = &query.params.version {
        if version != "latest" {
            query.params.version = Some(Version::parse(version)?.to_string());
        }
    }
    Ok(query)
}

/// A `wait` value: whole seconds, 0 to [`MAX_WAIT`].
fn parse_wait(value: &str) -> Result<Duration, ApiError> {
    let refuse = || {
        ApiError::bad_request(format!(
            "`wait` takes whole seconds from 0 to {}, not `{}`",
            MAX_WAIT.as_secs(),
            value.chars().take(ECHO_LIMIT).collect::<String>()
        ))
    };
    if value.is_empty() || value.len() > 3 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse());
    }
    let seconds: u64 = value.parse().map_err(|_| refuse())?;
    if seconds > MAX_WAIT.as_secs() {
        return Err(refuse());
    }
    Ok(Duration::from_secs(seconds))
}

/// `text` with each `%XX` replaced by its byte, once (`%252F` is `%2F`, not `/`); `None` when
/// the result is not UTF-8. A `%` not followed by two hex digits stays as it is, to be refused
/// by whatever validates the text.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) if hex(hi).is_some() && hex(lo).is_some() => {
                out.push((hex(hi).unwrap_or(0) * 16 + hex(lo).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
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
    // A prefix (`env` of `environment`) is the nearest, before any short name within 3 edits
    // (`env` is 3 from `key`).
    let nearest = known
        .iter()
        .map(|candidate| {
            let distance = strsim::levenshtein(key, candidate);
            (!candidate.starts_with(key), distance, *candidate)
        })
        .filter(|(not_prefix, distance, _)| *distance <= 3 || !not_prefix)
        .min()
        .map(|(_, distance, candidate)| (distance, candidate));
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
    fn paths_are_decoded_once() {
        assert_eq!(
            percent_decode("support%2Frefund-agent%401.1.0/promote").as_deref(),
            Some("support/refund-agent@1.1.0/promote")
        );
        assert_eq!(percent_decode("a%2fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("a%252Fb").as_deref(), Some("a%2Fb"));
        assert_eq!(percent_decode("a%2").as_deref(), Some("a%2"));
        assert_eq!(percent_decode("a%zz%").as_deref(), Some("a%zz%"));
        assert_eq!(percent_decode("%2E%2E/x").as_deref(), Some("../x"));
        assert_eq!(percent_decode("a%FF"), None);
        assert_eq!(percent_decode("caf%C3%A9").as_deref(), Some("café"));
    }

    #[test]
    fn known_parameters_are_decoded_and_normalised() {
        let params = parse(Kind::Record, &uri("/x?environment=st%61ging"))
            .unwrap()
            .params;
        assert_eq!(params.environment.as_deref(), Some("staging"));
        let a = parse(Kind::Tests, &uri("/x?version=1.0.0&environment=dev")).unwrap();
        let b = parse(Kind::Tests, &uri("/x?environment=dev&version=1.0.0")).unwrap();
        assert_eq!(a, b);
        assert_eq!(parse(Kind::Versions, &uri("/x")).unwrap(), Query::default());
        assert_eq!(
            parse(Kind::Versions, &uri("/x?")).unwrap(),
            Query::default()
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
        let e = parse(Kind::Record, &uri("/x?kee=u")).unwrap_err();
        assert!(e.message.contains("did you mean `key`"), "{}", e.message);
        let e = parse(Kind::History, &uri("/x?key=u")).unwrap_err();
        assert_eq!(e.code, "unknown-parameter");
        let long = format!("/x?{}=1", "a".repeat(500));
        let e = parse(Kind::Record, &uri(&long)).unwrap_err();
        assert!(e.message.len() < 200, "{}", e.message);
    }

    #[test]
    fn wait_is_whole_seconds_up_to_the_limit_and_not_a_cache_parameter() {
        let q = parse(Kind::Latest, &uri("/x?environment=dev&wait=25")).unwrap();
        assert_eq!(q.wait, Some(Duration::from_secs(25)));
        let plain = parse(Kind::Latest, &uri("/x?environment=dev")).unwrap();
        assert_eq!(q.params, plain.params);
        assert_eq!(
            parse(Kind::Latest, &uri("/x?wait=0")).unwrap().wait,
            Some(Duration::ZERO)
        );
        assert!(parse(Kind::Latest, &uri("/x?wait=60")).is_ok());
        for bad in ["61", "", "-1", "1.5", "0x10", "1000", "%201"] {
            let e = parse(Kind::Latest, &uri(&format!("/x?wait={bad}"))).unwrap_err();
            assert_eq!(e.code, "bad-request", "{bad}");
        }
        let e = parse(Kind::Record, &uri("/x?wait=5")).unwrap_err();
        assert_eq!(e.code, "unknown-parameter");
    }

    #[test]
    fn keys_are_taken_as_sent_and_kept_out_of_the_cached_parameters() {
        let q = parse(
            Kind::Latest,
            &uri("/x?environment=production&key=user%201%20"),
        )
        .unwrap();
        assert_eq!(q.key.as_deref(), Some("user 1 "));
        let plain = parse(Kind::Latest, &uri("/x?environment=production")).unwrap();
        assert_eq!(q.params, plain.params, "the key is not a cache parameter");
        let q = parse(Kind::Record, &uri("/x?key=tenant%2Facme")).unwrap();
        assert_eq!(q.key.as_deref(), Some("tenant/acme"));
        for bad in ["/x?key=", "/x?key=a%0Ab", "/x?key=a%0Db"] {
            let e = parse(Kind::Latest, &uri(bad)).unwrap_err();
            assert_eq!((e.status.as_u16(), e.code), (400, "invalid-key"), "{bad}");
            assert!(!e.message.contains("a\nb"), "{}", e.message);
        }
        let e = parse(Kind::Record, &uri("/x?version=1.0.0&key=u")).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "bad-request"));
        let e = parse(Kind::Latest, &uri("/x?key=a&key=b")).unwrap_err();
        assert_eq!(e.code, "bad-request");
        assert!(parse(Kind::Tests, &uri("/x?key=u")).is_err());
    }
}
