//! The checks of version tags: each `refs/tags/<name>/v<version>` is an annotated tag whose commit
//! holds a `prompts/<name>/prompt.yaml` that `fetch` can serve (it parses, follows the rules,
//! and the component files it names are there).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use std::path::Path;

use super::checked;
use super::finding::{Finding, Severity};
use super::listed::Listed;
use crate::model::prompt::PromptFile;
use crate::read::holdings::Holdings;
use crate::read::keyed_lines::KeyedLines;
use crate::store::tags::{Holds, ReleaseTrees, TagObject, TagRef};
use crate::store::{ObjectId, ObjectKind, Store};
use crate::{Error, PromptName, Result, Version};

/// The version tags found: prompt name → version → whether it is a release (annotated).
#[derive(Debug, Default)]
pub(crate) struct Released {
    by_name: HashMap<String, BTreeMap<Version, bool>>,
    /// The checked releases that hold their prompt.yaml: (name, version) → (commit, the
    /// prompt.yaml blob); their content is checked by [`check_contents`]. (The tag ref is
    /// `Version::tag_ref`: only the canonical spelling is a version tag.)
    /// Sorted by key, each key once: a sorted list rather than a map, which would make
    /// 100,000 entries 12 MB larger.
    holding: Vec<Holding>,
    /// When the pass came from the cache ([`super::tag_pass`]): the versions as cached, read
    /// when asked, instead of `by_name`.
    listed: Option<Listed>,
    /// Whether something found rests on an object being absent (a missing tag object, commit
    /// or tree): an object fetched later would change it, so such a pass is not cached.
    pub absent: bool,
}

impl Released {
    /// The versions of `name`, each with whether it is a release (an annotated tag).
    pub fn versions(&self, name: &str) -> Option<Cow<'_, BTreeMap<Version, bool>>> {
        match &self.listed {
            Some(listed) => listed.get(name).map(Cow::Owned),
            None => self.by_name.get(name).map(Cow::Borrowed),
        }
    }

    /// The versions found, by prompt name (unordered); none for a pass from the cache.
    pub fn by_name(&self) -> impl Iterator<Item = (&str, &BTreeMap<Version, bool>)> {
        self.by_name
            .iter()
            .map(|(name, versions)| (name.as_str(), versions))
    }

    /// A pass read from the cache: its versions, and no releases to check the content of (what
    /// checking them found is cached with it).
    pub fn from_listed(listed: Listed) -> Released {
        Released {
            listed: Some(listed),
            ..Released::default()
        }
    }

    /// A pass read from the tags-only cache (see [`super::tag_pass`]): every version tag found
    /// by name, and the releases that hold their prompt.yaml sorted by key.
    pub fn from_parts(
        by_name: HashMap<String, BTreeMap<Version, bool>>,
        holding: Vec<Holding>,
    ) -> Option<Released> {
        let sorted = holding.windows(2).all(|pair| pair[0].0 < pair[1].0);
        sorted.then(|| Released {
            by_name,
            holding,
            ..Released::default()
        })
    }

    /// How many version tags were found.
    pub fn tag_count(&self) -> usize {
        self.by_name.values().map(BTreeMap::len).sum()
    }

    /// Calls `each` with every version tag found, sorted by name then version: (name, version,
    /// whether it is a release, (commit, blob) when it holds its prompt.yaml).
    pub fn each_tag(&self, mut each: impl FnMut(EachTag<'_>)) {
        let mut names: Vec<_> = self.by_name.iter().collect();
        names.sort_unstable_by_key(|(name, _)| name.as_str());
        for (name, versions) in names {
            for (version, annotated) in versions {
                let held = self
                    .holding
                    .binary_search_by(|((n, v), _)| (n.as_str(), v).cmp(&(name.as_str(), version)))
                    .ok()
                    .map(|at| self.holding[at].1);
                each((name.as_str(), version, *annotated, held));
            }
        }
    }

    /// The checked release `key` that holds its prompt.yaml: (commit, blob).
    fn holding_of(&self, key: &(PromptName, Version)) -> Option<&Holding> {
        let at = self.holding.binary_search_by(|(k, _)| k.cmp(key)).ok()?;
        Some(&self.holding[at])
    }

    /// The version `@latest` serves for each checked prompt.
    pub fn latest(&self) -> BTreeSet<(PromptName, Version)> {
        // The keys are sorted by name, then version: each name's versions are one ascending run.
        let keys: Vec<&(PromptName, Version)> = self.holding.iter().map(|(key, _)| key).collect();
        keys.chunk_by(|a, b| a.0 == b.0)
            .filter_map(|run| crate::model::version::latest_by(run, |key| &key.1))
            .map(|key| (*key).clone())
            .collect()
    }
}

