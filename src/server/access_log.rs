//! The access log: one JSON line per request, with what the handler adds about it.
//!
//! A request appends its line to an in-memory buffer ([`LogBuffer`]) under a short lock and
//! goes on; one writer thread writes the buffer out [`FLUSH_INTERVAL`] after its first line, or
//! as soon as it holds [`FLUSH_AT`] bytes, and everything left at shutdown. The writer is woken
//! once per batch, not once per line. While the sink is slow the buffer grows to at most
//! [`BUFFER_LIMIT`] bytes; lines beyond that are dropped and counted, and the count is reported
//! as a status line ([`super::Config::notify`]) once the writer catches up: a stalled disk costs
//! log lines, never the server's memory or its requests.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{NotifyFn, Shared};

/// What the access log records beyond the request line; handlers attach it to responses.
#[derive(Clone, Debug, Default)]
pub(super) struct LogInfo {
    pub(super) prompt: Option<String>,
    pub(super) version: Option<String>,
    pub(super) environment: Option<String>,
    /// A keyed read of a split: the key's bucket (the key itself is never logged).
    pub(super) bucket: Option<u32>,
    pub(super) identity: Option<String>,
}

/// `response` with what the access log should record about it.
pub(super) fn with_info(mut response: Response, info: LogInfo) -> Response {
    response.extensions_mut().insert(info);
    response
}

/// Writes the access-log line of every request.
pub(super) async fn access_log(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    let response = next.run(request).await;
    let info = response
        .extensions()
        .get::<LogInfo>()
        .cloned()
        .unwrap_or_default();
    let line = crate::ops::access_log::AccessLine {
        time: crate::ops::access_log::now(),
        method,
        path,
        prompt: info.prompt,
        version: info.version,
        environment: info.environment,
        bucket: info.bucket,
        identity: info.identity,
        client,
        status: response.status().as_u16(),
        duration_ms: (start.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
    };
    shared.log(&line.to_json());
    response
}

/// How long a line waits in the buffer at most (unless the sink is slow).
pub(super) const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Buffered bytes that start a write at once.
pub(super) const FLUSH_AT: usize = 64 << 10;
/// Most bytes waiting to be written; lines beyond are dropped (and counted).
pub(super) const BUFFER_LIMIT: usize = 8 << 20;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// Lines dropped because the buffer was full, not yet reported.
    dropped: u64,
    /// No more lines come: the writer writes what is left and stops.
    closed: bool,
}

/// Access-log lines waiting for the writer thread.
#[derive(Default)]
pub(crate) struct LogBuffer {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl LogBuffer {
    /// Appends `line` (and a line break); drops it when [`BUFFER_LIMIT`] bytes are waiting.
    pub fn push(&self, line: &str) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if pending.closed {
            return;
        }
        let before = pending.bytes.len();
        if before + line.len() + 1 > BUFFER_LIMIT {
            pending.dropped += 1;
            return;
        }
        pending.bytes.extend_from_slice(line.as_bytes());
        pending.bytes.push(b'\n');
        let after = pending.bytes.len();
        drop(pending);
        // The writer waits for a first line, then for the interval or for FLUSH_AT bytes: only
        // those two moments wake it.
        if before == 0 || (before < FLUSH_AT && after >= FLUSH_AT) {
            self.wake.notify_one();
        }
    }

    /// No more lines: the writer writes what is buffered and returns.
    pub fn close(&self) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.closed = true;
        }
        self.wake.notify_one();
    }

    /// Waits for a batch: the buffered bytes (swapped with `spare`), the lines dropped since the
    /// last batch, and whether the buffer is closed.
    fn next_batch(&self, spare: Vec<u8>) -> (Vec<u8>, u64, bool) {
        let Ok(mut pending) = self.pending.lock() else {
            return (spare, 0, true);
        };
        while pending.bytes.is_empty() && pending.dropped == 0 && !pending.closed {
            pending = match self.wake.wait(pending) {
                Ok(pending) => pending,
                Err(_) => return (spare, 0, true),
            };
        }
        let deadline = Instant::now() + FLUSH_INTERVAL;
        while !pending.closed && pending.bytes.len() < FLUSH_AT {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            pending = match self.wake.wait_timeout(pending, left) {
                Ok((pending, _)) => pending,
                Err(_) => return (spare, 0, true),
            };
        }
        let batch = std::mem::replace(&mut pending.bytes, spare);
        (batch, std::mem::take(&mut pending.dropped), pending.closed)
    }
}

