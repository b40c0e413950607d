//! The response cache: bodies of reads, bounded in bytes with least-recently-used eviction.
//!
//! Entries are keyed by the normalised request (branch tip, a fingerprint of the prompt's
//! tags, route, prompt name and parsed parameters), never by the raw query, so the number of
//! distinct keys is bounded by what the registry holds, and their total size by the budget
//! however large the prompts are. Everything is dropped when the tip moves, since every body
//! may depend on it.
//!
//! Bodies are kept in [`CHUNK`]-sized pieces, not one allocation each: evicted and new bodies
//! then have the same few sizes and the allocator reuses the freed pieces, where bodies of
//! every size interleaved with the large temporaries of each request fragment its arenas
//! (measured: 64 MiB of whole bodies under churn held ~160 MB of resident memory).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::store::ObjectId as Oid;
use axum::body::Bytes;
use hyper::body::{Frame, SizeHint};

use super::query::{Kind, Params};

/// Bytes of cached responses kept at most by default (bodies, entity tags, keys and
/// bookkeeping); `serve --cache-size` sets another budget.
pub const CACHE_BUDGET: usize = 64 << 20;

/// What one entry costs beyond its body, entity tag and key strings: the map slots, the
/// `Arc`, the order index (an estimate on the high side, so the budget is not exceeded).
const ENTRY_OVERHEAD: usize = 256;

/// Size of the pieces a cached body is kept in: well under the allocator's threshold for
/// mapping an allocation on its own, so pieces are recycled within its heap.
const CHUNK: usize = 32 << 10;

/// What a chunk costs beyond its bytes (its `Bytes` handle and the allocation's header).
const CHUNK_OVERHEAD: usize = 64;

/// A cached response body, in pieces, its entity tag, and what it served.
pub(crate) struct Cached {
    chunks: Vec<Bytes>,
    len: usize,
    /// Where a key's bucket goes: the body is `chunks[..hole]`, the bucket's digits, then
    /// `chunks[hole..]` (the cached body has no `null` there). `None`: sent as it is.
    hole: Option<usize>,
    pub etag: String,
    /// What a record read served, for the access log and for keyed reads.
    pub served: Option<Served>,
}

/// What a record read served.
#[derive(Clone, Debug, Default)]
pub(crate) struct Served {
    pub version: String,
    /// The environment the read resolved (named, or the last of the pipeline); `None` when a
    /// version was asked for by number.
    pub environment: Option<String>,
    /// That environment's split, when it splits.
    pub split: Option<Vec<promptreg_wire::SplitEntry>>,
}

impl Cached {
    /// Keeps `body` in pieces (the `body` allocation itself is freed).
    pub fn new(body: &[u8], etag: String, served: Option<Served>) -> Self {
        Self {
            chunks: body.chunks(CHUNK).map(Bytes::copy_from_slice).collect(),
            len: body.len(),
            hole: None,
            etag,
            served,
        }
    }

    /// Keeps `body` with a hole at `at` in place of the `hole_len` bytes there (the `null` a
    /// record without a bucket has): [`Cached::body_for`] writes a bucket into it.
    pub fn with_hole(
        body: &[u8],
        at: usize,
        hole_len: usize,
        etag: String,
        served: Option<Served>,
    ) -> Self {
        let (before, after) = (&body[..at], &body[at + hole_len..]);
        let mut chunks: Vec<Bytes> = before.chunks(CHUNK).map(Bytes::copy_from_slice).collect();
        let hole = chunks.len();
        chunks.extend(after.chunks(CHUNK).map(Bytes::copy_from_slice));
        Self {
            chunks,
            len: before.len() + after.len(),
            hole: Some(hole),
            etag,
            served,
        }
    }

    /// The body, to send, with `bucket` in its hole (`null` without one); the pieces are
    /// shared, not copied.
    pub fn body_for(&self, bucket: Option<u32>) -> axum::body::Body {
        let mut rest: VecDeque<Bytes> = self.chunks.iter().cloned().collect();
        let mut len = self.len;
        if let Some(hole) = self.hole {
            let digits = Bytes::from(bucket.map_or_else(|| "null".to_owned(), |b| b.to_string()));
            len += digits.len();
            rest.insert(hole, digits);
        }
        axum::body::Body::new(Pieces {
            rest,
            remaining: len as u64,
        })
    }