/// A version tag as [`Released::each_tag`] lists it: (name, version, whether it is a release,
/// (commit, blob) when it holds its prompt.yaml).
pub(crate) type EachTag<'r> = (&'r str, &'r Version, bool, Option<(ObjectId, ObjectId)>);

/// A checked release holding its prompt.yaml: (name, version) → (commit, blob).
pub(crate) type Holding = ((PromptName, Version), (ObjectId, ObjectId));

/// A version tag: its prompt, version and ref.
struct VersionTag<'t> {
    name: PromptName,
    version: Version,
    tag: &'t TagRef,
}

fn version_tag(tag: &TagRef) -> Option<VersionTag<'_>> {
    let rest = tag.refname.strip_prefix("refs/tags/")?;
    let (name, component) = rest.rsplit_once('/')?;
    Some(VersionTag {
        version: Version::from_tag_component(component)?,
        name: PromptName::parse(name).ok()?,
        tag,
    })
}

/// Every tag ref under `refs/tags/`.
pub(crate) fn all(store: &Store) -> Result<Vec<TagRef>> {
    store.tag_refs("refs/tags/")
}

/// The tag refs of the prompts in `names` (their own, not those of prompts below them).
pub(crate) fn of(store: &Store, names: &BTreeSet<PromptName>) -> Result<Vec<TagRef>> {
    let mut refs = Vec::new();
    for name in names {
        let prefix = name.tag_prefix();
        refs.extend(
            store
                .tag_refs(&prefix)?
                .into_iter()
                .filter(|t| !t.refname[prefix.len()..].contains('/')),
        );
    }
    Ok(refs)
}

/// A lightweight tag shaped like a version, reported by [`report_lightweight`] once the
/// prompts of the checked tree are known.
pub(crate) struct Lightweight {
    pub refname: String,
    pub name: PromptName,
    pub version: Version,
}

