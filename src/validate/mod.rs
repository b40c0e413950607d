//! `validate`: everything that can be wrong in a registry, found without changing anything.
//!
//! It checks the working tree or the index (what a pre-commit hook must check): every
//! `prompt.yaml` (schema, rules, names and layout, component files, templates, the variable
//! contract, the token budget), `registry.yaml` (format and pointers to released versions),
//! the results files under `results/`, and every version tag (annotated, and holding its
//! prompt). Given paths, it checks only the prompts
//! those paths belong to, their tags, and `registry.yaml` if it is one of them.
//!
//! Findings carry a file, a position where there is one, a severity and a stable code; nothing
//! here prints. The one thing written is promptreg's cache under `.git/promptreg/`: which
//! `prompt.yaml` each release's tag object holds ([`crate::read::holdings`]), so the next run
//! checks 100,000 tags without reading their trees, and what each prompt directory's checks
//! found, keyed by its files ([`checked`]). The repository itself is never changed.

mod checked;
mod files;
mod finding;
mod listed;
mod positions;
mod prompt;
mod registry;
mod results;
mod tag_pass;
mod tags;

use std::collections::BTreeSet;

pub use finding::{Finding, Report, Severity, CODES};

use crate::read::holdings::Holdings;
use crate::read::keyed_lines::KeyedLines;
use crate::store::{IndexStat, ObjectId, Store};
use crate::{PromptName, Result, Version, PROMPTS_DIR, PROMPT_FILE, REGISTRY_FILE};
use files::{Entry, Files, Kind};

/// Which content to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The files in the working tree.
    WorkTree,
    /// The index: what the next commit will hold.
    Index,
}

/// What to check.
#[derive(Clone, Debug)]
pub struct Options {
    pub source: Source,
    /// Repository-relative, `/`-separated paths: check only the prompts they belong to (and
    /// `registry.yaml` if listed). `None`: everything.
    pub paths: Option<Vec<String>>,
}