    /// The entity tag of [`Cached::body_for`]`(bucket)`: the cached body's tag (a hash of it,
    /// which names the version, its content and the split) with the bucket appended, so two
    /// keys in the same bucket share a tag and the tag still names exactly one body.
    pub fn etag_for(&self, bucket: Option<u32>) -> String {
        match (self.hole, bucket) {
            (Some(_), Some(bucket)) => {
                format!("\"{}-b{bucket}\"", self.etag.trim_matches('"'))
            }
            _ => self.etag.clone(),
        }
    }

    /// Bytes held, the handles and allocation headers of the pieces included.
    fn size(&self) -> usize {
        let served = self.served.as_ref().map_or(0, |s| {
            s.version.len()
                + s.environment.as_ref().map_or(0, String::len)
                + s.split.as_ref().map_or(0, |split| {
                    split
                        .iter()
                        .map(|e| e.version.len() + std::mem::size_of_val(e))
                        .sum()
                })
        });
        self.len + self.chunks.len() * CHUNK_OVERHEAD + served
    }
}

/// A body sent piece by piece, with its exact length (so it goes out with `Content-Length`).
struct Pieces {
    rest: VecDeque<Bytes>,
    remaining: u64,
}

impl hyper::body::Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        Poll::Ready(this.rest.pop_front().map(|piece| {
            this.remaining -= piece.len() as u64;
            Ok(Frame::data(piece))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// What a cached read was asked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub tip: Oid,
    pub tags: u64,
    pub kind: Kind,
    pub name: String,
    pub params: Params,
    /// For a keyed read of a split: the entry the key was assigned (the key itself never
    /// keys the cache, so there is at most one entry per version of the split).
    pub entry: Option<String>,
}

impl Key {
    fn cost(&self) -> usize {
        let strings = self.name.len()
            + self.params.version.as_ref().map_or(0, String::len)
            + self.params.environment.as_ref().map_or(0, String::len)
            + self.entry.as_ref().map_or(0, String::len);
        // The key is held twice: in the map and in the order index.
        2 * (std::mem::size_of::<Key>() + strings)
    }
}

struct Slot {
    value: Arc<Cached>,
    stamp: u64,
    cost: usize,
}

#[derive(Default)]
struct Inner {
    tip: Option<Oid>,
    used: usize,
    clock: u64,
    entries: HashMap<Key, Slot>,
    /// Stamp of last use → key, oldest first.
    order: BTreeMap<u64, Key>,
}

/// A byte-bounded LRU map of responses.
pub(crate) struct ResponseCache {
    budget: usize,
    inner: Mutex<Inner>,
}

impl ResponseCache {
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The cached response for `key`, marked as just used.
    pub fn get(&self, key: &Key) -> Option<Arc<Cached>> {
        let mut inner = self.inner.lock().ok()?;
        inner.clock += 1;
        let stamp = inner.clock;
        let slot = inner.entries.get_mut(key)?;
        let old = std::mem::replace(&mut slot.stamp, stamp);
        let value = slot.value.clone();
        if let Some(key) = inner.order.remove(&old) {
            inner.order.insert(stamp, key);
        }
        Some(value)
    }

    /// Keeps `value` under `key`, evicting the least recently used entries to stay within the
    /// budget. A response larger than an eighth of the budget is not kept: it would evict many
    /// others for one hit.
    pub fn put(&self, key: Key, value: Arc<Cached>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.tip != Some(key.tip) {
            *inner = Inner {
                tip: Some(key.tip),
                clock: inner.clock,
                ..Inner::default()
            };
        }
        let cost = value.size() + value.etag.len() + key.cost() + ENTRY_OVERHEAD;
        if cost > self.budget / 8 {
            return;
        }
        if let Some(old) = inner.entries.remove(&key) {
            inner.order.remove(&old.stamp);
            inner.used -= old.cost;
        }
        while inner.used + cost > self.budget {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.used -= evicted.cost;
            }
        }
        inner.clock += 1;
        let stamp = inner.clock;
        inner.order.insert(stamp, key.clone());
        inner.entries.insert(key, Slot { value, stamp, cost });
        inner.used += cost;
    }

    /// How many entries it holds now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.inner.lock().map(|i| i.entries.len()).unwrap_or(0)
    }

    /// Bytes accounted to the entries held now.
    #[cfg(test)]
    fn used(&self) -> usize {
        self.inner.lock().map(|i| i.used).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tip: u8, n: usize) -> Key {
        Key {
            tip: Oid::from_bytes(&[tip; 20]).unwrap(),
            tags: 0,
            kind: Kind::Record,
            name: "p".into(),
            params: Params {
                version: Some(format!("1.0.{n}")),
                environment: None,
                domain: None,
                prompt: None,
            },
            entry: None,
        }
    }

    fn body(size: usize) -> Arc<Cached> {
        Arc::new(Cached::new(&vec![b'x'; size], "\"e\"".into(), None))
    }

    #[tokio::test]
    async fn a_body_is_kept_in_pieces_and_sent_whole() {
        let text: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let cached = Cached::new(&text, "\"e\"".into(), None);
        assert_eq!(cached.chunks.len(), 100_000_usize.div_ceil(CHUNK));
        let sent = axum::body::to_bytes(cached.body_for(None), usize::MAX)
            .await
            .unwrap();
        assert_eq!(&sent[..], &text[..]);
        let empty = Cached::new(b"", "\"e\"".into(), None);
        assert!(axum::body::to_bytes(empty.body_for(None), 10)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn a_hole_takes_the_bucket_and_the_tag_follows_it() {
        let mut text = vec![b'a'; CHUNK + 10];
        text.extend_from_slice(b"\"bucket\": null,");
        text.extend(vec![b'z'; CHUNK]);
        let at = CHUNK + 10 + "\"bucket\": ".len();
        let cached = Cached::with_hole(&text, at, 4, "\"abc\"".into(), None);
        let cached = &cached;
        let sent = |bucket| async move {
            let body = axum::body::to_bytes(cached.body_for(bucket), usize::MAX).await;
            body.unwrap().to_vec()
        };
        assert_eq!(sent(None).await, text, "no bucket: the body as it was");
        let mut expected = text[..at].to_vec();
        expected.extend_from_slice(b"6300");
        expected.extend_from_slice(&text[at + 4..]);
        let with = sent(Some(6300)).await;
        assert_eq!(with, expected);
        assert_eq!(cached.etag_for(None), "\"abc\"");
        assert_eq!(cached.etag_for(Some(6300)), "\"abc-b6300\"");
        assert_ne!(cached.etag_for(Some(6300)), cached.etag_for(Some(63)));
        let plain = Cached::new(b"x", "\"e\"".into(), None);
        assert_eq!(
            plain.etag_for(Some(5)),
            "\"e\"",
            "no hole: one body, one tag"
        );
    }

    #[test]
    fn stays_within_the_budget_and_evicts_the_least_recently_used() {
        let cache = ResponseCache::new(100_000);
        for n in 0..1_000 {
            cache.put(key(1, n), body(10_000));
            assert!(cache.used() <= 100_000, "{}", cache.used());
            // Entry 0 is read every time, so it is never the least recently used.
            assert!(cache.get(&key(1, 0)).is_some(), "after {n}");
        }
        assert!(cache.get(&key(1, 999)).is_some());
        assert!(cache.get(&key(1, 1)).is_none(), "an old entry was evicted");
        assert!(
            cache.used() > 50_000,
            "the budget is used: {}",
            cache.used()
        );
    }

    #[test]
    fn a_new_tip_empties_it_and_huge_bodies_are_not_kept() {
        let cache = ResponseCache::new(100_000);
        cache.put(key(1, 1), body(100));
        cache.put(key(2, 1), body(100));
        assert!(cache.get(&key(1, 1)).is_none());
        assert!(cache.get(&key(2, 1)).is_some());
        cache.put(key(2, 2), body(50_000));
        assert!(cache.get(&key(2, 2)).is_none());
        // Replacing an entry does not count it twice.
        let before = cache.used();
        cache.put(key(2, 1), body(100));
        assert_eq!(cache.used(), before);
    }
}
