//! `GET /api/events`: what the environments serve, as it changes, streamed as Server-Sent
//! Events.
//!
//! One task follows the refs watch (`watch.rs`): when the served tip moves it reads the index at
//! the new tip, compares every prompt's pointers with those at the tip before, and publishes
//! the differences as one batch (a promotion, a rollback, a split changed, a pointer added or
//! removed; a pull of several commits is one batch of their net effect). Each stream sends the
//! batches that match its filters, as `environment` events whose id is the commit they bring
//! the client up to.
//!
//! Ids are commits, not counters, so they survive a restart of the server and mean the same on
//! every replica: a client that reconnects with `Last-Event-ID: <commit>` is sent the
//! difference between the index at that commit and at the tip, then the live events. An id the
//! repository does not have (or that is not a commit) gets a `reset` event instead: the client
//! should read what it needs afresh. A new stream starts with a `ready` event carrying the tip,
//! and a comment every 15 s keeps idle connections open through proxies.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast;

use super::query::{self, Kind};
use super::watch::Tips;
use super::{with_reader, ApiError, Shared};
use crate::model::registry::{Pointer, Pointers};
use crate::store::{ObjectId, Store};
use crate::PromptName;

/// Batches a stream may fall behind by before it is caught up from the index instead.
const BACKLOG: usize = 64;
/// How often an idle stream sends a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Every prompt's pointers in one index.
type Prompts = BTreeMap<PromptName, Pointers>;

/// One pointer that changed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Change {
    pub prompt: String,
    pub environment: String,
    pub now: Option<Pointer>,
    pub previous: Option<Pointer>,
}

/// The changes one move of the tip brought.
#[derive(Debug)]
pub(crate) struct Batch {
    seq: u64,
    commit: ObjectId,
    changes: Vec<Change>,
}

/// The index at the tip the hub last read.
#[derive(Clone, Default)]
struct Snapshot {
    /// Batches published so far.
    seq: u64,
    commit: Option<ObjectId>,
    environments: Arc<Vec<String>>,
    prompts: Arc<Prompts>,
}

/// What the streams share: the last snapshot and the channel batches go out on.
pub(crate) struct EventHub {
    current: Mutex<Snapshot>,
    batches: broadcast::Sender<Arc<Batch>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self {
            current: Mutex::new(Snapshot::default()),
            batches: broadcast::channel(BACKLOG).0,
        }
    }
}

impl EventHub {
    fn snapshot(&self) -> Snapshot {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the index at `tip` and publishes how it differs from the last one read. An index
    /// that cannot be read (a broken `registry.yaml` pushed) is skipped: the next tip is
    /// compared with the last one that could be read.
    fn advance(&self, store: &Store, tip: ObjectId) -> Result<(), String> {
        let (environments, prompts) = prompts_at(store, tip)?;
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = current.commit.is_none();
        let changes = diff(&current.prompts, &prompts, &environments);
        current.commit = Some(tip);
        current.environments = Arc::new(environments);
        current.prompts = Arc::new(prompts);
        if !first && !changes.is_empty() {
            current.seq += 1;
            // No stream listening is not an error.
            let _ = self.batches.send(Arc::new(Batch {
                seq: current.seq,
                commit: tip,
                changes,
            }));
        }
        Ok(())
    }
}

/// Follows `tips` until the server stops, publishing each move's changes.
pub(super) async fn run(shared: Arc<Shared>, mut tips: Tips) {
    let mut stop = shared.stop.subscribe();
    let mut reported = false;
    loop {
        let tip = *tips.borrow_and_update();
        if let Some(tip) = tip {
            let outcome = on_pool(&shared, move |shared, store| {
                shared.events.advance(store, tip)
            })
            .await;
            // Once per problem, not once per move while it lasts.
            match outcome.err() {
                Some(message) if !reported => {
                    (shared.notify)(&format!(
                        "events: cannot read the index at {tip}: {message}"
                    ));
                    reported = true;
                }
                Some(_) => {}
                None => reported = false,
            }
        }
        tokio::select! {
            changed = tips.changed() => if changed.is_err() { return },
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
    }
}

/// Runs `read` with this pool thread's read handle on the blocking pool; any failure (the
/// read's, the handle's, the task's) as its message.
async fn on_pool<T: Send + 'static>(
    shared: &Arc<Shared>,
    read: impl FnOnce(&Shared, &Store) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let shared = shared.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        with_reader(&shared.repo.clone(), |store| Ok(read(&shared, store)))
    })
    .await;
    match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(e.message),
        Err(e) => Err(e.to_string()),
    }
}