/// Checks the registry in `store`.
pub fn validate(store: &Store, options: &Options) -> Result<Report> {
    let files = match options.source {
        Source::WorkTree => Files::work_tree(store)?,
        Source::Index => Files::index(store)?,
    };
    let paths = options.paths.as_deref();
    let everything = paths.is_none();
    // The prompts' checks (reading and parsing each prompt.yaml, compiling and rendering its
    // templates) and those of the tags and registry.yaml (reading release trees, parsing the
    // index) share nothing: over many prompts of the working tree they run at once, the prompts
    // split between threads. Over the whole working tree the walk that finds the prompts runs
    // beside the tags' checks too. The findings are the same as one thread's (and sorted).
    let (walked, checks, checked, tagged) = match files.shareable() {
        Some(root) if everything => {
            // The walk starts at once; the cache of checks and git's index, which the prompts'
            // checks need once it is done, are loaded meanwhile here (the repository is this
            // thread's) and sent over.
            // How many prompts there are is not known before the walk: a whole run is many.
            let load = || (checked::open(store, usize::MAX), store.index_stat());
            let (send, receive) = std::sync::mpsc::channel::<(KeyedLines, Option<IndexStat>)>();
            let (prompts, tagged) = std::thread::scope(|scope| {
                let prompts =
                    scope.spawn(move || -> Result<(Walked, Option<(KeyedLines, Checked)>)> {
                        let files = Files::WorkTree { root };
                        let walked = walk(&files, None)?;
                        // The other side sends before anything else it does: nothing
                        // arrives only if it panicked first (the scope then raises that
                        // panic), so the checks below the scope are a fallback only.
                        let Ok((checks, index)) = receive.recv() else {
                            return Ok((walked, None));
                        };
                        let checked =
                            check_prompts_shared(&files, &walked, &checks, index.as_ref())?;
                        Ok((walked, Some((checks, checked))))
                    });
                let _ = send.send(load());
                let tagged = check_tags(store, &files, None, None);
                (join(prompts), tagged)
            });
            let (walked, checks, checked) = match prompts? {
                (walked, Some((checks, checked))) => (walked, checks, checked),
                (walked, None) => {
                    let (checks, index) = load();
                    let checked = check_prompts(
                        &files,
                        &walked.layout.prompts,
                        &walked.entries,
                        &checks,
                        index.as_ref(),
                    )?;
                    (walked, checks, checked)
                }
            };
            (walked, checks, checked, tagged?)
        }
        shared => {
            let walked = walk(&files, paths)?;
            let count = walked.layout.prompts.len();
            let checks = checked::open(store, count);
            // Over many prompts of the working tree, git's index says which files are unchanged
            // since git hashed them (as `git status` knows): those are keyed by its record, not
            // read. Over a few, reading them costs less than loading the index.
            let index = match options.source {
                Source::WorkTree if count >= INDEX_FROM => store.index_stat(),
                _ => None,
            };
            let (checked, tagged) = match shared {
                Some(root) if count >= PARALLEL_FROM => std::thread::scope(|scope| {
                    let (walked, checks, index) = (&walked, &checks, index.as_ref());
                    let prompts = scope.spawn(move || {
                        check_prompts_shared(&Files::WorkTree { root }, walked, checks, index)
                    });
                    let tagged = check_tags(store, &files, paths, Some(walked));
                    (join(prompts), tagged)
                }),
                _ => {
                    let layout = &walked.layout;
                    let found = check_prompts(
                        &files,
                        &layout.prompts,
                        &walked.entries,
                        &checks,
                        index.as_ref(),
                    );
                    let tagged = check_tags(store, &files, paths, Some(&walked));
                    (found, tagged)
                }
            };
            (walked, checks, checked?, tagged?)
        }
    };
    let mut checks = checks;
    let mut out = walked.findings;
    let layout = walked.layout;
    let (findings, fine, learned) = checked;
    out.extend(findings);
    for (key, line) in learned {
        checks.put(&key, &line);
    }
    let TagSide {
        findings: mut pass_out,
        released,
        served,
        lightweight,
        pass,
    } = tagged;
    if let Pass::Made { key, tags_found } = pass {
        // Whether each release's prompt.yaml can be served. Over everything, what is served
        // now — the versions the pointers name and each prompt's `@latest` — since parsing
        // every one of 100,000 releases would multiply the run's time; over some prompts, all
        // of their releases. `promote` and `rollback` check the version they move to in any
        // case.
        let wanted = everything.then(|| {
            let mut wanted = released.latest();
            wanted.extend(served);
            wanted
        });
        tags::check_contents(
            store,
            &released,
            wanted.as_ref(),
            &fine,
            &mut checks,
            &mut pass_out,
        )?;
        if let Some(key) = key {
            let made = tag_pass::Made {
                findings: &pass_out,
                tags: tags_found.map(|count| &pass_out[..count]),
                lightweight: &lightweight,
                released: &released,
            };
            tag_pass::save(store, &key, made);
        }
    }
    if !lightweight.is_empty() {
        tags::report_lightweight(&lightweight, &names_of(&layout), &released, &mut out);
    }
    out.extend(pass_out);
    checks.save(store);
    if everything
        || options
            .paths
            .iter()
            .flatten()
            .any(|p| p.starts_with("results/"))
    {
        results::check(&files, &released, &mut out)?;
    }
    let mut report = Report {
        findings: out,
        prompts: layout.count,
    };
    report.sort();
    Ok(report)
}

/// What the walk of the prompts found.
struct Walked {
    /// Every file and link under `prompts/` (or the prompts the paths belong to), sorted.
    entries: Vec<(String, Entry)>,
    layout: Layout,
    /// What the layout breaks (links, special files, bad names, nested prompts).
    findings: Vec<Finding>,
    /// Whether `registry.yaml` is checked: over everything, or when it is one of the paths.
    check_registry: bool,
}

/// Finds the prompts to check: all of them, or those `paths` belong to.
fn walk(files: &Files<'_>, paths: Option<&[String]>) -> Result<Walked> {
    let (entries, check_registry) = match paths {
        None => (gather_all(files)?, true),
        Some(paths) => gather_paths(files, paths)?,
    };
    let mut findings = Vec::new();
    let layout = layout(&entries, &mut findings);
    Ok(Walked {
        entries,
        layout,
        findings,
        check_registry,
    })
}

/// The names of the prompts in `layout`.
fn names_of(layout: &Layout) -> BTreeSet<PromptName> {
    layout
        .prompts
        .iter()
        .filter_map(|d| d.name.clone())
        .collect()
}

