//! `promptreg serve`: a read-mostly HTTP API over the committed state of one branch.
//!
//! The branch tip is kept in memory with a stamp of the ref's files (`state.rs`); every request
//! `stat`s them and reads the ref again only when they changed, and fingerprints the prompt's
//! version tags the same way (the stamps of `packed-refs` and `refs/tags/<name>/`). Responses
//! are cached in memory under (tip, fingerprint, route, name and parsed parameters), within a
//! byte budget ([`CACHE_BUDGET`]), so a promotion by the CLI, a `git pull` or a new tag shows
//! on the next request and no request can grow the cache beyond its budget. A cached answer is
//! served on the connection's own task; Git work (a miss, an unsettled ref) is blocking and runs
//! on tokio's blocking pool (at most [`BLOCKING_THREADS`] threads), with one repository handle
//! per pool thread for reads and a fresh one for each write.
//!
//! The library never prints: status lines go through [`Config::notify`] and access-log lines
//! to [`Config::access_log`].

mod access_log;
mod auth;
mod cache;
mod connections;
mod cors;
mod csrf;
mod error;
mod events;
mod health;
mod merge;
mod query;
mod read;
mod response;
mod routes;
mod state;
mod sync;
mod ui;
mod watch;
mod write;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;

use crate::store::identity::Signatures;
use crate::store::{ObjectId, Store};

pub use auth::{load_tokens, TokenIdentity};
pub use cache::CACHE_BUDGET;
pub use cors::parse_origin;
pub use error::ApiError;
pub use sync::{check_remote, RemoteProblem};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1 << 20;
/// Longest a request may take, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most threads doing Git work at once: a flood of requests queues instead of growing one
/// thread (with its own repository handle and buffers) per request.
pub const BLOCKING_THREADS: usize = 32;
/// How long SIGTERM waits for open requests (a second signal stops waiting); whatever still
/// runs on the blocking pool after that is abandoned when the process exits.
pub const SHUTDOWN_GRACE: Duration = REQUEST_TIMEOUT;

/// Resolves the server's own Git identity (for `--allow-local-writes`).
pub type IdentityFn = Arc<dyn Fn(&Store) -> crate::Result<Signatures> + Send + Sync>;

/// Receives status lines (startup, sync failures).
pub type NotifyFn = Arc<dyn Fn(&str) + Send + Sync>;

/// Background `git fetch` + fast-forward.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    pub remote: String,
    pub interval: Duration,
}

/// How to run the server.
pub struct Config {
    /// Where to discover the repository from.
    pub repo: PathBuf,
    pub addr: SocketAddr,
    /// The full name of the served ref (`refs/heads/main`); see [`resolve_ref`].
    pub refname: String,
    /// Bearer token → identity; empty: no token is accepted.
    pub tokens: BTreeMap<String, TokenIdentity>,
    /// Tokens that may read (`--read-tokens`); not empty: every read but `/healthz` needs one
    /// of these or of [`Config::tokens`].
    pub read_tokens: BTreeMap<String, TokenIdentity>,
    /// The origins `--cors` lets browser pages read and write from, as [`parse_origin`] gives
    /// them; empty: no CORS header is sent.
    pub cors: Vec<String>,
    /// Writes without a token, as [`Config::local_identity`] (loopback addresses only).
    pub local_identity: Option<IdentityFn>,
    pub access_log: Box<dyn Write + Send>,
    pub sync: Option<SyncConfig>,
    pub notify: NotifyFn,
    /// Bytes the response cache may hold ([`CACHE_BUDGET`] by default; 0 disables it).
    pub cache_budget: usize,
    /// Serve the web UI's pages (`serve --ui`, the default; `--no-ui` turns them off).
    pub ui: bool,
}

