//! The tag side of a whole-registry `validate`, cached under its exact inputs: a run over
//! unchanged tags and an unchanged `registry.yaml` reads one entry instead of checking 100,000
//! tags, parsing the index and looking up what the served releases hold.
//!
//! What that side finds (the tags' checks, the index's pointers, the served and latest
//! releases' contents) is a function of: the refs under `refs/tags/`, read from the whole
//! `packed-refs` file and the loose refs ([`Store::tag_listing_digest`]); the objects they lead
//! to, immutable by id; `registry.yaml`'s bytes as checked; and the build's code
//! ([`checked::SOURCE_ID`]). The entry's key is the SHA-256 of those four, so any new, moved or
//! deleted tag, any edit of the index and any other build makes another key, and an entry can
//! never be stale. Not cached: a pass whose findings rest on an object being absent
//! ([`Released::absent`]: a fetch could bring it), and one whose refs changed while it ran.
//!
//! The entry (`tagpass-<key>`) holds the findings, the lightweight tags (reported once the
//! walk knows the prompts) and each prompt's versions, one line per prompt sorted by name,
//! which the results' checks look up.
//!
//! The tags' part alone is kept too (`tagrefs-<key>`, keyed by the build and the refs only):
//! what checking the tags found, the lightweight tags, and every version tag with what its
//! release holds. A run under a `registry.yaml` no run has seen (a pull that moved pointers)
//! takes that and checks only the pointers and the served releases.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::checked::{self, SOURCE_ID};
use super::files::Content;
use super::finding::Finding;
use super::listed::Listed;
use super::tags::{Holding, Lightweight, Released};
use crate::store::{hex_of, parse_id, ObjectId, Store};
use crate::{PromptName, Version};

/// The cache kind.
const KIND: &str = "tagpass";
/// The first line of an entry, naming its form.
const HEADER: &str = "promptreg tag pass 1";
/// The last line of a complete entry (a truncated one is a miss).
const END: &str = "end";
/// The refs' prefix.
const TAGS: &str = "refs/tags/";
/// The kind of the tags' part alone, keyed without `registry.yaml`.
const TAGS_KIND: &str = "tagrefs";
/// The first line of such an entry.
const TAGS_HEADER: &str = "promptreg tag refs 1";

/// Where a pass over some exact inputs is cached.
pub(crate) struct Key {
    id: ObjectId,
    /// The key of the tags' part alone: the build and the refs.
    tags_id: ObjectId,
    /// The digest of the refs when the key was made: a pass is cached only if they are the
    /// same after it.
    refs: [u8; 32],
}

/// The key of a pass over this repository's tags and `registry` (as read: `None` when there
/// is none); `None` when the refs cannot be read (the pass itself then says why).
pub(crate) fn key(store: &Store, registry: Option<&Content>) -> Option<Key> {
    let refs = store.tag_listing_digest(TAGS).ok()?;
    let size;
    let registry: [&[u8]; 2] = match registry {
        Some(Content::Bytes(bytes)) => [b"bytes", bytes],
        Some(Content::TooLarge(over)) => {
            size = over.to_string();
            [b"too large", size.as_bytes()]
        }
        None => [b"none", b""],
    };
    let id = id_of(&[
        HEADER.as_bytes(),
        SOURCE_ID.as_bytes(),
        &refs,
        registry[0],
        registry[1],
    ]);
    let tags_id = id_of(&[TAGS_HEADER.as_bytes(), SOURCE_ID.as_bytes(), &refs]);
    Some(Key { id, tags_id, refs })
}

/// An entry's id: the SHA-256 of `parts`, each preceded by its length (so no two lists of
/// parts hash alike), cut to the 20 bytes of a cache id.
fn id_of(parts: &[&[u8]]) -> ObjectId {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    ObjectId::from_bytes(&digest[..20]).unwrap_or(ObjectId::ZERO_SHA1)
}

/// A pass, or its tags' part, read from the cache.
pub(crate) struct Cached {
    /// Everything it found but the lightweight tags: over the whole pass, the findings of the
    /// tags, the pointers and the releases' contents; over the tags' part, the tags' alone.
    pub findings: Vec<Finding>,
    pub lightweight: Vec<Lightweight>,
    /// The versions found; over the tags' part, with the releases whose contents are then
    /// checked as in a pass made now.
    pub released: Released,
}

/// The pass cached under `key`, if any.
pub(crate) fn load(store: &Store, key: &Key) -> Option<Cached> {
    let text = store.cache_get(KIND, key.id)?;
    let (findings, lightweight, lines) = frame(&text, HEADER)?;
    let versions_start = text.len() - END.len() - 1 - lines.len();
    let versions_end = text.len() - END.len() - 1;
    let listed = Listed::new(text, versions_start..versions_end)?;
    Some(Cached {
        findings,
        lightweight,
        released: Released::from_listed(listed),
    })
}

/// The findings, the lightweight tags and the lines of an entry `text` whose first line is
/// `header`; `None` when it is not complete.
fn frame<'t>(text: &'t str, header: &str) -> Option<(Vec<Finding>, Vec<Lightweight>, &'t str)> {
    let tail = format!("\n{END}\n");
    if !(text.starts_with(header)
        && text[header.len()..].starts_with('\n')
        && text.ends_with(&tail))
    {
        return None;
    }
    let body = text.get(header.len() + 1..text.len() - END.len() - 1)?;
    let (findings, rest) = body.split_once('\n')?;
    let (lightweight, lines) = rest.split_once('\n')?;
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
    Some((findings, lightweight, lines))
}

