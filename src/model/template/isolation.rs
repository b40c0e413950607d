//! Renders in a worker process with a memory cap.
//!
//! Fuel, the output limit and the depth limit do not see memory: `{% set x = x ~ x %}` forty
//! times takes forty steps, writes nothing and asks for a terabyte. MiniJinja has no value-size
//! limit, and a Rust allocation failure aborts the process, so the only way to survive such a
//! template is to run it in a process whose death is harmless. The binary installs that once
//! ([`isolate_in`], with its own path); from then on [`super::render`] hands each job to one
//! persistent worker (spawned on first use, reused, behind a mutex), which caps its address
//! space at [`MAX_MEMORY_BYTES`] before it reads any job ([`serve_worker`]). A worker that dies
//! during a job ran out of memory ([`Limit::Memory`]); one that does not answer within
//! [`MAX_RENDER_TIME`] is killed ([`Limit::Time`]); either way the next job gets a fresh one.
//!
//! Without [`isolate_in`] (library users, unit tests) renders stay in-process, as they do when
//! the worker cannot be started at all: isolation is a safety net, not a requirement.
//!
//! The protocol is one JSON line each way: `{"source": …, "values": {…}}` in, `{"text": …}` or
//! `{"error": {…}}` out (serde_json escapes every newline inside strings). A worker first says
//! [`READY`] once its memory is capped: a program that never says it (another binary at that
//! path, one without the hidden command) is not a worker, and renders stay here rather than
//! every job being reported as a memory limit.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Limit, TemplateError};

/// Address space a worker may use. A legitimate render holds its values, at most 4 MiB of
/// output and MiniJinja's working copies: a few MiB. The worker itself maps about 20 MiB
/// before it renders. A value that doubles in a loop crosses this after a few doublings and
/// dies there instead of taking the machine's memory.
pub const MAX_MEMORY_BYTES: u64 = 256 << 20;

/// How long one render in a worker may take. Fuel bounds the steps, but one step on a huge
/// string can be slow; a release build renders ordinary prompts in well under a millisecond.
pub const MAX_RENDER_TIME: Duration = Duration::from_secs(10);

/// How to start a worker: the promptreg binary and the hidden subcommand that runs
/// [`serve_worker`].
#[derive(Clone, Debug)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// The first line a worker writes, with the protocol's version.
const READY: &str = "promptreg template worker 1\n";

static ISOLATION: OnceLock<Isolation> = OnceLock::new();

/// From now on, render every template that has template syntax in a worker started with
/// `command`. Process-wide and once: `false` when isolation was already installed.
pub fn isolate_in(command: WorkerCommand) -> bool {
    ISOLATION.set(Isolation::new(command)).is_ok()
}

/// The installed isolation, if any.
pub(super) fn installed() -> Option<&'static Isolation> {
    ISOLATION.get()
}

#[derive(Serialize)]
struct Job<'a> {
    source: &'a str,
    values: &'a serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct OwnedJob {
    source: String,
    values: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Reply {
    Text(String),
    Error {
        line: Option<usize>,
        message: String,
        limit: Option<Limit>,
    },
}

/// Worker processes for renders: at most one at a time, started when first needed.
pub struct Isolation {
    command: WorkerCommand,
    timeout: Duration,
    worker: Mutex<Option<Worker>>,
}

/// What became of a job sent to a worker.
enum Outcome {
    Done(Result<String, TemplateError>),
    /// No worker could be started: render here.
    NoWorker,
}

impl Isolation {
    /// Isolation with its own worker, independent of the process-wide one.
    pub fn new(command: WorkerCommand) -> Isolation {
        Isolation {
            command,
            timeout: MAX_RENDER_TIME,
            worker: Mutex::new(None),
        }
    }

