//! `history`: the audit trail, newest first — `created` events from version tags and
//! `promoted` / `reverted` / `demoted` events from every commit that changed a pointer in
//! `registry.yaml`, whoever made it (promptreg, a hand edit, a merged pull request), and
//! `tested` events from every commit that added runs to a results file (see `tested`).
//!
//! Commits promptreg made carry trailers naming the move, so they are read from the message
//! alone; any other commit that changed `registry.yaml` is diffed against its parent. Merges
//! that took one side's index unchanged are skipped: the commits on that side are walked too.

use std::cmp::Reverse;
use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};

use crate::model::history::{pointer_moves, Change, Event, Text};
use crate::model::registry::{Pointer, Pointers, Registry};
use crate::model::trailers::{shown_reason, Trailers};
use crate::store::{CommitView, ObjectId, Release, Store};
use crate::{Error, PromptName, Result};

use super::history_cache::EventCache;
use crate::read::steps::{IndexSteps, Stepped};
use crate::read::{pointers_of_blob, registry_blob, registry_of_blob};

/// Which events to return.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// One prompt, or all.
    pub name: Option<PromptName>,
    /// Only pointer moves of this environment (no `created` events).
    pub environment: Option<String>,
    /// Only events at or after this moment.
    pub since: Option<DateTime<FixedOffset>>,
    /// Walk from this revision instead of HEAD.
    pub revision: Option<String>,
}

/// What `history` found.
pub struct History {
    /// The events matching the query, newest first.
    pub events: Vec<Event>,
    /// In a shallow clone, the commit (abbreviated) where the walk met the clone's boundary:
    /// what happened there and before it is not known, so no event is reported for it.
    pub cut_at: Option<String>,
    /// Pointers of the index at the walk's start naming versions whose tag is not here: their
    /// `created` events are missing.
    pub missing_tags: Vec<crate::read::MissingTag>,
}

