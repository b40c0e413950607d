//! Who may read and write: the tokens files, the bearer token of a request, and the server's own
//! identity for `--allow-local-writes`, after the checks against browsers (see [`super::csrf`]).
//!
//! With `--read-tokens` the registry is private: every read needs a token of that file or of
//! `--tokens` (a writer may read), except `/healthz`, which load balancers probe without one
//! and which says nothing about the prompts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::access_log::LogInfo;
use super::{cors, csrf, ApiError, Shared};
use crate::store::identity::{Identity, Signatures};
use crate::store::Store;

/// Who a token stands for.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenIdentity {
    pub name: String,
    pub email: String,
}

/// Reads a tokens file: a YAML (or JSON) map of token → `{name, email}`.
pub fn load_tokens(path: &Path) -> anyhow::Result<BTreeMap<String, TokenIdentity>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let tokens: BTreeMap<String, TokenIdentity> = crate::model::yaml::parse(&bytes, path)?;
    if tokens.is_empty() {
        bail!("`{}` holds no tokens", path.display());
    }
    for (token, who) in &tokens {
        if token.len() < 16 {
            bail!(
                "`{}`: the token of {} is shorter than 16 characters",
                path.display(),
                who.email
            );
        }
    }
    Ok(tokens)
}

/// Who is writing.
pub(super) enum Writer {
    Token { name: String, email: String },
    Local,
}

impl Writer {
    pub(super) fn label(&self) -> String {
        match self {
            Writer::Token { name, .. } => name.clone(),
            Writer::Local => "local".into(),
        }
    }

    pub(super) fn signatures(
        &self,
        shared: &Shared,
        store: &Store,
    ) -> Result<Signatures, ApiError> {
        match self {
            Writer::Token { name, email } => {
                let who = Identity {
                    name: name.clone(),
                    email: email.clone(),
                    when: chrono::Local::now().fixed_offset(),
                };
                Ok(Signatures {
                    author: who.clone(),
                    committer: who,
                })
            }
            Writer::Local => match &shared.local_identity {
                Some(resolve) => Ok(resolve(store)?),
                None => Err(ApiError::internal("no local identity")),
            },
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of `Authorization: Bearer <token>`; the scheme's name is case-insensitive
/// (RFC 9110 §11.1), so `bearer` and `BEARER` are the same. `None` without one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once([' ', '\t'])?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Who `token` stands for in `tokens`; every entry is compared, so the time taken does not say
/// how much of a token was right.
fn find<'a>(tokens: &'a BTreeMap<String, TokenIdentity>, token: &str) -> Option<&'a TokenIdentity> {
    let mut found = None;
    for (known, who) in tokens {
        if constant_time_eq(known.as_bytes(), token.as_bytes()) {
            found = Some(who);
        }
    }
    found
}

/// 401 with `WWW-Authenticate: Bearer`, as every 401 must say how to authenticate.
fn unauthorized(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    challenge(&mut response);
    response
}

fn challenge(response: &mut Response) {
    response
        .headers_mut()
        .entry(header::WWW_AUTHENTICATE)
        .or_insert(HeaderValue::from_static("Bearer"));
}

/// The read gate of a private registry (`--read-tokens`): a read (`GET`, `HEAD`) other than
/// `/healthz` needs a read or write token, else 401; the access log's `identity` is the token's
/// name. Every 401 (writes' too) carries `WWW-Authenticate: Bearer`.
pub(super) async fn require_reader(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    if shared.read_tokens.is_empty() || !read || request.uri().path() == "/healthz" {
        let mut response = next.run(request).await;
        if response.status() == StatusCode::UNAUTHORIZED {
            challenge(&mut response);
        }
        return response;
    }
    let Some(token) = bearer(request.headers()) else {
        return unauthorized(
            "this registry is private: send `Authorization: Bearer <token>` with a read token",
        );
    };
    let who = find(&shared.read_tokens, token).or_else(|| find(&shared.tokens, token));
    let Some(who) = who.map(|w| w.name.clone()) else {
        return unauthorized("unknown token");
    };
    let mut response = next.run(request).await;
    let info = response.extensions_mut().get_or_insert_default::<LogInfo>();
    info.identity.get_or_insert(who);
    response
}

/// Who may write this request: the checks against browsers first (see `csrf`), then the token.
/// With `--tokens`, every write needs one, `--allow-local-writes` or not: a request without a
/// token is never taken for the server's own identity then.
pub(super) fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<Writer, ApiError> {
    if !shared.writes_enabled() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "writes-disabled",
            "this server is read-only; start it with `--tokens FILE` (or `--allow-local-writes` \
             on a loopback address) to accept writes",
        ));
    }
    csrf::require_json(headers)?;
    // A page of an origin `--cors` lists is meant to write (with a token); any other origin
    // must be the server's own.
    if !cors::allowed_origin(headers, &shared.cors) {
        csrf::require_same_origin(headers)?;
    }
    if shared.tokens.is_empty() {
        // Writes enabled without tokens: the local identity, for requests sent to loopback.
        csrf::require_loopback_host(headers)?;
        return Ok(Writer::Local);
    }
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing `Authorization: Bearer <token>`; this server takes writes with a token only",
        ));
    }
    // A read token is not a write token: it is "unknown" here.
    match bearer(headers).and_then(|token| find(&shared.tokens, token)) {
        Some(who) => Ok(Writer::Token {
            name: who.name.clone(),
            email: who.email.clone(),
        }),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown token",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "  Bearer   abc  "] {
            assert_eq!(bearer(&with(value)), Some("abc"), "{value}");
        }
        for value in ["Basic abc", "Bearerabc", "Bearer ", "abc"] {
            assert_eq!(bearer(&with(value)), None, "{value}");
        }
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