    /// Renders in a worker, or in this process when no worker can be started.
    pub fn render(
        &self,
        source: &str,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, TemplateError> {
        match self.try_render(source, values) {
            Outcome::Done(result) => result,
            Outcome::NoWorker => super::render_here(source, values),
        }
    }

    fn try_render(
        &self,
        source: &str,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Outcome {
        let Ok(mut job) = serde_json::to_vec(&Job { source, values }) else {
            // Values are a JSON map already; this cannot fail, but if it did the render
            // itself would decide.
            return Outcome::NoWorker;
        };
        job.push(b'\n');
        // A panic elsewhere while holding the lock leaves at worst a worker to replace.
        let mut slot = self.worker.lock().unwrap_or_else(|p| p.into_inner());
        // A worker that died while idle (killed from outside) did not see this job: one retry
        // with a fresh worker. A fresh worker that cannot take the job died reading it.
        for fresh in [false, true] {
            if fresh || slot.as_mut().is_none_or(|w| !w.is_alive()) {
                *slot = None;
                match Worker::spawn(&self.command, self.timeout) {
                    Ok(worker) => *slot = Some(worker),
                    Err(_) => return Outcome::NoWorker,
                }
            }
            let Some(worker) = slot.as_mut() else {
                return Outcome::NoWorker;
            };
            if worker.send(&job).is_err() {
                if fresh {
                    *slot = None;
                    return Outcome::Done(Err(stopped(Limit::Memory)));
                }
                continue;
            }
            let outcome = match worker.replies.recv_timeout(self.timeout) {
                Ok(line) => match serde_json::from_str::<Reply>(&line) {
                    Ok(Reply::Text(text)) => return Outcome::Done(Ok(text)),
                    Ok(Reply::Error {
                        line,
                        message,
                        limit,
                    }) => {
                        return Outcome::Done(Err(TemplateError {
                            line,
                            message,
                            limit,
                        }))
                    }
                    // It said it was a worker, so a line that is not a reply is one cut off by
                    // its death (or a worker gone wrong): refuse, never fall back to rendering
                    // here without the memory cap.
                    Err(_) => Outcome::Done(Err(stopped(Limit::Memory))),
                },
                Err(RecvTimeoutError::Timeout) => Outcome::Done(Err(stopped(Limit::Time))),
                // It died during the job: the only way a render dies is running out of memory.
                Err(RecvTimeoutError::Disconnected) => Outcome::Done(Err(stopped(Limit::Memory))),
            };
            *slot = None; // Dropping kills and reaps it.
            return outcome;
        }
        Outcome::NoWorker
    }
}

fn stopped(limit: Limit) -> TemplateError {
    TemplateError {
        line: None,
        message: limit.to_string(),
        limit: Some(limit),
    }
}

/// One running worker: its stdin, and its stdout's lines arriving through a reader thread so
/// that waiting for one can time out.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<String>,
}

impl Worker {
    /// Starts a worker and waits (up to `timeout`) for it to say [`READY`].
    fn spawn(command: &WorkerCommand, timeout: Duration) -> io::Result<Worker> {
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // An allocation failure prints a line; the job's error says what happened.
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C at the terminal stops the parent, which then
            // finishes or abandons its jobs, rather than killing the worker mid-job (which
            // would read as a memory limit). It exits when its stdin closes.
            .process_group(0)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("worker pipes missing"));
        };
        let (sender, replies) = mpsc::channel();
        let reader = std::thread::Builder::new()
            .name("template-worker-reader".into())
            .spawn(move || {
                let mut stdout = BufReader::new(stdout);
                loop {
                    let mut line = String::new();
                    match stdout.read_line(&mut line) {
                        Ok(0) | Err(_) => return, // Dropping `sender` says it is gone.
                        Ok(_) => {
                            if sender.send(line).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        if let Err(e) = reader {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        let worker = Worker {
            child,
            stdin,
            replies,
        };
        match worker.replies.recv_timeout(timeout) {
            Ok(line) if line == READY => Ok(worker),
            _ => Err(io::Error::other("not a template worker")), // Dropping it kills it.
        }
    }

    fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn send(&mut self, job: &[u8]) -> io::Result<()> {
        self.stdin.write_all(job)?;
        self.stdin.flush()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The worker's side: caps this process's address space at [`MAX_MEMORY_BYTES`], then renders
/// one job per line of `input` (in-process, with the usual limits) and answers each with one
/// line on `output`, until `input` ends. Call it only in a process of its own.
pub fn serve_worker(input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    cap_memory()?;
    output.write_all(READY.as_bytes())?;
    output.flush()?;
    for line in input.lines() {
        let line = line?;
        let reply = match serde_json::from_str::<OwnedJob>(&line) {
            Ok(job) => match super::render_here(&job.source, &job.values) {
                Ok(text) => Reply::Text(text),
                Err(e) => Reply::Error {
                    line: e.line,
                    message: e.message,
                    limit: e.limit,
                },
            },
            Err(e) => Reply::Error {
                line: None,
                message: format!("the template worker received a malformed job: {e}"),
                limit: None,
            },
        };
        serde_json::to_writer(&mut output, &reply)?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
    Ok(())
}

/// Lowers the soft and hard address-space limits to [`MAX_MEMORY_BYTES`] (or keeps a lower
/// limit someone set already, `ulimit -v`), hard too so that nothing can raise it again.
fn cap_memory() -> io::Result<()> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let current = getrlimit(Resource::As);
    let cap = [current.current, current.maximum]
        .into_iter()
        .flatten()
        .fold(MAX_MEMORY_BYTES, u64::min);
    setrlimit(
        Resource::As,
        Rlimit {
            current: Some(cap),
            maximum: Some(cap),
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The parent's side against stand-in workers; the real worker is driven through the
    //! binary in tests/cli/limits.rs.
    use super::*;

    fn with(program: &str, args: &[&str], timeout: Duration) -> Isolation {
        let mut isolation = Isolation::new(WorkerCommand {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
        });
        isolation.timeout = timeout;
        isolation
    }

    fn values() -> serde_json::Map<String, serde_json::Value> {
        let mut values = serde_json::Map::new();
        values.insert("name".into(), "Ada".into());
        values
    }

    #[test]
    fn a_worker_that_cannot_start_means_rendering_here() {
        let isolation = with("/nonexistent/promptreg", &[], MAX_RENDER_TIME);
        assert_eq!(
            isolation.render("Hi {{ name }}", &values()).unwrap(),
            "Hi Ada"
        );
    }

    /// A stand-in worker: says it is ready, then runs `then` (a shell command).
    fn ready_then(then: &str, timeout: Duration) -> Isolation {
        let script = format!("printf '{}'; {then}", READY.replace('\n', "\\n"));
        with("sh", &["-c", &script], timeout)
    }

    #[test]
    fn a_worker_that_dies_is_a_memory_limit_and_is_replaced() {
        // It reads the job, then dies.
        let isolation = ready_then("read -r job; exit 0", MAX_RENDER_TIME);
        for _ in 0..2 {
            let err = isolation.render("Hi {{ name }}", &values()).unwrap_err();
            assert_eq!(err.limit, Some(Limit::Memory), "{err:?}");
            assert!(err.message.contains("MiB of memory"), "{}", err.message);
        }
    }

    #[test]
    fn a_worker_that_does_not_answer_is_killed_at_the_time_limit() {
        let isolation = ready_then("exec sleep 600", Duration::from_millis(300));
        let started = std::time::Instant::now();
        let err = isolation.render("Hi {{ name }}", &values()).unwrap_err();
        assert_eq!(err.limit, Some(Limit::Time), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // Killed and reaped, not left behind.
        assert!(isolation.worker.lock().unwrap().is_none());
    }

    #[test]
    fn a_worker_that_answers_nonsense_is_refused_not_bypassed() {
        // `cat` after the greeting echoes the job: not a reply. Rendering here instead would
        // run the template without the memory cap.
        let isolation = ready_then("exec cat", MAX_RENDER_TIME);
        let error = isolation.render("Hi {{ name }}", &values()).unwrap_err();
        assert_eq!(error.limit, Some(Limit::Memory));
    }

    #[test]
    fn a_program_that_is_not_a_worker_means_rendering_here() {
        // What an older promptreg without the hidden command does: a usage error, exit 2.
        let usage_error = with("sh", &["-c", "exit 2"], MAX_RENDER_TIME);
        let silent = with("cat", &[], Duration::from_millis(300));
        for not_a_worker in [usage_error, silent] {
            let started = std::time::Instant::now();
            assert_eq!(
                not_a_worker.render("Hi {{ name }}", &values()).unwrap(),
                "Hi Ada"
            );
            assert!(started.elapsed() < Duration::from_secs(5));
        }
    }
}