/// The events matching `query`, newest first, and what the clone lacks to tell them all.
pub fn history(store: &Store, query: &Query) -> Result<History> {
    let head = store.commit(query.revision.as_deref())?;
    // The index at the walk's start, for the pipeline and the pointers whose tags are missing;
    // one that cannot be read leaves both unknown (`audit` and `validate` report it).
    // For one prompt, only its entry (a cached lookup, not the whole 40,000-line index).
    let registry = match &query.name {
        Some(name) => crate::read::registry_at(
            store,
            &head,
            crate::read::revision_label(query.revision.as_deref()),
            Some(name),
        )
        .ok(),
        None => registry_blob(store, &head).and_then(|id| registry_of_blob(store, id).ok()),
    };
    // One listing of the version tags serves both the pointers whose tag is missing and the
    // releases (each read from the tag object the listing names); every prompt's is 100,000
    // entries, so it is not listed a second time beside the events.
    let listing = match &query.name {
        Some(name) => std::collections::BTreeMap::from([(name.clone(), store.versions(name)?)]),
        None => store.all_version_tags()?,
    };
    let missing_tags = match &registry {
        Some(registry) => {
            let mut missing =
                crate::read::gaps::missing_tags(registry, &listing, |(version, _)| version);
            missing.retain(|m| query.name.as_ref().is_none_or(|n| *n == m.name));
            missing
        }
        None => Vec::new(),
    };
    // Past this point only the pipeline is needed (for `--env`); every prompt's entries are
    // some 7 MB of the 40,000-line index, better given back before the events are made.
    let registry = registry.map(|registry| Registry {
        prompts: Default::default(),
        ..registry
    });
    let shallow_roots = store.shallow_roots()?;
    let mut cut_at = None;
    // Position in the walk, newest first: orders events that share a timestamp.
    let mut position: HashMap<ObjectId, u32> = HashMap::new();
    // Each event with its commit's position in the walk and its own in this list, the sort's
    // last keys (an unstable sort by a key that ends in the position is a stable one, without
    // the stable sort's buffer of half the events). Sized for the releases from the start:
    // grown from empty, the vector's earlier copies would leave holes the allocator keeps (some
    // 15 MB for every prompt's history).
    let release_count: usize = listing.values().map(Vec::len).sum();
    let mut events: Vec<(Order, Event)> = Vec::with_capacity(release_count);
    let mut seen = Seen::default();
    let mut parsed = super::tested::Parsed::default();
    let mut cache = EventCache::load(store, head.id());
    let walk = store.walk(head.id(), None, false)?;
    for (index, &id) in walk.iter().enumerate() {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        position.insert(id, index);
        if shallow_roots.contains(&id) {
            // Its parents are not in the clone: diffing it against nothing would invent
            // every pointer and run it holds as made here.
            cut_at.get_or_insert_with(|| crate::store::short_id(id));
            continue;
        }
        let made: Vec<Event> = match cache.get(store, id, query.name.as_ref()) {
            Some(made) => made.into_iter().map(|e| seen.shared.event(e)).collect(),
            None => {
                // Every prompt's events, for the cache; then the ones asked for.
                let commit = store
                    .find_commit(id)
                    .map_err(Error::git("cannot read a commit"))?;
                let mut made = commit_events(store, &commit, None, &mut seen)?;
                made.extend(super::tested::tested_events(
                    store,
                    &commit,
                    None,
                    &mut parsed,
                )?);
                cache.put(id, &made);
                made.retain(|e| query.name.as_ref().is_none_or(|n| *e.prompt == *n.as_str()));
                made.into_iter().map(|e| seen.shared.event(e)).collect()
            }
        };
        for event in made {
            events.push((Order::new(index, events.len()), event));
        }
    }
    cache.save(store, head.id(), &walk);
    // The entries read (all of every commit's events) are not needed past this point.
    drop(cache);
    // Exactly the room needed besides the walk's events: every prompt's history holds some
    // 100,000 events, and a doubling would leave a third of the vector empty.
    events.reserve_exact(release_count);
    for release in releases(store, listing) {
        let index = position.get(&release.commit).copied().unwrap_or(u32::MAX);
        let event = created_event(release, &mut seen.shared);
        events.push((Order::new(index, events.len()), event));
    }
    if let (Some(name), true, None) = (&query.name, events.is_empty(), &cut_at) {
        // Nothing ever happened to it: most likely a typo.
        return Err(crate::read::not_found(store, name));
    }
    if let (Some(env), Some(registry)) = (&query.environment, &registry) {
        let ever_moved = events
            .iter()
            .any(|(_, e)| e.environment.as_deref() == Some(env.as_str()));
        if !ever_moved {
            // Not in the pipeline and never moved (an environment since removed still is).
            registry.check_environment(env)?;
        }
    }
    events.retain(|(_, e)| {
        query
            .environment
            .as_ref()
            .is_none_or(|env| e.environment.as_deref() == Some(env.as_str()))
            && query.since.is_none_or(|since| e.at >= since)
    });
    // Newest first; of one moment, in walk order, a release after the moves of its commit.
    events.sort_unstable_by_key(|(order, e)| {
        (
            Reverse(e.at.timestamp()),
            order.walk,
            e.event == Change::Created,
            order.listed,
        )
    });
    let mut events: Vec<Event> = events.into_iter().map(|(_, e)| e).collect();
    super::history_merges::annotate(store, head.id(), &mut events)?;
    Ok(History {
        events,
        cut_at,
        missing_tags,
    })
}

/// Where an event came from, for the sort: its commit's position in the walk (newest first;
/// `u32::MAX` for a release whose commit the walk did not meet) and its own in the list.
#[derive(Clone, Copy)]
struct Order {
    walk: u32,
    listed: u32,
}

impl Order {
    fn new(walk: u32, listed: usize) -> Order {
        Order {
            walk,
            listed: u32::try_from(listed).unwrap_or(u32::MAX),
        }
    }
}

