//! The tag side of a whole-registry `validate`, cached under its exact inputs: a run over
//! unchanged tags and an unchanged `registry.yaml` reads one entry instead of checking 100,000
//! tags, parsing the index and looking up what the served releases hold.
//!
//! What that side finds (the tags' checks, the index's pointers, the served and latest
//! releases' contents) is a function of: the refs under `refs/tags/`, read from the whole
//! `packed-refs` file and the loose refs ([`Store::tag_listing_digest`]); the objects they lead
//! to, immutable by id; `registry.yaml`'s bytes as checked; and the build's code
//! ([`checked::SOURCE_ID`]). The entry's key is the hash of those four, so any new, moved or
//! deleted tag, any edit of the index and any other build makes another key, and an entry can
//! never be stale. Not cached: a pass whose findings rest on an object being absent
//! ([`Released::absent`]: a fetch could bring it), and one whose refs changed while it ran.
//!
//! The entry (`tagpass-<key>`) holds the findings, the lightweight tags (reported once the
//! walk knows the prompts) and each prompt's versions, one line per prompt sorted by name,
//! which the results' checks look up.

use sha2::{Digest, Sha256};

use super::checked::{self, SOURCE_ID};
use super::files::Content;
use super::finding::Finding;
use super::listed::Listed;
use super::tags::{Lightweight, Released};
use crate::store::{hash_blob, ObjectId, Store};
use crate::{PromptName, Version};

/// The cache kind.
const KIND: &str = "tagpass";
/// The first line of an entry, naming its form.
const HEADER: &str = "promptreg tag pass 1";
/// The last line of a complete entry (a truncated one is a miss).
const END: &str = "end";
/// The refs' prefix.
const TAGS: &str = "refs/tags/";

/// Where a pass over some exact inputs is cached.
pub(crate) struct Key {
    id: ObjectId,
    /// The digest of the refs when the key was made: a pass is cached only if they are the
    /// same after it.
    refs: [u8; 32],
}

/// The key of a pass over this repository's tags and `registry` (as read: `None` when there
/// is none); `None` when the refs cannot be read (the pass itself then says why).
pub(crate) fn key(store: &Store, registry: Option<&Content>) -> Option<Key> {
    let refs = store.tag_listing_digest(TAGS).ok()?;
    let registry = match registry {
        Some(Content::Bytes(bytes)) => hex(&Sha256::digest(bytes)),
        Some(Content::TooLarge(size)) => format!("too large {size}"),
        None => "none".to_owned(),
    };
    let text = format!("{HEADER}\n{SOURCE_ID}\n{}\n{registry}\n", hex(&refs));
    let id = hash_blob(text.as_bytes()).ok()?;
    Some(Key { id, refs })
}

/// A pass read from the cache.
pub(crate) struct Cached {
    /// Everything it found but the lightweight tags.
    pub findings: Vec<Finding>,
    pub lightweight: Vec<Lightweight>,
    pub listed: Listed,
}

/// The pass cached under `key`, if any.
pub(crate) fn load(store: &Store, key: &Key) -> Option<Cached> {
    let text = store.cache_get(KIND, key.id)?;
    let tail = format!("\n{END}\n");
    if !(text.starts_with(HEADER)
        && text[HEADER.len()..].starts_with('\n')
        && text.ends_with(&tail))
    {
        return None;
    }
    let body_end = text.len() - END.len() - 1;
    let body = text.get(HEADER.len() + 1..body_end)?;
    let (findings, rest) = body.split_once('\n')?;
    let (lightweight, versions) = rest.split_once('\n')?;
    let versions_start = body_end - versions.len();
    let findings = checked::findings_from_json(&serde_json::from_str(findings).ok()?)?;
    let lightweight = serde_json::from_str::<Vec<(String, String, String)>>(lightweight)
        .ok()?
        .into_iter()
        .map(|(refname, name, version)| {
            Some(Lightweight {
                refname,
                name: PromptName::parse(&name).ok()?,
                version: Version::parse(&version).ok()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let listed = Listed::new(text, versions_start..body_end)?;
    Some(Cached {
        findings,
        lightweight,
        listed,
    })
}

/// Caches the pass that found `findings` (all but the lightweight tags), `lightweight` and
/// `released` under `key`, unless it rests on an absent object or the refs changed while it
/// ran. Best-effort, as every cache write.
pub(crate) fn save(
    store: &Store,
    key: &Key,
    findings: &[Finding],
    lightweight: &[Lightweight],
    released: &Released,
) {
    if released.absent || store.tag_listing_digest(TAGS).ok() != Some(key.refs) {
        return;
    }
    let findings = checked::findings_json(findings).to_string();
    let lightweight: Vec<(&str, &str, String)> = lightweight
        .iter()
        .map(|t| (t.refname.as_str(), t.name.as_str(), t.version.to_string()))
        .collect();
    let Ok(lightweight) = serde_json::to_string(&lightweight) else {
        return;
    };
    let mut names: Vec<_> = released.by_name().collect();
    names.sort_unstable_by_key(|(name, _)| *name);
    let mut text = String::with_capacity(64 + findings.len() + names.len() * 96);
    for part in [HEADER, &findings, &lightweight] {
        text.push_str(part);
        text.push('\n');
    }
    for (name, versions) in names {
        Listed::write_line(&mut text, name, versions);
    }
    text.push_str(END);
    text.push('\n');
    store.cache_put(KIND, key.id, &text, 2);
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
