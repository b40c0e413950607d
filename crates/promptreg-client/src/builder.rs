//! Configuring a [`Client`]: TTL, timeout, retry wait and the fallback bundle.

use std::path::Path;
use std::time::Duration;

use crate::client::Parts;
use crate::{Bundle, Client, ClientError, Prompt, BUNDLE_FORMAT};

/// How long one long poll of a watch asks the server to hold it: under the idle timeouts of
/// common proxies and load balancers (60 s), so they do not cut it.
pub const WATCH_WAIT: Duration = Duration::from_secs(25);

/// Configures a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    pub(crate) base: String,
    pub(crate) ttl: Duration,
    pub(crate) timeout: Duration,
    pub(crate) retry_after: Duration,
    pub(crate) bundle: Option<Bundle>,
    pub(crate) watch: Option<Duration>,
}

impl ClientBuilder {
    /// How long a fetched value is served without a request (default 300 s; zero revalidates
    /// on every call).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The limit on one request, from connecting to reading the body (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long to serve a stale or bundled value after the server failed before trying it again
    /// (default 5 s; never longer than the TTL).
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Reads a bundle written by `promptreg export` to answer from when the server is down and
    /// nothing is cached.
    pub fn fallback_bundle(self, path: impl AsRef<Path>) -> Result<Self, ClientError> {
        let path = path.as_ref();
        let bad = |message: String| ClientError::Bundle {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let bundle: Bundle = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        self.with_bundle(bundle).map_err(bad)
    }

    /// Uses an already loaded bundle as the fallback.
    pub fn with_bundle(mut self, bundle: Bundle) -> Result<Self, String> {
        if bundle.format > BUNDLE_FORMAT {
            return Err(format!(
                "bundle format {} is newer than this client reads ({BUNDLE_FORMAT})",
                bundle.format
            ));
        }
        for (name, record) in &bundle.prompts {
            Prompt::from_json(record.clone()).map_err(|e| format!("`{name}`: {e}"))?;
        }
        self.bundle = Some(bundle);
        Ok(self)
    }

    /// Follows every environment the client gets (on its first [`Client::get`]) with a long
    /// poll on a thread of its own, so a promotion or a rollback replaces the cached value the
    /// moment the server sees it, not when the TTL runs out (default off). The cache, the last
    /// good value and the bundle behave as without watching when the server cannot be reached:
    /// a failed poll is retried after [`ClientBuilder::retry_after`], and the TTL still runs.
    /// Versions asked for by number never change and are not watched. Against a server that
    /// does not take `wait` the watch stops and the TTL keeps values current.
    pub fn watch(mut self, on: bool) -> Self {
        self.watch = on.then_some(WATCH_WAIT);
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        let agent = |timeout: Duration| {
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .build();
            ureq::Agent::new_with_config(config)
        };
        let wait = self.watch.unwrap_or_default();
        Client::from_parts(Parts {
            agent: agent(self.timeout),
            // A poll is answered within its wait; the timeout covers the rest.
            watch_agent: agent(wait + self.timeout),
            base: self.base,
            ttl: self.ttl,
            retry_after: self.retry_after,
            bundle: self.bundle,
            watch: self.watch,
        })
    }
}