/// The pointer moves one commit made (relative to its first parent).
pub fn commit_events(
    store: &Store,
    commit: &CommitView<'_>,
    only: Option<&PromptName>,
    seen: &mut Seen,
) -> Result<Vec<Event>> {
    let blob = registry_blob(store, commit);
    let parent_blobs: Vec<Option<ObjectId>> =
        commit.parents().map(|p| registry_blob(store, &p)).collect();
    if parent_blobs.contains(&blob) || (parent_blobs.is_empty() && blob.is_none()) {
        return Ok(Vec::new());
    }
    let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
    let author = commit.author();
    // What every event of the commit shares, made once.
    let (by, by_name, at) = (
        Text::from(author.email()),
        Text::from(author.name()),
        author.when(),
    );
    let (reason, id) = (
        Text::from(shown_reason(&message)),
        Text::from(commit.id().to_string()),
    );
    let event = |prompt: String,
                 env: String,
                 from: Option<Pointer>,
                 to: Option<Pointer>,
                 change,
                 forced: bool,
                 gate_unmet: Vec<String>| {
        let first = |p: &Option<Pointer>| p.as_ref().map(|p| Text::from(p.first().to_string()));
        let split = |p: &Option<Pointer>| p.as_ref().and_then(Pointer::split).map(|s| s.to_wire());
        Event {
            event: change,
            prompt: prompt.into(),
            environment: Some(env.into()),
            from: first(&from),
            to: first(&to),
            from_split: split(&from),
            to_split: split(&to),
            by: by.clone(),
            by_name: by_name.clone(),
            at,
            reason: reason.clone(),
            commit: id.clone(),
            forced,
            gate_unmet,
            test: None,
            merge: None,
        }
    };
    if parent_blobs.len() == 1 {
        if let Some(t) = Trailers::parse(&message) {
            if only.is_some_and(|name| name.as_str() != t.prompt) {
                return Ok(Vec::new());
            }
            return Ok(vec![event(
                t.prompt.clone(),
                t.environment.clone(),
                t.previous,
                t.version,
                t.change,
                t.forced,
                t.gate_unmet,
            )]);
        }
    }
    let before = parent_blobs.first().copied().flatten();
    // Each prompt's pointers before (first parent), after, and in the other parents of a merge,
    // with the pipeline (for move order).
    let mut states = Vec::new();
    if let (Some(after), Some(before), 1) = (blob, before, parent_blobs.len()) {
        // One parent: follow the bytes that changed, entry by entry.
        if let Some(stepped) = seen.steps.step(store, after, before)? {
            let Stepped {
                environments,
                changed,
                ..
            } = stepped;
            for (name, old, new) in changed {
                if only.is_some_and(|o| *o != name) {
                    continue;
                }
                states.push((name, environments.clone(), old, new, Vec::new()));
            }
            return Ok(moves(states, event));
        }
    }
    match only {
        Some(name) => {
            let (Ok((envs, old)), Ok((_, new))) = (
                seen.pointers_at(store, before, name),
                seen.pointers_at(store, blob, name),
            ) else {
                return Ok(Vec::new()); // An index that does not parse: `audit` reports it.
            };
            let mut others = Vec::new();
            for other in parent_blobs.iter().skip(1) {
                others.push(
                    seen.pointers_at(store, *other, name)
                        .map(|(_, p)| p)
                        .unwrap_or_default(),
                );
            }
            states.push((name.clone(), envs, old, new, others));
        }
        None => {
            let (Ok(old), Ok(new)) = (
                registry_or_empty(store, before),
                registry_or_empty(store, blob),
            ) else {
                return Ok(Vec::new());
            };
            let mut others = Vec::new();
            for other in parent_blobs.iter().skip(1) {
                others.push(registry_or_empty(store, *other).ok());
            }
            let names: std::collections::BTreeSet<_> =
                old.prompts.keys().chain(new.prompts.keys()).collect();
            for name in names {
                let (from, to) = (old.pointers(name), new.pointers(name));
                let theirs = others
                    .iter()
                    .map(|r| r.as_ref().map(|r| r.pointers(name)).unwrap_or_default())
                    .collect();
                states.push((name.clone(), new.environments.clone(), from, to, theirs));
            }
        }
    }
    Ok(moves(states, event))
}

/// One prompt's pointers around a commit: its name, the pipeline, the pointers before (first
/// parent) and after, and those of a merge's other parents.
type State = (PromptName, Vec<String>, Pointers, Pointers, Vec<Pointers>);

/// The moves each state shows, made into events by `event`.
fn moves<F>(states: Vec<State>, event: F) -> Vec<Event>
where
    F: Fn(String, String, Option<Pointer>, Option<Pointer>, Change, bool, Vec<String>) -> Event,
{
    let mut out = Vec::new();
    for (name, envs, old, new, others) in states {
        for (env, from, to, change) in pointer_moves(&envs, &old, &new) {
            // A merge that took this value from another parent did not make the move: the
            // commit on that side did, and the walk reports it there.
            if others
                .iter()
                .any(|theirs: &Pointers| theirs.get(&env) == to.as_ref())
            {
                continue;
            }
            out.push(event(
                name.to_string(),
                env,
                from,
                to,
                change,
                false,
                Vec::new(),
            ));
        }
    }
    out
}

