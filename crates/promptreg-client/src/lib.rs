//! promptreg-client: a blocking client for `promptreg serve`, with an in-memory cache that keeps an application
//! running when the registry server is slow or down.
//!
//! ```no_run
//! use std::time::Duration;
//! use promptreg_client::{Client, Target};
//!
//! # fn main() -> Result<(), promptreg_client::ClientError> {
//! let client = Client::builder("http://127.0.0.1:8000")
//!     .ttl(Duration::from_secs(300))
//!     .fallback_bundle("bundle.json")? // written by `promptreg export --env production`
//!     .build();
//! let prompt = client.get("support/refund-agent", Target::Environment("production"))?;
//! println!("{} {}", prompt.version(), prompt.system_prompt());
//! # Ok(())
//! # }
//! ```
//!
//! How a [`Client::get`] is answered:
//!
//! * **Fresh cache hit** (fetched less than `ttl` ago): the cached value, no request.
//! * **Miss or stale hit**: a request on the calling thread, with `If-None-Match` carrying the
//!   cached `ETag` when there is one. `200` replaces the value, `304` keeps it; either way it is
//!   fresh for another `ttl`.
//! * **The server cannot answer** (refused, `timeout` elapsed — 2 s by default —, a `5xx`, a body
//!   that is not a record): the last good value if there is one ([`Origin::Stale`]), else the
//!   record from the fallback bundle ([`Origin::Bundle`]), else [`ClientError::Unavailable`].
//!   Either value is then kept for `min(ttl, retry_after)` (5 s by default) before the server is
//!   tried again, so a hanging server costs one timeout per period, not one per call.
//! * **The server answers no** (`404`, or another `4xx` such as an unknown environment): that is
//!   authoritative, so the cached value is dropped and the error returned
//!   ([`ClientError::NotFound`], [`ClientError::Http`]).
//!
//! **Traffic splits.** [`Client::get_for`] takes a key (a user, session or tenant id) and, for
//! an environment that splits (a canary, an A/B test), returns the version the key is assigned,
//! sticky, by the same rule as the server, the CLI and exported bundles
//! ([`promptreg_wire::split::bucket`]). The client resolves splits itself: the environment's
//! record (which carries the `split`) is fetched and cached as above, and each other version of
//! the split once, by number — versions never change — so a million users cost one request
//! per version, not one per user. With the server down, the bundle's `variants` answer the same
//! way.
//!
//! ```no_run
//! # use promptreg_client::{Client, Target};
//! # fn main() -> Result<(), promptreg_client::ClientError> {
//! # let client = Client::new("http://127.0.0.1:8000");
//! let prompt = client.get_for("support/refund-agent", Target::Environment("production"), "user-42")?;
//! println!("{} (bucket {:?} of {:?})", prompt.version(), prompt.bucket(), prompt.split());
//! # Ok(())
//! # }
//! ```
//!
//! The client is `Send + Sync`: share one (in an `Arc` or a `static`) between threads. The cache
//! lock is never held during a request, so two threads that miss at once may both ask the server.

mod builder;
mod client;
mod prompt;

use std::path::PathBuf;
use std::time::Duration;

pub use builder::{ClientBuilder, WATCH_WAIT};
pub use client::Client;
pub use prompt::Prompt;
pub use promptreg_wire::{Bundle, Percent, SplitEntry, TestSummary, BUNDLE_FORMAT};

/// The default time a fetched value is served without asking the server.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The default limit on one request, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default wait before asking a server again after it failed.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Which version of a prompt to get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target<'a> {
    /// What an environment serves (`GET /api/prompts/NAME/latest?environment=ENV`).
    Environment(&'a str),
    /// An exact version (`GET /api/prompts/NAME?version=X.Y.Z`).
    Version(&'a str),
    /// The highest release (`GET /api/prompts/NAME?version=latest`).
    Latest,
}

/// Where a returned value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A `200` to this call's request.
    Server,
    /// The cache, within its TTL: no request was made.
    Cache,
    /// The cache, confirmed by a `304` to this call's request.
    Revalidated,
    /// The cache, past its TTL, because the server could not answer.
    Stale,
    /// The fallback bundle, because the server could not answer and nothing was cached.
    Bundle,
}

/// Why [`Client::get`] (or loading a bundle) failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server says the prompt, version or environment pointer does not exist (`404`).
    #[error("`{name}` not found: {message}")]
    NotFound { name: String, message: String },
    /// The server could not be reached or could not answer, and there was nothing cached and no
    /// bundle record to fall back on.
    #[error("the prompt registry is unavailable: {message}")]
    Unavailable { message: String },
    /// The server refused the request (a `4xx` other than `404`), with its message.
    #[error("the prompt registry answered {status}: {message}")]
    Http { status: u16, message: String },
    /// The fallback bundle could not be read.
    #[error("cannot use the bundle `{}`: {message}", path.display())]
    Bundle { path: PathBuf, message: String },
    /// The request itself is malformed (a bad prompt name, base URL).
    #[error("invalid request: {message}")]
    InvalidRequest { message: String },
}