/// Checks the version tags among `refs` whose prompt `in_scope` accepts, and returns every
/// version tag found (for the pointer checks) and the lightweight tags to report.
/// `trees` is shared with [`check_contents`]: each release commit's `prompts/` tree is indexed
/// once. A release found in `holdings` is not read at all; one read and found whole is added.
pub(crate) fn check(
    store: &Store,
    trees: &mut ReleaseTrees<'_>,
    holdings: &mut Holdings,
    refs: &[TagRef],
    in_scope: &dyn Fn(&PromptName) -> bool,
    out: &mut Vec<Finding>,
) -> Result<(Released, Vec<Lightweight>)> {
    let mut released = Released::default();
    // (tag, annotated, commit to check): each tag's name and version move on from here into
    // what is found, never copied. Sized once: grown by doubling, 100,000 of them would
    // briefly take twice the room.
    let mut to_check = Vec::with_capacity(refs.len());
    for tag in refs.iter().filter_map(version_tag) {
        let checked = in_scope(&tag.name);
        let (annotated, commit) = match (tag.tag.annotated, tag.tag.peeled) {
            (Some(true), Some(peeled)) => (true, Some(peeled)),
            (Some(false), _) => (false, None),
            _ if !checked => (
                matches!(
                    store.tag_object(tag.tag.target),
                    TagObject::Annotated { .. }
                ),
                None,
            ),
            _ => match store.tag_object(tag.tag.target) {
                TagObject::Missing => {
                    out.push(Finding::error(
                        &tag.tag.refname,
                        None,
                        "bad-tag",
                        format!("its object {} is missing", tag.tag.target),
                    ));
                    (false, None)
                }
                TagObject::Lightweight(_) => (false, None),
                TagObject::Annotated { target, kind } => {
                    if kind.is_some_and(|k| k != ObjectKind::Commit) {
                        out.push(Finding::error(
                            &tag.tag.refname,
                            None,
                            "bad-tag",
                            format!(
                                "the tag points at a {}, not a commit",
                                kind.map_or("missing object".into(), |k| k.to_string())
                            ),
                        ));
                        (true, None)
                    } else {
                        (true, Some(target))
                    }
                }
            },
        };
        // Looked up before it is inserted: 100,000 tags of 10,000 names make 90,000 hits.
        let versions = match released.by_name.get_mut(tag.name.as_str()) {
            Some(versions) => versions,
            None => released.by_name.entry(tag.name.to_string()).or_default(),
        };
        versions.insert(tag.version.clone(), annotated);
        if !checked {
            continue;
        }
        if !annotated {
            // A missing object (a tag object reported above, or a commit) is never annotated.
            match store.object_kind(tag.tag.target) {
                Some(_) => to_check.push((tag, false, None)),
                None => released.absent = true,
            }
        } else if let Some(commit) = commit {
            to_check.push((tag, true, Some(commit)));
        }
    }
    let cached = cached_holdings(holdings, &to_check);
    // Built in bulk at the end (sorted once) rather than by 100,000 inserts.
    let mut holding = Vec::with_capacity(to_check.len());
    let mut lightweight = Vec::new();
    for ((tag, annotated, commit), cached) in to_check.into_iter().zip(cached) {
        if !annotated {
            lightweight.push(Lightweight {
                refname: tag.tag.refname.clone(),
                name: tag.name,
                version: tag.version,
            });
            continue;
        }
        let Some(commit) = commit else { continue };
        if let Some(blob) = cached {
            holding.push(((tag.name, tag.version), (commit, blob)));
            continue;
        }
        // The blob, when the release holds its file; what it holds instead only when not.
        let blob = trees.prompt_file(commit, &tag.name)?;
        let holds = match blob {
            Some(_) => Holds::Prompt,
            None => trees.holds(commit, &tag.name)?,
        };
        match (holds, blob) {
            (Holds::Prompt, Some(blob)) => {
                // A release holding a link cannot be read at all: report that alone.
                if !links(trees, &tag, commit, out)? {
                    holdings.put(tag.tag.target, &tag.name, blob);
                    holding.push(((tag.name, tag.version), (commit, blob)));
                }
            }
            (Holds::Prompt, None) => {}
            // A linked prompt.yaml: say so rather than that there is none.
            (Holds::Nothing, _) if links(trees, &tag, commit, out)? => {}
            (Holds::Nothing, _) => {
                // A tree missing from this clone reads as no `prompts/` at all.
                if !trees.read_prompts_of(commit) {
                    released.absent = true;
                }
                out.push(Finding::error(
                    &tag.tag.refname,
                    None,
                    "tag-without-prompt",
                    format!(
                        "the tagged commit has no {}; a version's content is that file's directory",
                        tag.name.file()
                    ),
                ))
            }
            (Holds::NotACommit, _) => {
                released.absent = true;
                out.push(Finding::error(
                    &tag.tag.refname,
                    None,
                    "bad-tag",
                    format!("it does not point at a commit ({})", commit),
                ))
            }
        }
    }
    // Each key once: one ref name is one (name, version), and the other way round, since only
    // a version's canonical spelling makes a version tag.
    holding.sort_unstable_by(|a: &Holding, b: &Holding| a.0.cmp(&b.0));
    released.holding = holding;
    Ok((released, lightweight))
}

/// Reports the `lightweight` tags [`check`] found: an error for a tag of one of the `prompts`
/// the checked tree holds or of a prompt with releases, a warning for a tag of anything else.
pub(crate) fn report_lightweight(
    lightweight: &[Lightweight],
    prompts: &BTreeSet<PromptName>,
    released: &Released,
    out: &mut Vec<Finding>,
) {
    for tag in lightweight {
        let known = prompts.contains(&tag.name)
            || released
                .versions(tag.name.as_str())
                .is_some_and(|v| v.values().any(|a| *a));
        let (severity, note) = if known {
            (Severity::Error, String::new())
        } else {
            (
                Severity::Warning,
                format!(" (there is no prompt `{}`; if this tag is not meant as one of its versions, ignore this)", tag.name),
            )
        };
        out.push(Finding::new(
            &tag.refname,
            None,
            severity,
            "lightweight-tag",
            format!(
                "`{}` is a lightweight tag; a version is an annotated tag (`promptreg create` makes them){note}",
                tag.version.tag_name(&tag.name)
            ),
        ));
    }
}