/// The last few indexes read during a walk: a commit's parent index is the next commit's own,
/// so each is read once instead of twice.
#[derive(Default)]
pub struct Seen {
    recent: Vec<(ObjectId, (Vec<String>, Pointers))>,
    /// Steps from each commit's index to its parent's.
    steps: IndexSteps,
    /// The texts of the walk's events.
    shared: Shared,
}

impl Seen {
    fn pointers_at(
        &mut self,
        store: &Store,
        blob: Option<ObjectId>,
        name: &PromptName,
    ) -> Result<(Vec<String>, Pointers)> {
        let Some(id) = blob else {
            return Ok((Vec::new(), Pointers::new()));
        };
        if let Some((_, found)) = self.recent.iter().find(|(seen, _)| *seen == id) {
            return Ok(found.clone());
        }
        let found = pointers_of_blob(store, id, name)?;
        if self.recent.len() == 4 {
            self.recent.remove(0);
        }
        self.recent.push((id, found.clone()));
        Ok(found)
    }
}

fn registry_or_empty(store: &Store, blob: Option<ObjectId>) -> Result<Registry> {
    match blob {
        Some(id) => registry_of_blob(store, id),
        None => Ok(Registry {
            format: crate::model::registry::FORMAT,
            environments: Vec::new(),
            prompts: Default::default(),
            access: None,
            policy: Default::default(),
        }),
    }
}

/// The releases `listing` names, each read from its tag object as the iterator reaches it:
/// 100,000 releases are never held beside the events made of them, and the listing is given
/// back as it is read.
fn releases(
    store: &Store,
    listing: std::collections::BTreeMap<PromptName, Vec<(crate::Version, ObjectId)>>,
) -> impl Iterator<Item = Release> + '_ {
    listing.into_iter().flat_map(move |(name, versions)| {
        versions
            .into_iter()
            .filter_map(move |(version, target)| store.release_from(&name, &version, target).ok())
    })
}

/// The release's event; its texts shared with the other events' (see `Shared`).
fn created_event(release: Release, shared: &mut Shared) -> Event {
    Event {
        event: Change::Created,
        prompt: shared.text(release.name.as_str()),
        environment: None,
        from: None,
        to: Some(shared.text(&release.version.to_string())),
        from_split: None,
        to_split: None,
        by: shared.text(&release.created_by),
        by_name: shared.text(&release.created_by_name),
        at: release.created_at,
        reason: Text::from(release.description),
        commit: shared.commit(release.commit),
        forced: false,
        gate_unmet: Vec::new(),
        test: None,
        merge: None,
    }
}

/// One copy of each text the events of a walk repeat: names, versions, environments, authors,
/// commit ids (see [`Text`]). Every prompt's history is 130,000 events on the benchmark
/// registry; shared, their texts take a few MB instead of some 40.
#[derive(Default)]
struct Shared {
    texts: std::collections::HashSet<Text>,
    commits: HashMap<ObjectId, Text>,
    /// The last reason seen: the events of one commit, read back from the cache, each carry
    /// their own copy of its message. Reasons are not kept in `texts`: most are unique and long.
    reason: Option<Text>,
}

impl Shared {
    /// The shared copy of `text`.
    fn text(&mut self, text: &str) -> Text {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        let shared = Text::from(text);
        self.texts.insert(shared.clone());
        shared
    }

    /// The shared text of commit id `id`.
    fn commit(&mut self, id: ObjectId) -> Text {
        self.commits
            .entry(id)
            .or_insert_with(|| Text::from(id.to_string()))
            .clone()
    }

    /// `event` with its texts replaced by the shared copies.
    fn event(&mut self, mut event: Event) -> Event {
        let mut share = |text: &mut Text| *text = self.text(text);
        share(&mut event.prompt);
        share(&mut event.by);
        share(&mut event.by_name);
        share(&mut event.commit);
        for text in [&mut event.environment, &mut event.from, &mut event.to]
            .into_iter()
            .flatten()
        {
            share(text);
        }
        match &self.reason {
            Some(last) if *last == event.reason => event.reason = last.clone(),
            _ => self.reason = Some(event.reason.clone()),
        }
        event
    }
}