/// The pipeline and every prompt's pointers in the index at `commit`.
fn prompts_at(store: &Store, commit: ObjectId) -> Result<(Vec<String>, Prompts), String> {
    let view = store
        .find_commit(commit)
        .map_err(|e| e.message().to_owned())?;
    let registry = crate::read::registry_at(store, &view, &commit.to_string(), None)
        .map_err(|e| e.to_string())?;
    Ok((registry.environments, registry.prompts))
}

/// The pointers that differ between `before` and `after`, by prompt name and then in the
/// order of `pipeline` (environments no longer in it last, by name).
fn diff(before: &Prompts, after: &Prompts, pipeline: &[String]) -> Vec<Change> {
    let empty = Pointers::new();
    let mut names: Vec<&PromptName> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    let mut changes = Vec::new();
    for name in names {
        let old = before.get(name).unwrap_or(&empty);
        let new = after.get(name).unwrap_or(&empty);
        if old == new {
            continue;
        }
        let mut environments: Vec<&String> = pipeline.iter().collect();
        let mut others: Vec<&String> = old
            .keys()
            .chain(new.keys())
            .filter(|e| !pipeline.contains(e))
            .collect();
        others.sort();
        others.dedup();
        environments.extend(others);
        for environment in environments {
            let (was, is) = (old.get(environment), new.get(environment));
            if was != is {
                changes.push(Change {
                    prompt: name.to_string(),
                    environment: environment.clone(),
                    now: is.cloned(),
                    previous: was.cloned(),
                });
            }
        }
    }
    changes
}

/// A pointer as events show it: `{"version", "split"}` (`split` null unless it splits).
fn pointer_json(pointer: Option<&Pointer>) -> serde_json::Value {
    match pointer {
        None => serde_json::json!({ "version": null, "split": null }),
        Some(p) => serde_json::json!({
            "version": p.first().to_string(),
            "split": p.split().map(|s| s.to_wire()),
        }),
    }
}

fn event_of(change: &Change, commit: ObjectId) -> Event {
    let now = pointer_json(change.now.as_ref());
    let data = serde_json::json!({
        "prompt": change.prompt,
        "environment": change.environment,
        "version": now["version"],
        "split": now["split"],
        "previous": change.previous.as_ref().map(|p| pointer_json(Some(p))),
        "commit": commit.to_string(),
    });
    Event::default()
        .event("environment")
        .id(commit.to_string())
        .data(data.to_string())
}

/// What a stream was asked to send.
#[derive(Clone, Default)]
struct Filter {
    prompt: Option<String>,
    environment: Option<String>,
}

impl Filter {
    fn wants(&self, change: &Change) -> bool {
        self.prompt.as_ref().is_none_or(|p| *p == change.prompt)
            && self
                .environment
                .as_ref()
                .is_none_or(|e| *e == change.environment)
    }
}

/// One client's stream: what is left to send, and where it is in the hub's batches.
struct Stream {
    shared: Arc<Shared>,
    batches: broadcast::Receiver<Arc<Batch>>,
    stop: tokio::sync::watch::Receiver<bool>,
    filter: Filter,
    pending: VecDeque<Event>,
    /// The last batch sent (batches up to it are skipped).
    seq: u64,
    /// The commit the client is up to.
    commit: Option<ObjectId>,
}

impl Stream {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Stream)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            let received = tokio::select! {
                _ = self.stop.wait_for(|stopping| *stopping) => return None,
                received = self.batches.recv() => received,
            };
            match received {
                Ok(batch) if batch.seq <= self.seq => {}
                Ok(batch) => {
                    self.seq = batch.seq;
                    self.commit = Some(batch.commit);
                    let filter = &self.filter;
                    self.pending.extend(
                        batch
                            .changes
                            .iter()
                            .filter(|c| filter.wants(c))
                            .map(|c| event_of(c, batch.commit)),
                    );
                }
                // Too far behind to be sent the batches one by one: the difference from where
                // the client is to the hub's tip instead.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let since = self.commit;
                    self.catch_up(since).await;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Queues what changed between the index at `since` and the hub's tip (a `reset` when
    /// `since` cannot be read), and moves the stream to the hub's tip.
    async fn catch_up(&mut self, since: Option<ObjectId>) {
        let now = self.shared.events.snapshot();
        self.seq = now.seq;
        let Some(tip) = now.commit else { return };
        let Some(since) = since else {
            self.pending
                .push_back(reset(tip, "the stream's position is unknown"));
            self.commit = Some(tip);
            return;
        };
        if since == tip {
            return;
        }
        let old = on_pool(&self.shared, move |_, store| prompts_at(store, since)).await;
        match old {
            Ok((_, prompts)) => {
                let filter = &self.filter;
                self.pending.extend(
                    diff(&prompts, &now.prompts, &now.environments)
                        .iter()
                        .filter(|c| filter.wants(c))
                        .map(|c| event_of(c, tip)),
                );
            }
            _ => self.pending.push_back(reset(
                tip,
                "the last event id is not a commit of this registry",
            )),
        }
        self.commit = Some(tip);
    }
}

