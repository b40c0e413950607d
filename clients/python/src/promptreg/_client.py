"""`Client`: the blocking, thread-safe client of `promptreg serve`, with its cache.

The cache holds one entry per (name, target), a target being an environment (None: the
server's default), a version, or `latest`:

- fetched less than the TTL ago: served, no request (`origin="cache"`);
- a pinned version (`version="1.2.0"`): served for the process's lifetime (releases are
  immutable);
- older than the TTL: served at once (`origin="stale"`) while one background thread revalidates
  it with `If-None-Match` (stale-while-revalidate);
- the server unreachable, timing out, 5xx, 408 or 429: the last good value, however old
  (`stale`); with nothing cached, the bundle's record (`bundle`), else `Unavailable`. After a
  failure no request is made for `min(ttl, retry_after)`;
- a 404 or other 4xx: authoritative; the entry is dropped and the error raised.

With `watch=True`, each environment read gets a watcher thread that long-polls the server
(`GET .../latest?environment=E&wait=S` with `If-None-Match`), so a promotion or rollback
reaches the cache as soon as the server commits it. A server without long polls (it answers
`400 unknown-parameter` for `wait`) is noted once through `logging` and the TTL applies.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from . import _split
from ._bundle import Bundle, PathLike
from ._errors import InvalidRequest, PromptRegError, Unavailable
from ._http import Response, Transport, query_string
from ._prompt import Prompt

log = logging.getLogger("promptreg")

#: (name, kind, value): kind is "env" (value: the environment, None for the server's default),
#: "version" (value: the version) or "latest" (value: None).
Key = tuple[str, str, Optional[str]]

SplitSpec = Union[Mapping[str, float], Sequence[Mapping[str, Any]], Sequence[tuple[str, float]]]

_WRITE_TIMEOUT = 30.0

#: The rows `versions`, `history`, `list` and `tests` answer.
Rows = list[dict[str, Any]]


class _Entry:
    __slots__ = (
        "as_cache",
        "etag",
        "fetched",
        "from_bundle",
        "prompt",
        "record",
        "refreshing",
        "retry_at",
    )

    def __init__(
        self, record: dict[str, Any], etag: str | None, fetched: float, from_bundle: bool
    ) -> None:
        self.record = record
        self.etag = etag
        self.fetched = fetched
        self.from_bundle = from_bundle
        self.retry_at = 0.0
        self.refreshing = False
        origin = "bundle" if from_bundle else "server"
        #: The record read once into a `Prompt`; `as_cache` is the one `get` hands out while
        #: the entry is fresh (shared: treat a `Prompt` as read-only).
        self.prompt = Prompt(record, origin, etag=etag)
        self.as_cache = self.prompt._copy("cache")


def _quote_name(name: str) -> str:
    return urllib.parse.quote(name, safe="/")


def _path(key: Key) -> str:
    name, kind, value = key
    base = f"/api/prompts/{_quote_name(name)}"
    if kind == "env":
        return f"{base}/latest" + query_string({"environment": value})
    if kind == "version":
        return base + query_string({"version": value})
    return base + query_string({"version": "latest"})


def _record(response: Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict) or "version" not in body:
        raise Unavailable("the server's answer is not a prompt record", status=response.status)
    return body


class Client:
    """A client of `promptreg serve`. Thread-safe: share one per process.

    `cache_ttl_seconds`: how long a fetched value is served without asking the server.
    `fallback_bundle`: a `promptreg export` file answering a cold start with no server.
    `watch`: follow the server's long poll, so changes arrive in milliseconds.
    `timeout`: seconds per read request (writes wait up to 30 s).
    `retry_after`: after a failure, seconds without requests (at most the TTL).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        cache_ttl_seconds: float = 300,
        fallback_bundle: PathLike | None = None,
        watch: bool = False,
        timeout: float = 2.0,
        *,
        retry_after: float = 5.0,
    ) -> None:
        self._http = Transport(base_url, token, timeout)
        self.base_url = self._http.base_url
        self.ttl = float(cache_ttl_seconds)
        self.timeout = float(timeout)
        self.retry_after = float(retry_after)
        self.bundle = Bundle(fallback_bundle) if fallback_bundle is not None else None
        self.watch = watch
        self._cache: dict[Key, _Entry] = {}
        self._names: set[str] = set()  # names already checked
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._watchers: dict[Key, _Watcher] = {}
        self._long_poll: bool | None = None  # None: not known yet
        self._wait = max(1, min(30, int(self.ttl)))

    # -- reads -------------------------------------------------------------------------------

    def get(
        self,
        name: str,
        environment: str | None = None,
        version: str | None = None,
        key: str | None = None,
    ) -> Prompt:
        """The prompt `environment` serves (default: the server's last environment), or
        `version` (`"1.2.0"`, `"latest"`). With `key` (a user, session or tenant id) on an
        environment that splits its traffic, the version that key is assigned, by the same rule
        as the CLI and the server; the assignment is made here, so a million users cost one
        request per version of the split."""
        prompt = self._get(name, environment, version, key, blocking=True)
        assert prompt is not None
        return prompt

    def _get(
        self,
        name: str,
        environment: str | None,
        version: str | None,
        key: str | None,
        blocking: bool,
    ) -> Prompt | None:
        target = self._key(name, environment, version)
        if key is not None:
            _split.check_key(key)
        prompt = self._target(target, blocking)
        if prompt is None or key is None or target[1] != "env" or not prompt.split:
            return prompt
        split = prompt.split
        env_name = environment or prompt.record.get("environment") or ""
        bucket = _split.bucket_of_checked(name, env_name, key)
        assigned = _split.assign(split, bucket)
        if assigned == prompt.version:
            return prompt._copy(prompt.origin, split, bucket)
        other = self._target((name, "version", assigned), blocking)
        if other is None:
            return None
        return other._copy(other.origin, split, bucket)

    def refresh(
        self, name: str, environment: str | None = None, version: str | None = None
    ) -> Prompt:
        """Asks the server now, whatever the TTL: a revalidation with `If-None-Match` when a
        value is cached (a `304` keeps it), else a plain read. Raises what the server answers,
        `Unavailable` included; the cache keeps its last good value then."""
        target = self._key(name, environment, version)
        with self._lock:
            entry = self._cache.get(target)
        etag = entry.etag if entry is not None and not entry.from_bundle else None
        response = self._http.request(
            "GET", _path(target), headers={"if-none-match": etag} if etag else None
        )
        now = time.monotonic()
        if response.status == 304 and entry is not None and etag:
            with self._lock:
                entry.fetched = now
                entry.retry_at = 0.0
            return entry.prompt
        if response.status != 200:
            error = response.error()
            if not isinstance(error, Unavailable):
                with self._lock:
                    self._cache.pop(target, None)
            raise error
        fresh = _Entry(_record(response), response.headers.get("etag"), now, False)
        with self._lock:
            self._cache[target] = fresh
        self._maybe_watch(target)
        return fresh.prompt

    def _key(self, name: str, environment: str | None, version: str | None) -> Key:
        if name not in self._names:
            _split.check_name(name)
            if len(self._names) > 10_000:
                self._names.clear()
            self._names.add(name)
        if environment is not None and version is not None:
            raise InvalidRequest("give an environment or a version, not both")
        if version == "latest":
            return (name, "latest", None)
        if version is not None:
            return (name, "version", version[1:] if version[:1] == "v" else version)
        return (name, "env", environment)

    def _target(self, target: Key, blocking: bool) -> Prompt | None:
        # The fresh path takes no lock: a dict lookup and a float comparison are atomic.
        entry = self._cache.get(target)
        if (
            entry is not None
            and not entry.from_bundle
            and (target[1] == "version" or time.monotonic() - entry.fetched < self.ttl)
        ):
            return entry.as_cache
        if entry is not None:
            with self._lock:
                refresh = not entry.refreshing and time.monotonic() >= entry.retry_at
                if refresh:
                    entry.refreshing = True
            if refresh:
                threading.Thread(target=self._revalidate, args=(target, entry), daemon=True).start()
            return entry.prompt if entry.from_bundle else entry.prompt._copy("stale")
        if not blocking:
            return None
        return self._fetch_cold(target)

    def _fetch_cold(self, target: Key) -> Prompt:
        try:
            response = self._http.request("GET", _path(target))
            if response.status != 200:
                raise response.error()
            record = _record(response)
        except Unavailable:
            record_b = self._from_bundle(target)
            if record_b is None:
                raise
            entry = _Entry(record_b, None, float("-inf"), True)
            entry.retry_at = time.monotonic() + min(self.ttl, self.retry_after)
            with self._lock:
                self._cache.setdefault(target, entry)
            return entry.prompt
        entry = _Entry(record, response.headers.get("etag"), time.monotonic(), False)
        with self._lock:
            self._cache[target] = entry
        self._maybe_watch(target)
        return entry.prompt

    def _from_bundle(self, target: Key) -> dict[str, Any] | None:
        if self.bundle is None:
            return None
        name, kind, value = target
        if kind == "env":
            return self.bundle.for_environment(name, value)
        if kind == "version" and value is not None:
            return self.bundle.for_version(name, value)
        return None

    def _revalidate(self, target: Key, entry: _Entry) -> None:
        headers = {"if-none-match": entry.etag} if entry.etag else None
        try:
            response = self._http.request("GET", _path(target), headers=headers)
            if response.status == 304 and entry.etag:
                with self._lock:
                    entry.fetched = time.monotonic()
                    entry.retry_at = 0.0
            elif response.status == 200:
                record = _record(response)
                fresh = _Entry(record, response.headers.get("etag"), time.monotonic(), False)
                with self._lock:
                    self._cache[target] = fresh
                self._maybe_watch(target)
            else:
                raise response.error()
        except Unavailable as e:
            log.debug("revalidation of %s failed: %s", target, e)
            with self._lock:
                entry.retry_at = time.monotonic() + min(self.ttl, self.retry_after)
        except PromptRegError as e:
            # Authoritative (404, other 4xx): the value is no longer served.
            log.debug("revalidation of %s refused: %s", target, e)
            with self._lock:
                if self._cache.get(target) is entry:
                    del self._cache[target]
        finally:
            entry.refreshing = False

    # -- watch -------------------------------------------------------------------------------

    def _maybe_watch(self, target: Key) -> None:
        if not self.watch or target[1] != "env" or self._long_poll is False:
            return
        with self._lock:
            if self._closed.is_set() or target in self._watchers:
                return
            watcher = _Watcher(self, target)
            self._watchers[target] = watcher
        watcher.start()

    def _no_long_poll(self, message: str) -> None:
        with self._lock:
            first = self._long_poll is not False
            self._long_poll = False
        if first:
            log.warning(
                "%s does not support long polls (%s); watch falls back to polling every "
                "%g s (the TTL)",
                self.base_url,
                message,
                self.ttl,
            )

    # -- other reads ---------------------------------------------------------------------

    def _read(self, path: str) -> Any:
        response = self._http.request("GET", path)
        if response.status != 200:
            raise response.error()
        return response.json()

    def versions(self, name: str) -> Rows:
        """Every version of `name`, oldest first (`promptreg versions NAME --format json`)."""
        _split.check_name(name)
        result: Rows = self._read(f"/api/prompts/{_quote_name(name)}/versions")
        return result

    def history(self, name: str, environment: str | None = None) -> Rows:
        """The audit trail of `name`, newest first (`promptreg history NAME --format json`)."""
        _split.check_name(name)
        path = f"/api/prompts/{_quote_name(name)}/history" + query_string(
            {"environment": environment}
        )
        result: Rows = self._read(path)
        return result

    def list(self, environment: str | None = None, domain: str | None = None) -> Rows:
        """One row per prompt (`promptreg list --format json`)."""
        path = "/api/prompts" + query_string({"environment": environment, "domain": domain})
        result: Rows = self._read(path)
        return result

    def tests(self, name: str, version: str | None = None, environment: str | None = None) -> Rows:
        """Recorded test runs (`promptreg results show NAME[@V] --format json`)."""
        _split.check_name(name)
        path = f"/api/prompts/{_quote_name(name)}/tests" + query_string(
            {"version": version, "environment": environment}
        )
        result: Rows = self._read(path)
        return result

    # -- writes --------------------------------------------------------------------------

    def _write(self, method: str, path: str, body: dict[str, Any], name: str) -> Prompt:
        response = self._http.request(method, path, body=body, timeout=_WRITE_TIMEOUT)
        if response.status not in (200, 201):
            raise response.error()
        record = _record(response)
        self._forget(name)
        return Prompt(record, "server", etag=response.headers.get("etag"))

    def _forget(self, name: str) -> None:
        """Drops what a write may have changed: every entry of `name` but pinned versions."""
        with self._lock:
            for k in [k for k in self._cache if k[0] == name and k[1] != "version"]:
                del self._cache[k]

    def create(
        self,
        name: str,
        system_prompt: str | None = None,
        version: str | None = None,
        description: str = "",
        *,
        bump: str | None = None,
        **fields: Any,
    ) -> Prompt:
        """Releases a version (`POST /api/prompts`): `version` or `bump`
        (major|minor|patch|auto), plus any `prompt.yaml` field (`messages`, `variables`,
        `model`, `temperature`, ...)."""
        _split.check_name(name)
        if (version is None) == (bump is None):
            raise InvalidRequest("give a version or a bump, not both or neither")
        body: dict[str, Any] = {"name": name, "description": description}
        if version is not None:
            body["version"] = version
        else:
            body["bump"] = bump
        if system_prompt is not None:
            body["system_prompt"] = system_prompt
        body.update(fields)
        return self._write("POST", "/api/prompts", body, name)

    def promote(
        self,
        name: str,
        version: str,
        environment: str,
        reason: str,
        *,
        force: bool = False,
        canary: float | None = None,
    ) -> Prompt:
        """Points `environment` at `version`; with `canary=P`, starts or re-weights a canary
        of it at P percent."""
        _split.check_name(name)
        body: dict[str, Any] = {"environment": environment, "reason": reason}
        if force:
            body["force"] = True
        if canary is not None:
            body["canary"] = canary
        path = f"/api/prompts/{_quote_name(name)}@{urllib.parse.quote(version, safe='')}/promote"
        return self._write("PATCH", path, body, name)

    def rollback(
        self, name: str, environment: str, reason: str, *, to: str | None = None
    ) -> Prompt:
        """Moves `environment` back to the version it held before (a split: its first entry),
        or to `to`; answers the record of what it holds now."""
        _split.check_name(name)
        body: dict[str, Any] = {"environment": environment, "reason": reason}
        if to is not None:
            body["to"] = to
        return self._write("PATCH", f"/api/prompts/{_quote_name(name)}/rollback", body, name)

    def split(
        self,
        name: str,
        environment: str,
        split: SplitSpec,
        reason: str,
        *,
        force: bool = False,
    ) -> Prompt:
        """Splits `environment`'s traffic: `{"1.1.0": 50, "1.2.0": 50}` or a list of
        `{"version", "percent"}` (order matters: keys are assigned along it)."""
        _split.check_name(name)
        entries: list[dict[str, Any]] = []
        items: Any = split.items() if isinstance(split, Mapping) else split
        for item in items:
            if isinstance(item, Mapping):
                entries.append({"version": item["version"], "percent": item["percent"]})
            else:
                v, p = item
                entries.append({"version": v, "percent": p})
        body: dict[str, Any] = {"environment": environment, "split": entries, "reason": reason}
        if force:
            body["force"] = True
        return self._write("PUT", f"/api/prompts/{_quote_name(name)}/split", body, name)

    # -- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Stops the watchers (their long polls are cut at once)."""
        self._closed.set()
        with self._lock:
            watchers = list(self._watchers.values())
        for w in watchers:
            w.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Watcher(threading.Thread):
    """Long-polls one environment's record and keeps its cache entry current."""

    def __init__(self, client: Client, target: Key) -> None:
        super().__init__(daemon=True, name=f"promptreg-watch {target[0]}@{target[2]}")
        self.client = client
        self.target = target
        self.conn: http.client.HTTPConnection | None = None

    def stop(self) -> None:
        conn = self.conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(2)

    def run(self) -> None:
        try:
            self._loop()
        finally:
            with self.client._lock:
                if self.client._watchers.get(self.target) is self:
                    del self.client._watchers[self.target]

    def _loop(self) -> None:
        c = self.client
        name, _, environment = self.target
        wait = c._wait
        path = f"/api/prompts/{_quote_name(name)}/latest" + query_string(
            {"environment": environment, "wait": str(wait)}
        )
        self.conn = c._http.new_connection(wait + c.timeout)
        backoff = 0.5
        while not c._closed.is_set():
            with c._lock:
                entry = c._cache.get(self.target)
            # Dropped by a write: ask without a tag (answered at once) to fill the entry again.
            etag = entry.etag if entry is not None else None
            started = time.monotonic()
            try:
                response = c._http.request(
                    "GET",
                    path,
                    headers={"if-none-match": etag} if etag else None,
                    timeout=wait + c.timeout,
                    connection=self.conn,
                )
            except Unavailable as e:
                if c._closed.is_set():
                    return
                log.debug("watch of %s: %s", self.target, e)
                if entry is not None:
                    with c._lock:
                        entry.retry_at = time.monotonic() + min(c.ttl, c.retry_after)
                c._closed.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            now = time.monotonic()
            if response.status == 400:
                err = response.error()
                if err.code == "unknown-parameter" and "wait" in err.message:
                    c._no_long_poll(err.message)
                    return
            if response.status == 304 and entry is not None:
                with c._lock:
                    entry.fetched = now
                    entry.retry_at = 0.0
                changed = False
            elif response.status == 200:
                try:
                    record = _record(response)
                except Unavailable:
                    c._closed.wait(backoff)
                    continue
                new_etag = response.headers.get("etag")
                with c._lock:
                    # Kept unless another answer replaced the entry meanwhile; a write that
                    # dropped it is what this answer brings.
                    if c._cache.get(self.target) in (entry, None):
                        c._cache[self.target] = _Entry(record, new_etag, now, False)
                changed = new_etag != etag
            else:
                err = response.error()
                if isinstance(err, Unavailable):
                    c._closed.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                # Authoritative (404, other 4xx): the next get raises it, and watches again.
                with c._lock:
                    if entry is not None and c._cache.get(self.target) is entry:
                        del c._cache[self.target]
                return
            backoff = 0.5
            # Never spin: an answer that brings nothing new well before `wait` seconds (a server
            # that ignores `wait`) is followed by a pause until `wait` seconds have passed.
            if not changed and now - started < wait / 2:
                c._closed.wait(wait - (now - started))
