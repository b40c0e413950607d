//! The refs watch: one thread that learns the moment the served ref moves and publishes its new
//! tip, for the long polls and the event stream to wake on.
//!
//! Git moves a ref by renaming `<ref>.lock` over the ref's file, or by rewriting `packed-refs`
//! the same way; a commit, `promptreg promote`, `git pull`, `git fetch` into the ref and
//! `--sync` all end so. On Linux the thread waits on an inotify watch of the two directories
//! those files live in (the ref's own, and the common Git directory for `packed-refs`), reads
//! the ref after any event there (a handful of `stat`s and one small file read), and publishes
//! the tip only when it changed. It also reads the ref every [`SAFETY_POLL`] in case an event
//! was missed (a watch that could not be added, a directory replaced), and every
//! [`FALLBACK_POLL`] where inotify is not available (other systems, a reftable repository whose
//! files it does not name). Idle waiters cost nothing: they sleep on the channel, not on a timer.
//!
//! Requests do not depend on the watch to see a change: each still checks the ref's stamp
//! (`state.rs`). The watch is what wakes those that are waiting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::watch;

use crate::store::{ObjectId, Store};

/// How often the ref is read even though no event came (a missed event costs at most this).
pub(super) const SAFETY_POLL: Duration = Duration::from_secs(1);
/// How often the ref is read where no file-system events can be had.
pub(super) const FALLBACK_POLL: Duration = Duration::from_millis(100);

/// The served ref's tip as the watch last saw it: `None` before the first read, or while the
/// ref is missing or unreadable.
pub(crate) type Tips = watch::Receiver<Option<ObjectId>>;

/// Starts the watch of `refname` in the repository at `repo` on a thread of its own and returns
/// what it publishes; the thread ends when every receiver is gone.
pub(super) fn spawn(repo: &Path, refname: &str) -> std::io::Result<Tips> {
    let store = Store::discover(repo).ok();
    let first = store
        .as_ref()
        .and_then(|s| s.ref_target(refname).ok().flatten());
    let (sender, tips) = watch::channel(first);
    let dirs = store
        .as_ref()
        .map(|s| watched_dirs(s, refname))
        .unwrap_or_default();
    let refname = refname.to_owned();
    let repo = repo.to_owned();
    std::thread::Builder::new()
        .name("promptreg-refs-watch".into())
        .spawn(move || run(&repo, &refname, &dirs, &sender))?;
    Ok(tips)
}

/// The directories whose entries change when the ref moves: the loose ref's and the common
/// directory (`packed-refs`); none when the refs are not files ([`Store::ref_files`]).
fn watched_dirs(store: &Store, refname: &str) -> Vec<PathBuf> {
    let Some(files) = store.ref_files(refname) else {
        return Vec::new();
    };
    [files.loose.parent(), files.packed.parent()]
        .into_iter()
        .flatten()
        .map(Path::to_path_buf)
        .collect()
}

fn run(repo: &Path, refname: &str, dirs: &[PathBuf], sender: &watch::Sender<Option<ObjectId>>) {
    let mut events = Events::new(dirs);
    let mut store = None;
    loop {
        let wait = if events.is_some() {
            SAFETY_POLL
        } else {
            FALLBACK_POLL
        };
        match &mut events {
            Some(watch) => watch.wait(wait),
            None => std::thread::sleep(wait),
        }
        if sender.is_closed() {
            return;
        }
        if store.is_none() {
            store = Store::discover(repo).ok();
        }
        let tip = match &store {
            // Unreadable for now: published as gone, read again at the next event or poll.
            Some(store) => store.ref_target(refname).unwrap_or_default(),
            None => None,
        };
        sender.send_if_modified(|held| {
            let changed = *held != tip;
            *held = tip;
            changed
        });
    }
}

#[cfg(target_os = "linux")]
use linux::Events;

#[cfg(not(target_os = "linux"))]
struct Events;

#[cfg(not(target_os = "linux"))]
impl Events {
    fn new(_: &[PathBuf]) -> Option<Events> {
        None
    }

    fn wait(&mut self, timeout: Duration) {
        std::thread::sleep(timeout)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::mem::MaybeUninit;
    use std::os::fd::OwnedFd;
    use std::path::PathBuf;
    use std::time::Duration;

    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
    use rustix::io::Errno;

    /// An inotify instance watching the entries of some directories.
    pub(super) struct Events {
        fd: OwnedFd,
        buffer: Vec<MaybeUninit<u8>>,
    }

    impl Events {
        /// Watches `dirs`; `None` when not one of them can be watched (no inotify, the limit of
        /// watches reached, no such directory).
        pub(super) fn new(dirs: &[PathBuf]) -> Option<Events> {
            let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).ok()?;
            let flags = WatchFlags::MOVED_TO
                | WatchFlags::CREATE
                | WatchFlags::DELETE
                | WatchFlags::CLOSE_WRITE
                | WatchFlags::MOVE_SELF
                | WatchFlags::DELETE_SELF
                | WatchFlags::ONLYDIR;
            let watched = dirs
                .iter()
                .filter(|dir| inotify::add_watch(&fd, dir.as_path(), flags).is_ok())
                .count();
            (watched > 0).then(|| Events {
                fd,
                buffer: vec![MaybeUninit::uninit(); 16 << 10],
            })
        }

        /// Returns when an event came or `timeout` passed, with every queued event read.
        pub(super) fn wait(&mut self, timeout: Duration) {
            let timeout = Timespec {
                tv_sec: timeout.as_secs() as _,
                tv_nsec: timeout.subsec_nanos() as _,
            };
            let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
            match poll(&mut fds, Some(&timeout)) {
                Ok(_) | Err(Errno::INTR) => {}
                // Should not happen; never spin on it.
                Err(_) => std::thread::sleep(super::FALLBACK_POLL),
            }
            // Which entry changed does not matter: the ref is read after any of them.
            let mut reader = inotify::Reader::new(&self.fd, &mut self.buffer);
            while reader.next().is_ok() {}
        }
    }
}