/// The served ref's full name, and whether it is the branch HEAD points at (writes go there).
/// `None` serves HEAD's branch.
pub fn resolve_ref(store: &Store, reference: Option<&str>) -> anyhow::Result<(String, bool)> {
    let head = store.head_branch().ok().map(|(branch, _)| branch);
    let refname = match reference {
        None => head
            .clone()
            .context("HEAD is detached; name a branch with --ref")?,
        Some(r) => {
            let candidates = [
                r.to_owned(),
                format!("refs/heads/{r}"),
                format!("refs/remotes/{r}"),
                format!("refs/tags/{r}"),
            ];
            candidates
                .into_iter()
                .find(|c| c.starts_with("refs/") && matches!(store.ref_target(c), Ok(Some(_))))
                .with_context(|| format!("--ref `{r}` is not a branch or other ref"))?
        }
    };
    store
        .ref_target(&refname)
        .ok()
        .flatten()
        .with_context(|| format!("`{refname}` has no commit yet"))?;
    let is_head = head.as_deref() == Some(refname.as_str());
    Ok((refname, is_head))
}

/// What every request shares.
pub(crate) struct Shared {
    pub repo: PathBuf,
    pub refname: String,
    pub tokens: BTreeMap<String, TokenIdentity>,
    pub read_tokens: BTreeMap<String, TokenIdentity>,
    pub cors: Vec<String>,
    pub local_identity: Option<IdentityFn>,
    pub cache: cache::ResponseCache,
    /// The served ref's tip as last read, and when to read it again.
    pub state: state::ServedState,
    /// The last `/healthz` verdict and the tip it was made for.
    pub health: Mutex<Option<(ObjectId, Result<(), ApiError>)>>,
    /// How the server's own paths are shown in error bodies.
    pub redact: error::Redact,
    pub notify: NotifyFn,
    /// Where access-log lines go; `None`: nowhere.
    log: Option<Arc<access_log::LogBuffer>>,
    /// The served tip as the refs watch publishes it: what long polls wait on.
    pub tips: watch::Tips,
    /// The environments' changes, for `/api/events`.
    pub events: events::EventHub,
    /// Set once the server begins to shut down: long polls answer and event streams end.
    pub stop: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    pub fn log(&self, line: &str) {
        if let Some(buffer) = &self.log {
            buffer.push(line);
        }
    }

    pub fn writes_enabled(&self) -> bool {
        !self.tokens.is_empty() || self.local_identity.is_some()
    }
}

thread_local! {
    /// One repository handle per blocking-pool thread, for reads (refs are re-read from disk on
    /// every lookup, so a long-lived handle sees new commits and tags).
    static READER: std::cell::RefCell<Option<(PathBuf, Store)>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with this thread's read handle on the repository at `repo`.
pub(crate) fn with_reader<T>(
    repo: &Path,
    f: impl FnOnce(&Store) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    READER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(path, _)| path != repo) {
            *slot = Some((repo.to_owned(), Store::discover(repo)?));
        }
        let (_, store) = slot.as_ref().expect("just set");
        f(store)
    })
}

/// The server's routes over the repository at `repo`, serving `refname`, read-only (no tokens, no
/// local identity) and without an access log or listener: for driving the API in process, as the
/// fuzz targets do (`fuzz/`, `tests/fuzz.rs`).
pub fn read_only_router(repo: PathBuf, refname: String) -> axum::Router {
    read_only_router_with(repo, refname, false)
}

/// [`read_only_router`], with the web UI's pages when `ui` (tests/cli/ui.rs).
pub fn read_only_router_with(repo: PathBuf, refname: String, ui: bool) -> axum::Router {
    routes::router(
        Arc::new(Shared {
            state: state::ServedState::new(&repo, &refname),
            repo,
            refname,
            tokens: BTreeMap::new(),
            read_tokens: BTreeMap::new(),
            cors: Vec::new(),
            local_identity: None,
            cache: cache::ResponseCache::new(cache::CACHE_BUDGET),
            health: Mutex::new(None),
            redact: error::Redact::default(),
            notify: Arc::new(|_: &str| {}),
            log: None,
            // No watch: a long poll waits out its time.
            tips: tokio::sync::watch::channel(None).1,
            events: events::EventHub::default(),
            stop: tokio::sync::watch::channel(false).0,
        }),
        ui,
    )
}