/// The header, findings and lightweight lines of an entry.
fn head(header: &str, findings: &[Finding], lightweight: &[Lightweight]) -> Option<String> {
    let findings = checked::findings_json(findings).to_string();
    let lightweight: Vec<(&str, &str, String)> = lightweight
        .iter()
        .map(|t| (t.refname.as_str(), t.name.as_str(), t.version.to_string()))
        .collect();
    let lightweight = serde_json::to_string(&lightweight).ok()?;
    Some(format!("{header}\n{findings}\n{lightweight}\n"))
}

/// The tags' part cached under `key` (the refs and the build), if any. Its lines are one per
/// version tag, `<name> <version> <1|0> [<commit> <blob>]` (1: a release; the ids when it
/// holds its prompt.yaml), sorted by name and version.
pub(crate) fn load_tags(store: &Store, key: &Key) -> Option<Cached> {
    let text = store.cache_get(TAGS_KIND, key.tags_id)?;
    let (findings, lightweight, lines) = frame(&text, TAGS_HEADER)?;
    let mut by_name: HashMap<String, BTreeMap<Version, bool>> = HashMap::new();
    // About 90 bytes a line: sized once rather than grown through 100,000 pushes.
    let mut holding: Vec<Holding> = Vec::with_capacity(lines.len() / 80);
    // The prompt of the lines being read, and its versions so far.
    let mut last: Option<(&str, PromptName, BTreeMap<Version, bool>)> = None;
    for line in lines.split_terminator('\n') {
        let mut fields = line.split(' ');
        let (name, version, annotated) = (fields.next()?, fields.next()?, fields.next()?);
        let version = Version::parse(version).ok()?;
        let annotated = match annotated {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        if last.as_ref().is_none_or(|(last, ..)| *last != name) {
            if let Some((done, _, versions)) = last.take() {
                if by_name.insert(done.to_owned(), versions).is_some() {
                    return None; // Not sorted.
                }
            }
            last = Some((name, PromptName::parse(name).ok()?, BTreeMap::new()));
        }
        let (_, prompt, versions) = last.as_mut()?;
        match (fields.next(), fields.next(), fields.next()) {
            (None, None, None) => {}
            (Some(commit), Some(blob), None) => {
                let ids = (parse_id(commit).ok()?, parse_id(blob).ok()?);
                holding.push(((prompt.clone(), version.clone()), ids));
            }
            _ => return None,
        }
        if versions.insert(version, annotated).is_some() {
            return None;
        }
    }
    if let Some((done, _, versions)) = last {
        if by_name.insert(done.to_owned(), versions).is_some() {
            return None;
        }
    }
    Some(Cached {
        findings,
        lightweight,
        released: Released::from_parts(by_name, holding)?,
    })
}

/// What a pass made now found, to cache.
pub(crate) struct Made<'a> {
    /// Everything but the lightweight tags.
    pub findings: &'a [Finding],
    /// What checking the tags found, when this run checked them (the tags' part was not taken
    /// from the cache): that part is cached too.
    pub tags: Option<&'a [Finding]>,
    pub lightweight: &'a [Lightweight],
    pub released: &'a Released,
}

/// Caches the pass `made` under `key` (and its tags' part, when it made that too), unless it
/// rests on an absent object or the refs changed while it ran. Best-effort, as every cache
/// write.
pub(crate) fn save(store: &Store, key: &Key, made: Made<'_>) {
    if made.released.absent || store.tag_listing_digest(TAGS).ok() != Some(key.refs) {
        return;
    }
    if let Some(findings) = made.tags {
        save_tags(store, key, findings, made.lightweight, made.released);
    }
    let Some(mut text) = head(HEADER, made.findings, made.lightweight) else {
        return;
    };
    let mut names: Vec<_> = made.released.by_name().collect();
    names.sort_unstable_by_key(|(name, _)| *name);
    for (name, versions) in names {
        Listed::write_line(&mut text, name, versions);
    }
    text.push_str(END);
    text.push('\n');
    store.cache_put(KIND, key.id, &text, 2);
}

/// Writes the tags' part of a pass: `findings` of the tags, `lightweight`, and every version
/// tag in `released` with what its release holds.
fn save_tags(
    store: &Store,
    key: &Key,
    findings: &[Finding],
    lightweight: &[Lightweight],
    released: &Released,
) {
    let Some(mut text) = head(TAGS_HEADER, findings, lightweight) else {
        return;
    };
    // About 96 bytes a line, sized once: grown by doubling, 10 MB would briefly take 16.
    text.reserve(released.tag_count() * 96);
    let mut key_buf = [0u8; 40];
    released.each_tag(|(name, version, annotated, held)| {
        let _ = write!(text, "{name} {version} {}", u8::from(annotated));
        if let Some((commit, blob)) = held {
            text.push(' ');
            text.push_str(hex_of(commit, &mut key_buf));
            text.push(' ');
            text.push_str(hex_of(blob, &mut key_buf));
        }
        text.push('\n');
    });
    text.push_str(END);
    text.push('\n');
    store.cache_put(TAGS_KIND, key.tags_id, &text, 2);
}