fn reset(tip: ObjectId, reason: &str) -> Event {
    Event::default()
        .event("reset")
        .id(tip.to_string())
        .data(serde_json::json!({ "commit": tip.to_string(), "reason": reason }).to_string())
}

/// `GET /api/events[?prompt=NAME][&environment=ENV]`.
pub(super) async fn events(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = match query::parse(Kind::Events, &uri) {
        Ok(query) => query,
        Err(e) => return e.into_response(),
    };
    if let Some(prompt) = &query.params.prompt {
        if let Err(e) = PromptName::parse(prompt) {
            return ApiError::from(e).into_response();
        }
    }
    let filter = Filter {
        prompt: query.params.prompt.clone(),
        environment: query.params.environment.clone(),
    };
    // Subscribed before the snapshot is taken, so no batch falls between them.
    let batches = shared.events.batches.subscribe();
    let mut now = shared.events.snapshot();
    let tip = *shared.tips.borrow();
    if let (None, Some(tip)) = (now.commit, tip) {
        // Just started: the hub has not read its first index yet. Read it here (reading the
        // same tip twice publishes nothing), so the stream's `ready` names its position.
        let _ = on_pool(&shared, move |shared, store| {
            shared.events.advance(store, tip)
        })
        .await;
        now = shared.events.snapshot();
    }
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let mut stream = Stream {
        stop: shared.stop.subscribe(),
        shared: shared.clone(),
        batches,
        filter,
        pending: VecDeque::new(),
        seq: now.seq,
        commit: now.commit,
    };
    match (last_id, now.commit) {
        (Some(id), Some(tip)) => {
            match (id.len() == 40)
                .then(|| ObjectId::from_str(id).ok())
                .flatten()
            {
                Some(since) => stream.catch_up(Some(since)).await,
                None => stream.pending.push_back(reset(
                    tip,
                    "the last event id is not a commit of this registry",
                )),
            }
        }
        (None, Some(tip)) => stream.pending.push_back(
            Event::default()
                .event("ready")
                .id(tip.to_string())
                .data(serde_json::json!({ "commit": tip.to_string() }).to_string()),
        ),
        (_, None) => stream.pending.push_back(
            Event::default()
                .event("ready")
                .data(serde_json::json!({ "commit": null }).to_string()),
        ),
    }
    let body = futures_util::stream::unfold(stream, Stream::next);
    let mut response = Sse::new(body)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Proxies that buffer responses (nginx) would hold the events back.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Version;

    fn prompts(entries: &[(&str, &str, &str)]) -> Prompts {
        let mut out = Prompts::new();
        for (name, env, version) in entries {
            out.entry(PromptName::parse(name).unwrap())
                .or_default()
                .insert(
                    env.to_string(),
                    Pointer::Version(Version::parse(version).unwrap()),
                );
        }
        out
    }

    #[test]
    fn differences_come_by_prompt_then_in_pipeline_order() {
        let pipeline = ["dev", "staging", "production"].map(String::from);
        let before = prompts(&[
            ("b", "production", "1.0.0"),
            ("b", "dev", "1.0.0"),
            ("a", "staging", "1.0.0"),
            ("c", "old", "1.0.0"),
        ]);
        let after = prompts(&[
            ("b", "production", "1.1.0"),
            ("b", "dev", "1.2.0"),
            ("a", "staging", "1.0.0"),
            ("d", "dev", "0.1.0"),
        ]);
        let seen: Vec<(String, String, Option<String>, Option<String>)> =
            diff(&before, &after, &pipeline)
                .into_iter()
                .map(|c| {
                    (
                        c.prompt,
                        c.environment,
                        c.previous.map(|p| p.first().to_string()),
                        c.now.map(|p| p.first().to_string()),
                    )
                })
                .collect();
        let s = |t: &str| t.to_owned();
        assert_eq!(
            seen,
            vec![
                (s("b"), s("dev"), Some(s("1.0.0")), Some(s("1.2.0"))),
                (s("b"), s("production"), Some(s("1.0.0")), Some(s("1.1.0"))),
                (s("c"), s("old"), Some(s("1.0.0")), None),
                (s("d"), s("dev"), None, Some(s("0.1.0"))),
            ]
        );
        assert!(diff(&after, &after, &pipeline).is_empty());
    }
}