/// Runs the server until SIGINT or SIGTERM, then finishes in-flight requests and returns.
pub fn run(config: Config) -> anyhow::Result<()> {
    connections::raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .context("cannot start the async runtime")?;
    // How error bodies show the server's own paths (see `error::Redact`); a relative `repo`
    // is not a rule, it would rewrite ordinary words.
    let mut redact = match Store::discover(&config.repo) {
        Ok(store) => error::Redact::for_repository(store.workdir("serve").ok(), store.common_dir()),
        Err(_) => error::Redact::default(),
    };
    if config.repo.is_absolute() {
        redact = redact.with(&config.repo, "");
    }
    let log = Arc::new(access_log::LogBuffer::default());
    let writer = access_log::spawn_writer(log.clone(), config.access_log, config.notify.clone())
        .context("cannot start the access-log writer")?;
    let tips = watch::spawn(&config.repo, &config.refname)
        .context("cannot start the watch of the refs")?;
    let shared = Arc::new(Shared {
        tips: tips.clone(),
        events: events::EventHub::default(),
        stop: tokio::sync::watch::channel(false).0,
        state: state::ServedState::new(&config.repo, &config.refname),
        repo: config.repo,
        refname: config.refname,
        tokens: config.tokens,
        read_tokens: config.read_tokens,
        cors: config.cors,
        local_identity: config.local_identity,
        cache: cache::ResponseCache::new(config.cache_budget),
        health: Mutex::new(None),
        redact,
        notify: config.notify.clone(),
        log: Some(log.clone()),
    });
    let notify = config.notify;
    if !shared.tokens.is_empty() && shared.local_identity.is_some() {
        notify(
            "note: with --tokens every write needs a token; --allow-local-writes does not \
             let requests without one through",
        );
    }
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        let local = listener.local_addr()?;
        notify(&format!(
            "listening on http://{local} (serving {}, writes {}{})",
            shared.refname,
            if shared.writes_enabled() {
                "enabled"
            } else {
                "disabled"
            },
            if shared.read_tokens.is_empty() {
                ""
            } else {
                ", reads need a token"
            }
        ));
        if config.ui {
            notify(&format!("web UI at http://{local}/ (--no-ui turns it off)"));
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        if let Some(sync) = config.sync.clone() {
            tokio::spawn(sync::run(
                shared.clone(),
                sync,
                notify.clone(),
                stopped.clone(),
            ));
        }
        tokio::spawn(events::run(shared.clone(), tips));
        let app = routes::router(shared.clone(), config.ui);
        let stopping = shared.clone();
        connections::serve_connections(listener, app, move || {
            stopping.stop.send_replace(true);
        })
        .await;
        let _ = stop.send(true);
        anyhow::Ok(())
    });
    // A blocking task still running (a write past its timeout) is abandoned, not awaited: the
    // process exits and the kernel releases the write lock it holds.
    runtime.shutdown_timeout(Duration::from_secs(2));
    // Every request is answered or abandoned by now: what is buffered is written before exit,
    // unless the log does not take it (a pipe nobody reads, a stalled disk): then the process
    // exits after LOG_DRAIN without those lines rather than hang on SIGTERM.
    log.close();
    let drained_by = std::time::Instant::now() + LOG_DRAIN;
    while !writer.is_finished() && std::time::Instant::now() < drained_by {
        std::thread::sleep(Duration::from_millis(10));
    }
    if writer.is_finished() {
        let _ = writer.join();
    }
    result
}

/// How long shutdown waits for the access log to take its last lines.
const LOG_DRAIN: Duration = Duration::from_secs(10);
