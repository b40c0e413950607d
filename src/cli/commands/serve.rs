//! `promptreg serve`

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use promptreg::server::{self, Config, IdentityFn, RemoteProblem, SyncConfig};

use crate::cli::report::Usage;
use crate::cli::Context;

/// Serve the registry over HTTP (JSON): reads for everyone, writes with a token
///
/// Serves the committed state of --ref (default: HEAD's branch); a promotion by the CLI or a
/// `git pull` shows on the next request. Writes are refused unless --tokens or
/// --allow-local-writes is given. See docs/SERVE.md.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  promptreg serve\n  promptreg serve --addr 0.0.0.0:8000 --tokens tokens.yaml --access-log access.log\n  promptreg serve --ref main --sync origin --interval 60s\n  promptreg serve --no-ui                     # the JSON API only\n\n  curl 'http://127.0.0.1:8000/api/prompts/support/refund-agent/latest?environment=production'"
)]
pub struct Args {
    /// The address to listen on (port 0: any free port; the bound address is printed)
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "IP:PORT")]
    addr: SocketAddr,
    /// Accept writes with `Authorization: Bearer TOKEN`: a YAML or JSON map of
    /// token → {name, email}; the identity authors the commits and access rules apply
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Make the registry private: every read but /healthz needs a bearer token from this file
    /// (same format as --tokens; write tokens read too)
    #[arg(long, value_name = "FILE")]
    read_tokens: Option<PathBuf>,
    /// Let browser pages of these origins read and write (CORS); repeat or comma-separate
    /// (e.g. https://app.example.com)
    #[arg(long, value_name = "ORIGIN", value_delimiter = ',', num_args = 1..)]
    cors: Vec<String>,
    /// Accept writes without a token, as your own git identity (loopback addresses only)
    #[arg(long)]
    allow_local_writes: bool,
    /// Append the access log (one JSON line per request) here instead of stderr
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// Fetch from this remote (git CLI) and fast-forward the served branch periodically
    #[arg(long, value_name = "REMOTE")]
    sync: Option<String>,
    /// How often --sync fetches (e.g. 30s, 5m, 1h)
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "60s",
        requires = "sync"
    )]
    interval: String,
    /// Memory the response cache may use (e.g. 64MiB, 512KiB; 0 turns it off)
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    cache_size: String,
    /// Serve the read-only web UI at / (the default): browse, compare and audit prompts in a
    /// browser (docs/SERVE.md, "The web UI")
    #[arg(long, overrides_with = "no_ui")]
    ui: bool,
    /// Serve the JSON API only: no pages
    #[arg(long, overrides_with = "ui")]
    no_ui: bool,
}