/// Starts the thread writing `buffer` to `sink` until the buffer is closed and written out.
pub(super) fn spawn_writer(
    buffer: Arc<LogBuffer>,
    mut sink: Box<dyn Write + Send>,
    notify: NotifyFn,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("access-log".into())
        .spawn(move || {
            let mut spare = Vec::new();
            loop {
                let (mut batch, dropped, closed) = buffer.next_batch(spare);
                if !batch.is_empty() {
                    let _ = sink.write_all(&batch);
                    let _ = sink.flush();
                }
                if dropped > 0 {
                    notify(&format!(
                        "access log: {dropped} lines dropped, the log could not be written as fast as requests came"
                    ));
                }
                if closed {
                    break;
                }
                batch.clear();
                // Keep one batch's capacity, not the largest the buffer ever held.
                batch.shrink_to(FLUSH_AT * 2);
                spare = batch;
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read, that can be made to stall.
    #[derive(Clone, Default)]
    struct Sink {
        written: Arc<Mutex<Vec<u8>>>,
        gate: Arc<Mutex<()>>,
    }

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let _open = self.gate.lock().unwrap();
            self.written.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(sink: &Sink) -> usize {
        sink.written
            .lock()
            .unwrap()
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    }

    #[test]
    fn lines_are_written_within_the_interval_and_all_of_them_at_close() {
        let buffer = Arc::new(LogBuffer::default());
        let sink = Sink::default();
        let notes = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = notes.clone();
        let notify: NotifyFn = Arc::new(move |line: &str| seen.lock().unwrap().push(line.into()));
        let writer = spawn_writer(buffer.clone(), Box::new(sink.clone()), notify).unwrap();
        buffer.push("one");
        let start = Instant::now();
        while lines(&sink) < 1 {
            assert!(start.elapsed() < Duration::from_secs(5), "never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        for i in 0..1000 {
            buffer.push(&format!("line {i}"));
        }
        buffer.close();
        buffer.push("after close");
        writer.join().unwrap();
        assert_eq!(lines(&sink), 1001);
        assert!(notes.lock().unwrap().is_empty());
    }

    #[test]
    fn a_stalled_sink_bounds_the_buffer_and_the_drops_are_reported() {
        let buffer = Arc::new(LogBuffer::default());
        let sink = Sink::default();
        let stall = sink.gate.lock().unwrap();
        let notes = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = notes.clone();
        let notify: NotifyFn = Arc::new(move |line: &str| seen.lock().unwrap().push(line.into()));
        let writer = spawn_writer(buffer.clone(), Box::new(sink.clone()), notify).unwrap();
        // The first batch is taken, then the writer stalls writing it.
        buffer.push("first");
        let start = Instant::now();
        while !buffer.pending.lock().unwrap().bytes.is_empty() {
            assert!(start.elapsed() < Duration::from_secs(5), "never taken");
            std::thread::sleep(Duration::from_millis(5));
        }
        let line = "x".repeat(1023);
        let fit = BUFFER_LIMIT / 1024;
        for _ in 0..fit + 100 {
            buffer.push(&line);
        }
        assert!(buffer.pending.lock().unwrap().bytes.len() <= BUFFER_LIMIT);
        assert_eq!(buffer.pending.lock().unwrap().dropped, 100);
        drop(stall);
        buffer.close();
        writer.join().unwrap();
        assert_eq!(lines(&sink), 1 + fit);
        assert_eq!(
            *notes.lock().unwrap(),
            ["access log: 100 lines dropped, the log could not be written as fast as requests came"]
        );
    }
}