/// The tags' checks, then registry.yaml's pointers to them: what was released, the versions
/// the pointers serve, and the lightweight tags to report. `walked` is what the walk found,
/// `None` over the whole working tree, whose tags are checked while it is walked: every tag is
/// then in scope, and only the lightweight ones need the prompts' names, reported after.
///
/// Over everything, a pass over the same refs, index and build is read from the cache (see
/// [`tag_pass`]), findings of the releases' contents included; one over the same refs and
/// build under another index takes the tags' part from the cache.
fn check_tags(
    store: &Store,
    files: &Files<'_>,
    paths: Option<&[String]>,
    walked: Option<&Walked>,
) -> Result<TagSide> {
    let mut out = Vec::new();
    let everything = paths.is_none();
    let names = walked.map(|w| names_of(&w.layout)).unwrap_or_default();
    let check_registry = walked.is_none_or(|w| w.check_registry);
    let registry = if check_registry {
        Some(files.registry()?)
    } else {
        None
    };
    let key = match &registry {
        Some(content) if everything => tag_pass::key(store, content.as_ref()),
        _ => None,
    };
    if let Some(cached) = key.as_ref().and_then(|key| tag_pass::load(store, key)) {
        return Ok(TagSide {
            findings: cached.findings,
            released: cached.released,
            served: Served::new(),
            lightweight: cached.lightweight,
            pass: Pass::Cached,
        });
    }
    // The same refs under another registry.yaml (a pull that moved pointers): the tags' part
    // alone is cached, keyed by the refs and the build.
    let cached_tags = key.as_ref().and_then(|key| tag_pass::load_tags(store, key));
    let (released, lightweight, tags_found) = match cached_tags {
        Some(cached) => {
            out = cached.findings;
            (cached.released, cached.lightweight, None)
        }
        None => {
            let refs = if everything || check_registry {
                tags::all(store)?
            } else {
                tags::of(store, &names)?
            };
            let in_scope = |name: &PromptName| everything || names.contains(name);
            let mut trees = store.release_trees()?;
            let mut holdings = Holdings::open(store, refs.len());
            let (released, lightweight) =
                tags::check(store, &mut trees, &mut holdings, &refs, &in_scope, &mut out)?;
            holdings.save();
            (released, lightweight, Some(out.len()))
        }
    };
    let served = match &registry {
        Some(content) => registry::check(content.as_ref(), &released, &mut out),
        None => BTreeSet::new(),
    };
    Ok(TagSide {
        findings: out,
        released,
        served,
        lightweight,
        pass: Pass::Made { key, tags_found },
    })
}

/// What the tag side found, for the rest of the run.
struct TagSide {
    /// All but the lightweight tags: of the tags, then the pointers (then, when cached whole,
    /// the releases' contents).
    findings: Vec<Finding>,
    released: tags::Released,
    served: Served,
    lightweight: Vec<tags::Lightweight>,
    pass: Pass,
}

/// Where the tag side's findings came from.
enum Pass {
    /// Made by this run; cached under the key (over everything) once the releases' contents
    /// are checked too, and its tags' part with it when `tags_found` (how many of the findings
    /// come first from checking the tags) says this run checked them.
    Made {
        key: Option<tag_pass::Key>,
        tags_found: Option<usize>,
    },
    /// From the cache, the contents' findings with them.
    Cached,
}

/// The versions registry.yaml's pointers serve.
type Served = BTreeSet<(PromptName, Version)>;

/// [`check_prompts`] of what `walked` found in the working tree at `files`, split between the
/// machine's threads (this one and more) when there are many.
fn check_prompts_shared(
    files: &Files<'_>,
    walked: &Walked,
    checks: &KeyedLines,
    index: Option<&IndexStat>,
) -> Result<Checked> {
    let dirs = &walked.layout.prompts;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (Some(root), true) = (
        files.shareable(),
        dirs.len() >= PARALLEL_FROM && threads > 1,
    ) else {
        return check_prompts(files, dirs, &walked.entries, checks, index);
    };
    let chunk = dirs.len().div_ceil(threads);
    let mut parts = dirs.chunks(chunk);
    let first = parts.next().unwrap_or_default();
    let results: Vec<Result<Checked>> = std::thread::scope(|scope| {
        let others: Vec<_> = parts
            .map(|part| {
                let (root, entries) = (root.clone(), &walked.entries);
                scope.spawn(move || {
                    check_prompts(&Files::WorkTree { root }, part, entries, checks, index)
                })
            })
            .collect();
        let mut results = vec![check_prompts(files, first, &walked.entries, checks, index)];
        results.extend(others.into_iter().map(join));
        results
    });
    let (mut findings, mut fine, mut learned) = (Vec::new(), Vec::new(), Vec::new());
    for result in results {
        let (f, s, l) = result?;
        findings.extend(f);
        fine.extend(s);
        learned.extend(l);
    }
    Ok((findings, fine, learned))
}