pub fn run(context: &Context, args: &Args) -> Result<()> {
    if args.allow_local_writes && !args.addr.ip().is_loopback() {
        return Err(Usage(
            format!(
                "--allow-local-writes needs a loopback address, not {}",
                args.addr
            ),
            "listen on 127.0.0.1 or ::1, or give writers tokens with --tokens FILE (docs/SERVE.md)"
                .into(),
        )
        .into());
    }
    let interval = parse_duration(&args.interval).ok_or_else(|| {
        Usage(
            format!("--interval `{}` is not a duration", args.interval),
            "give a positive number of ms, s, m or h: 60s, 5m, 1h".into(),
        )
    })?;
    let cache_budget = parse_size(&args.cache_size).ok_or_else(|| {
        Usage(
            format!("--cache-size `{}` is not a size", args.cache_size),
            "give bytes or KiB, MiB, GiB: 64MiB, 512KiB, or 0 to turn the cache off".into(),
        )
    })?;
    let store = context.store()?;
    let repo = match &context.repo {
        Some(path) => path.clone(),
        None => std::env::current_dir()?,
    };
    if context.revision.is_none() && store.head_branch().is_err() {
        return Err(crate::cli::report::Failed(
            "HEAD is detached: serve follows a branch".into(),
            "switch to a branch (`git switch main`), or serve one by name with --ref BRANCH".into(),
        )
        .into());
    }
    if let Some(remote) = &args.sync {
        check_sync_remote(&repo, remote)?;
    }
    let (refname, is_head) = server::resolve_ref(&store, context.revision.as_deref())?;
    let writes = args.tokens.is_some() || args.allow_local_writes;
    if writes && !is_head {
        return Err(Usage(format!(
            "writes go to the checked-out branch, but --ref serves `{refname}`"
        ),
            "serve HEAD's branch (drop --ref), or serve read-only (drop --tokens / --allow-local-writes)".into(),
        )
        .into());
    }
    if writes {
        store.workdir("serve with writes")?;
    }
    let tokens = match &args.tokens {
        Some(path) => server::load_tokens(path)?,
        None => Default::default(),
    };
    let read_tokens = match &args.read_tokens {
        Some(path) => server::load_tokens(path)?,
        None => Default::default(),
    };
    let cors = args
        .cors
        .iter()
        .map(|origin| {
            server::parse_origin(origin).map_err(|why| {
                Usage(
                    format!("--cors: {why}"),
                    "list the origins of the pages, e.g. --cors https://app.example.com,http://localhost:3000"
                        .into(),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let local_identity: Option<IdentityFn> = if args.allow_local_writes {
        context.signatures(Some(&store))?; // fail now, not on the first write
        Some(Arc::new(|store: &promptreg::store::Store| {
            let env = |key: &str| std::env::var(key).ok();
            let config = |key: &str| store.config_value(key);
            promptreg::store::identity::resolve(&env, &config)
        }))
    } else {
        None
    };
    let access_log: Box<dyn Write + Send> = match &args.access_log {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open `{}`", path.display()))?,
        ),
        None => stderr_of_its_own(),
    };
    drop(store);
    server::run(Config {
        repo,
        addr: args.addr,
        refname,
        tokens,
        read_tokens,
        cors,
        local_identity,
        access_log,
        sync: args
            .sync
            .clone()
            .map(|remote| SyncConfig { remote, interval }),
        notify: Arc::new(|message: &str| eprintln!("{message}")),
        cache_budget,
        ui: !args.no_ui,
    })
}

/// Standard error for the access log, as a descriptor of its own: the log's writer thread can
/// block on a pipe nobody reads (a stuck log collector), and through `std::io::stderr()` it
/// would hold the standard library's stderr lock meanwhile, so the main thread's last flush
/// would wait for it for ever and SIGTERM would never end the process.
fn stderr_of_its_own() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(std::io::stderr())
}

/// Refuses to start with a `--sync` remote git cannot fetch from, naming the remotes there are.
fn check_sync_remote(repo: &std::path::Path, remote: &str) -> Result<()> {
    match server::check_remote(repo, remote) {
        Ok(()) => Ok(()),
        Err(RemoteProblem::Unknown { remotes }) => {
            let hint = if remotes.is_empty() {
                "this repository has no remotes: add one with `git remote add NAME URL`, or give a URL or path".to_owned()
            } else {
                format!(
                    "the remotes here are: {}; or give a URL or path",
                    remotes.join(", ")
                )
            };
            Err(Usage(
                format!("--sync `{remote}` is not a remote of this repository, a URL or a path"),
                hint,
            )
            .into())
        }
        Err(RemoteProblem::Git(message)) => Err(crate::cli::report::Failed(
            format!("cannot check --sync `{remote}`: {message}"),
            "check that git is installed and the repository is readable".into(),
        )
        .into()),
    }
}

/// `64MiB`, `512KiB`, `1GiB` (also `K`/`M`/`G`, `KB`/`MB`/`GB`, all powers of 1024), or bytes.
fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().ok()?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    number.checked_mul(1 << shift)
}

/// `500ms`, `30s`, `5m`, `1h`, or plain seconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "" | "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number * 60),
        "h" => Duration::from_secs(number * 3600),
        _ => return None,
    };
    (!duration.is_zero()).then_some(duration)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("1 GiB"), Some(1 << 30));
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_size("MiB"), None);
    }
}