/// What `holdings` knows of each release in `to_check` (by position). An annotated tag's target
/// is its tag object: what it holds never changes. The lookups are made in the order of the
/// tag ids, which is the order of the holdings' lines, so that 100,000 of them read the entry
/// from front to back instead of jumping about its 9 MB (a third of the time).
fn cached_holdings(
    holdings: &Holdings<'_>,
    to_check: &[(VersionTag<'_>, bool, Option<ObjectId>)],
) -> Vec<Option<ObjectId>> {
    let mut cached = vec![None; to_check.len()];
    if holdings.is_empty() {
        return cached;
    }
    // The ids beside their positions, sorted as one flat array (not through the references).
    let mut order: Vec<(ObjectId, usize)> = to_check
        .iter()
        .enumerate()
        .filter(|(_, (_, annotated, commit))| *annotated && commit.is_some())
        .map(|(at, (tag, ..))| (tag.tag.target, at))
        .collect();
    order.sort_unstable();
    for (target, at) in order {
        cached[at] = holdings.get(target, &to_check[at].0.name);
    }
    cached
}

/// Reports a symbolic link or submodule in a release's prompt directory (reading the release
/// refuses it, so the version can never be fetched or rendered); whether there was one.
fn links(
    trees: &mut ReleaseTrees<'_>,
    tag: &VersionTag<'_>,
    commit: ObjectId,
    out: &mut Vec<Finding>,
) -> Result<bool> {
    if let Some((path, reason)) = trees.first_link(commit, &tag.name)? {
        out.push(Finding::error(
            &tag.tag.refname,
            None,
            "tag-symlink",
            format!(
                "the release holds `{path}` as {reason}; a release is read as regular files only, so this version cannot be fetched"
            ),
        ));
        return Ok(true);
    }
    Ok(false)
}

/// Checks the content of the releases `wanted` names (`None`: all) among those `check` found
/// holding their prompt.yaml: it must parse, follow the rules and name component files that
/// are there, as `fetch` needs. Parsing costs ~20–40 µs a release, so a run over everything checks what is
/// served (see `validate`), and a run over some prompts checks all their releases.
///
/// The releases are taken in batches: their blobs are read here (the repository is one
/// thread's), each distinct blob is parsed once, on several threads when there are many, and
/// the findings come out in the releases' order, as one thread would write them.
///
/// `fine` are blobs known to parse, follow the rules and name no component (the checked
/// tree's prompt.yaml files that do): not parsed again.
pub(crate) fn check_contents(
    store: &Store,
    released: &Released,
    wanted: Option<&BTreeSet<(PromptName, Version)>>,
    fine: &[ObjectId],
    checks: &mut KeyedLines,
    out: &mut Vec<Finding>,
) -> Result<()> {
    // prompt.yaml blob → what parsing it said: a blob parses the same in every release that
    // holds it (and, but for a problem's words, which name the file, under every name).
    let mut parsed: HashMap<ObjectId, Parsed> = fine.iter().map(|id| (*id, Parsed::Fine)).collect();
    let mut batch: Vec<Release<'_>> = Vec::new();
    let mut unparsed: Vec<Unparsed> = Vec::new();
    // Blobs queued for parsing in this batch, with the name their outcome is cached under.
    let mut pending: HashMap<ObjectId, &PromptName> = HashMap::new();
    // In the order of `holding` either way; over everything only the wanted (the served and
    // the latest, some 20,000 of 100,000) are looked at, not each one tested.
    let releases: Box<dyn Iterator<Item = _>> = match wanted {
        None => Box::new(released.holding.iter()),
        Some(wanted) => Box::new(wanted.iter().filter_map(|key| released.holding_of(key))),
    };
    let mut releases = releases.peekable();
    while releases.peek().is_some() {
        for ((name, version), (commit, blob)) in releases.by_ref().take(BATCH) {
            let blob = *blob;
            if !parsed.contains_key(&blob) && !pending.contains_key(&blob) {
                match checked::release_get(checks, blob, name) {
                    Some(None) => {
                        parsed.insert(blob, Parsed::Fine);
                    }
                    Some(Some(problem)) => {
                        parsed.insert(blob, Parsed::Problem(problem));
                    }
                    None => {
                        pending.insert(blob, name);
                        unparsed.push((blob, name.clone(), store.blob(blob)?));
                    }
                }
            }
            batch.push(Release {
                name,
                version,
                commit: *commit,
                blob,
            });
        }
        for (blob, outcome) in parse_all(std::mem::take(&mut unparsed)) {
            let outcome = outcome?;
            let problem = match &outcome {
                Parsed::Fine => Some(None),
                Parsed::Problem(problem) => Some(Some(problem.as_str())),
                Parsed::Components(_) => None, // The answer depends on the commit.
            };
            if let (Some(problem), Some(name)) = (problem, pending.get(&blob)) {
                checked::release_put(checks, blob, name, problem);
            }
            parsed.insert(blob, outcome);
        }
        pending.clear();
        for release in batch.drain(..) {
            if let Some(problem) = release_problem(store, &parsed, &release)? {
                out.push(Finding::error(
                    release.version.tag_ref(release.name),
                    None,
                    "tag-invalid-prompt",
                    format!(
                        "{problem}; `fetch` cannot serve this version, and `promote` refuses it"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// How many releases [`check_contents`] reads before it parses them.
const BATCH: usize = 4096;

/// How many blobs make it worth parsing them on several threads.
const PARALLEL_FROM: usize = 64;

/// A release whose content is checked.
struct Release<'a> {
    name: &'a PromptName,
    version: &'a Version,
    commit: ObjectId,
    /// Its prompt.yaml.
    blob: ObjectId,
}

/// What parsing a prompt.yaml blob said.
enum Parsed {
    /// It parses, follows the rules and names no component file: servable.
    Fine,
    /// It does not parse or breaks a rule: the problem in words.
    Problem(String),
    /// It parses and follows the rules, and names component files, which live beside it: the
    /// answer depends on the commit.
    Components(Box<PromptFile>),
}

/// A blob to parse: its id, the prompt it is read as, its bytes.
type Unparsed = (ObjectId, PromptName, Vec<u8>);

/// Parses each `(blob, name, bytes)`, in order, on several threads when there are many.
fn parse_all(blobs: Vec<Unparsed>) -> Vec<(ObjectId, Result<Parsed>)> {
    let parse = |(blob, name, bytes): &Unparsed| {
        let file = name.file();
        let outcome = match PromptFile::parse(bytes, Path::new(&file)) {
            Ok(prompt) if prompt.component_paths().next().is_none() => Ok(Parsed::Fine),
            Ok(prompt) => Ok(Parsed::Components(Box::new(prompt))),
            Err(e) => describe(&file, e).map(Parsed::Problem),
        };
        (*blob, outcome)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if blobs.len() < PARALLEL_FROM || threads < 2 {
        return blobs.iter().map(parse).collect();
    }
    let chunk = blobs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = blobs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(parse).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Why `release` cannot be served although it holds `prompts/<name>/prompt.yaml`: the file does
/// not parse or breaks a rule, or a component it names cannot be read. What `fetch` does,
/// without its caches.
fn release_problem(
    store: &Store,
    parsed: &HashMap<ObjectId, Parsed>,
    release: &Release<'_>,
) -> Result<Option<String>> {
    let prompt = match parsed.get(&release.blob) {
        None | Some(Parsed::Fine) => return Ok(None),
        Some(Parsed::Problem(problem)) => return Ok(Some(problem.clone())),
        Some(Parsed::Components(prompt)) => prompt,
    };
    let (name, commit) = (release.name, release.commit);
    let file = name.file();
    // Components live beside the file, so the answer depends on the commit, not only the blob.
    let tree = store
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(Error::git(format!(
            "cannot read the tree of commit {commit}"
        )))?;
    let Some(dir) = store.prompt_tree(&tree, name)? else {
        return Ok(None);
    };
    match prompt.resolve(&store.tree_components(dir, name)) {
        Ok(_) => Ok(None),
        Err(e) => describe(&file, e).map(Some),
    }
}

/// A release's prompt problem in words; errors that are not about the content pass through.
fn describe(file: &str, error: Error) -> Result<String> {
    Ok(match error {
        Error::Yaml {
            line,
            column,
            message,
            ..
        } => format!("its {file} does not parse: line {line}, column {column}: {message}"),
        Error::Invalid {
            file: shown,
            message,
        } if shown.as_os_str() == file => {
            format!("its {file} breaks a rule: {message}")
        }
        Error::TooLarge {
            file: shown,
            size,
            limit,
        } if shown.as_os_str() == file => {
            format!(
                "its {file} breaks a rule: {}",
                crate::error::too_large(size, limit)
            )
        }
        e @ (Error::Git { .. } | Error::Io { .. }) => return Err(e),
        other => format!("a file its {file} names cannot be read: {other}"),
    })
}