/// The result of a scoped thread; its panic goes on in this one.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// How many prompts make it worth checking them on several threads.
const PARALLEL_FROM: usize = 64;

/// How many prompts make loading git's index cost less than reading their files: an index of
/// 10,000 entries takes about 20 ms, the time of reading and hashing some 500 small files.
const INDEX_FROM: usize = 256;

/// What [`check_prompts`] found: findings, servable blobs, and the lines to cache (key, value).
type Checked = (Vec<Finding>, Vec<ObjectId>, Vec<(String, String)>);

/// The findings of the prompts in `dirs`, in order, the blobs of their prompt.yaml files that
/// are servable as they are (see [`prompt::check`]), and what to add to the cache of checks:
/// a directory found in `cache` (by the hash of its files, see [`checked`]) is not checked
/// again.
fn check_prompts(
    files: &Files<'_>,
    dirs: &[PromptDir],
    entries: &[(String, Entry)],
    cache: &KeyedLines,
    index: Option<&IndexStat>,
) -> Result<Checked> {
    let mut out = Vec::new();
    let mut fine = Vec::new();
    let mut learned = Vec::new();
    for dir in dirs {
        let (start, end) = dir.range;
        let dir_entries = &entries[start..end];
        let key = checked::key(files, &dir.dir, dir_entries, index);
        if let Some(known) = key.as_deref().and_then(|key| checked::get(cache, key)) {
            out.extend(known.findings);
            fine.extend(known.fine);
            continue;
        }
        let (out_from, fine_from) = (out.len(), fine.len());
        prompt::check(files, &dir.dir, dir_entries, &mut out, &mut fine)?;
        let outcome = checked::Outcome {
            findings: out[out_from..].to_vec(),
            fine: fine[fine_from..].to_vec(),
        };
        if let (Some(key), Some(line)) = (key, checked::encode(&outcome)) {
            learned.push((key, line));
        }
    }
    Ok((out, fine, learned))
}

/// Every file and link under `prompts/`.
fn gather_all(files: &Files<'_>) -> Result<Vec<(String, Entry)>> {
    if let Some(entry) = files.entry(PROMPTS_DIR)? {
        // `prompts` itself is a link or a file: reported, not followed.
        return Ok(vec![(PROMPTS_DIR.to_owned(), entry)]);
    }
    files.walk(PROMPTS_DIR)
}

/// The files of the prompts `paths` belong to, and whether `registry.yaml` is among them.
fn gather_paths(files: &Files<'_>, paths: &[String]) -> Result<(Vec<(String, Entry)>, bool)> {
    let mut registry = false;
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let mut entries = Vec::new();
    let prompts_entry = files.entry(PROMPTS_DIR)?;
    for path in paths {
        if path == REGISTRY_FILE {
            registry = true;
            continue;
        }
        let Some(rest) = path.strip_prefix(&format!("{PROMPTS_DIR}/")) else {
            continue;
        };
        if let Some(entry) = prompts_entry {
            entries.push((PROMPTS_DIR.to_owned(), entry));
            continue;
        }
        let mut current = PROMPTS_DIR.to_owned();
        for part in rest.split('/').filter(|p| !p.is_empty()) {
            current = format!("{current}/{part}");
            match files.entry(&current)? {
                Some(entry) => {
                    // A link on the way, or the file itself (`prompts/prompt.yaml` included).
                    if entry.kind != Kind::File || current == format!("{PROMPTS_DIR}/{PROMPT_FILE}")
                    {
                        entries.push((current.clone(), entry));
                    }
                    break;
                }
                None => {
                    if files.entry(&format!("{current}/{PROMPT_FILE}"))?.is_some() {
                        dirs.insert(current.clone());
                        break;
                    }
                }
            }
        }
    }
    // A directory inside another one listed is walked with it.
    let mut walked: Vec<&String> = Vec::new();
    for dir in &dirs {
        if walked
            .iter()
            .any(|outer| dir.starts_with(outer.as_str()) && dir.as_bytes()[outer.len()] == b'/')
        {
            continue;
        }
        entries.extend(files.walk(dir)?);
        walked.push(dir);
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|a, b| a.0 == b.0);
    Ok((entries, registry))
}

