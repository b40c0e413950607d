//! Who may write: the tokens file, the bearer token of a request, and the server's own identity
//! for `--allow-local-writes`, after the checks against browsers (see [`super::csrf`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use axum::http::{header, HeaderMap, StatusCode};
use serde::Deserialize;

use super::{csrf, ApiError, Shared};
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
    csrf::require_same_origin(headers)?;
    let given = headers.get(header::AUTHORIZATION);
    if shared.tokens.is_empty() {
        // Writes enabled without tokens: the local identity, for requests sent to loopback.
        csrf::require_loopback_host(headers)?;
        return Ok(Writer::Local);
    }
    let Some(given) = given else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing `Authorization: Bearer <token>`; this server takes writes with a token only",
        ));
    };
    let token = given
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let mut found = None;
    for (known, who) in &shared.tokens {
        if constant_time_eq(known.as_bytes(), token.as_bytes()) {
            found = Some(who);
        }
    }
    match found {
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