/// A prompt directory to check.
struct PromptDir {
    /// `prompts/<name>`.
    dir: String,
    /// `None` when the path is not a valid name.
    name: Option<PromptName>,
    /// Its entries: `entries[range.0..range.1]`.
    range: (usize, usize),
}

struct Layout {
    /// Prompts not inside another prompt.
    prompts: Vec<PromptDir>,
    /// Every `prompt.yaml` found.
    count: usize,
}

/// Finds the prompt directories among `entries` (sorted) and reports links, special files,
/// conflicts, bad names and nested prompts.
fn layout(entries: &[(String, Entry)], out: &mut Vec<Finding>) -> Layout {
    let suffix = format!("/{PROMPT_FILE}");
    let mut dirs: Vec<&str> = Vec::new();
    let mut count = 0;
    for (path, entry) in entries {
        match entry.kind {
            Kind::Symlink => out.push(Finding::error(
                path,
                None,
                "symlink",
                "is a symbolic link; prompts/ must hold regular files and directories only",
            )),
            Kind::Other => out.push(Finding::error(
                path,
                None,
                "not-a-file",
                "is neither a regular file nor a directory (a submodule, FIFO or device)",
            )),
            Kind::Unmerged => out.push(Finding::error(
                path,
                None,
                "unmerged",
                "has an unresolved merge conflict",
            )),
            Kind::File if path == PROMPTS_DIR => out.push(Finding::error(
                path,
                None,
                "not-a-file",
                "prompts must be a directory",
            )),
            Kind::File => {}
        }
        if path == &format!("{PROMPTS_DIR}/{PROMPT_FILE}") {
            count += 1;
            out.push(Finding::error(
                path,
                None,
                "bad-name",
                "a prompt lives in prompts/<name>/prompt.yaml, not directly in prompts/",
            ));
        } else if let Some(dir) = path.strip_suffix(&suffix) {
            dirs.push(dir);
        }
    }
    dirs.sort_unstable();
    let all: std::collections::HashSet<&str> = dirs.iter().copied().collect();
    let mut prompts: Vec<PromptDir> = Vec::new();
    for dir in &dirs {
        let dir = *dir;
        // The outermost prompt directory above this one, if any.
        let outer = dir
            .match_indices('/')
            .map(|(i, _)| &dir[..i])
            .filter(|ancestor| ancestor.len() > PROMPTS_DIR.len())
            .find(|ancestor| all.contains(ancestor));
        if let Some(outer) = outer {
            out.push(Finding::error(
                format!("{dir}{suffix}"),
                None,
                "nested-prompt",
                format!(
                    "prompt `{}` is inside prompt `{}`; a prompt directory cannot hold another prompt",
                    &dir[PROMPTS_DIR.len() + 1..],
                    &outer[PROMPTS_DIR.len() + 1..]
                ),
            ));
            continue;
        }
        let relative = &dir[PROMPTS_DIR.len() + 1..];
        let name = match PromptName::parse(relative) {
            Ok(name) => Some(name),
            Err(e) => {
                let reason = match &e {
                    crate::Error::InvalidName { reason, .. } => reason.clone(),
                    other => other.to_string(),
                };
                out.push(Finding::error(
                    format!("{dir}{suffix}"),
                    None,
                    "bad-name",
                    format!("`{relative}` is not a valid prompt name: {reason}"),
                ));
                None
            }
        };
        let prefix = format!("{dir}/");
        let start = entries.partition_point(|(p, _)| p.as_str() < prefix.as_str());
        let end = start + entries[start..].partition_point(|(p, _)| p.starts_with(&prefix));
        prompts.push(PromptDir {
            dir: dir.to_owned(),
            name,
            range: (start, end),
        });
    }
    Layout {
        prompts,
        count: count + dirs.len(),
    }
}
