"""The cache: TTL, stale-while-revalidate, pinned versions, a server that dies, the bundle."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import Registry, Server

from promptreg import BundleError, Client, NotFound, Unavailable

NAME = "support/refund-agent"


def wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_ttl_then_stale_while_revalidate(registry: Registry, server: Server) -> None:
    c = Client(server.url, cache_ttl_seconds=1.0)
    assert c.get(NAME, environment="staging").version == "1.1.0"
    registry.cli("promote", NAME, "1.2.0", "--env", "staging", "--reason", "newer")
    within = c.get(NAME, environment="staging")
    assert (within.version, within.origin) == ("1.1.0", "cache")  # no request within the TTL
    time.sleep(1.1)
    started = time.monotonic()
    expired = c.get(NAME, environment="staging")
    assert time.monotonic() - started < 0.05  # served at once, not after a round trip
    assert (expired.version, expired.origin) == ("1.1.0", "stale")
    wait_for(lambda: c.get(NAME, environment="staging").version == "1.2.0")
    assert c.get(NAME, environment="staging").origin == "cache"


def test_revalidation_uses_if_none_match(server: Server) -> None:
    c = Client(server.url, cache_ttl_seconds=0.2)
    first = c.get(NAME, environment="production")
    for _ in range(3):
        time.sleep(0.25)
        c.get(NAME, environment="production")
        wait_for(lambda: c.get(NAME, environment="production").origin == "cache")
    statuses = [r["status"] for r in server.requests(NAME)]
    assert statuses[0] == 200 and statuses.count(304) >= 3, statuses
    assert c.get(NAME, environment="production").etag == first.etag


def test_pinned_versions_live_for_the_process(server: Server) -> None:
    c = Client(server.url, cache_ttl_seconds=0.01)
    assert c.get(NAME, version="1.1.0").origin == "server"
    server.stop()
    time.sleep(0.05)
    p = c.get(NAME, version="1.1.0")
    assert (p.version, p.origin) == ("1.1.0", "cache")


def test_server_dies_mid_run_then_comes_back(registry: Registry, server: Server) -> None:
    c = Client(server.url, cache_ttl_seconds=0.2, timeout=0.5, retry_after=0.2)
    assert c.get(NAME, environment="staging").version == "1.1.0"
    server.kill()
    time.sleep(0.3)
    for _ in range(5):  # the last good value, however old, and no error
        p = c.get(NAME, environment="staging")
        assert (p.version, p.origin) == ("1.1.0", "stale")
        time.sleep(0.1)
    registry.cli("promote", NAME, "1.2.0", "--env", "staging", "--reason", "while down")
    server.start()  # the same port
    wait_for(lambda: c.get(NAME, environment="staging").version == "1.2.0")
    assert c.get(NAME, environment="staging").origin == "cache"


def test_failures_are_not_retried_on_every_call(server: Server) -> None:
    # a pause (min(ttl, retry_after)) long enough for a slow machine to restart the server
    c = Client(server.url, cache_ttl_seconds=2.5, timeout=0.5, retry_after=2.5)
    c.get(NAME)
    time.sleep(2.55)
    server.stop()
    asked = len(server.requests(NAME))  # the log is appended to across restarts
    assert c.get(NAME).origin == "stale"  # expired: starts a revalidation, which fails
    time.sleep(0.1)
    server.start()  # back, but the client waits out retry_after before asking again
    for _ in range(10):
        assert c.get(NAME).origin == "stale"
        time.sleep(0.03)
    assert len(server.requests(NAME)) == asked  # not asked during the pause
    wait_for(lambda: c.get(NAME).origin == "cache")
    assert len(server.requests(NAME)) == asked + 1


def test_bundle_on_a_cold_start(registry: Registry, server: Server, tmp_path: Path) -> None:
    bundle = registry.export(tmp_path / "bundle.json")
    url = server.url
    server.stop()
    c = Client(url, fallback_bundle=bundle, timeout=0.5)
    p = c.get(NAME, environment="production")
    assert (p.version, p.origin) == ("1.0.0", "bundle")
    assert c.get(NAME).origin == "bundle"  # the default environment, as export's default
    assert c.get(NAME, version="1.0.0").origin == "bundle"
    with pytest.raises(Unavailable):
        c.get(NAME, version="latest")  # the highest release may not be what production serves
    with pytest.raises(Unavailable):
        c.get(NAME, environment="staging")  # not the bundle's environment
    with pytest.raises(Unavailable):
        c.get("no/such-prompt")
    assert p.render(company_name="Acme", message="hi").startswith("You are a customer")
    # the server comes back: the bundle's value is replaced
    registry.cli("promote", NAME, "1.1.0", "--env", "production", "--reason", "x", "--force")
    server.start()
    c2 = Client(
        server.url, fallback_bundle=bundle, timeout=0.5, retry_after=0.1, cache_ttl_seconds=0.1
    )
    assert c2.get(NAME).version == "1.1.0"


def test_bundle_value_refreshed_when_server_returns(
    registry: Registry, server: Server, tmp_path: Path
) -> None:
    bundle = registry.export(tmp_path / "bundle.json")
    url = server.url
    server.stop()
    c = Client(url, fallback_bundle=bundle, timeout=0.5, retry_after=0.1, cache_ttl_seconds=1)
    assert c.get(NAME).origin == "bundle"
    registry.cli("promote", NAME, "1.1.0", "--env", "production", "--reason", "x", "--force")
    server.start()
    wait_for(lambda: c.get(NAME).version == "1.1.0")
    assert c.get(NAME).origin == "cache"


def test_bad_bundles_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(BundleError):
        Client("http://127.0.0.1:9", fallback_bundle=missing)
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"format": 2, "environment": "production", "prompts": {}}))
    with pytest.raises(BundleError, match="format 2"):
        Client("http://127.0.0.1:9", fallback_bundle=newer)
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    with pytest.raises(BundleError):
        Client("http://127.0.0.1:9", fallback_bundle=junk)


def test_404_drops_the_cached_value(registry: Registry, server: Server) -> None:
    c = Client(server.url, cache_ttl_seconds=0.1)
    assert c.get("marketing/product-description", environment="dev").version == "0.1.0"
    # dev stops serving it: a hand edit of registry.yaml, committed
    text = (registry.path / "registry.yaml").read_text()
    lines = [
        ln
        for ln in text.splitlines()
        if "marketing/product-description" not in ln and not ln.strip().startswith("dev: 0.1.0")
    ]
    (registry.path / "registry.yaml").write_text("\n".join(lines) + "\n")
    registry.cli("validate")
    import subprocess

    subprocess.run(
        ["git", "-C", str(registry.path), "commit", "-qam", "drop"], check=True, env=registry.env
    )
    time.sleep(0.15)
    c.get("marketing/product-description", environment="dev")  # stale, revalidating

    def gone() -> bool:
        try:
            c.get("marketing/product-description", environment="dev")
        except NotFound:
            return True
        return False

    wait_for(gone)


def test_refresh_asks_now(registry: Registry, server: Server) -> None:
    c = Client(server.url, cache_ttl_seconds=300)
    first = c.refresh(NAME, environment="staging")  # nothing cached: a plain read
    assert (first.version, first.origin) == ("1.1.0", "server")
    again = c.refresh(NAME, environment="staging")  # a 304
    assert again.etag == first.etag
    registry.cli("promote", NAME, "1.2.0", "--env", "staging", "--reason", "newer")
    assert c.get(NAME, environment="staging").version == "1.1.0"  # the TTL holds it
    assert c.refresh(NAME, environment="staging").version == "1.2.0"
    assert c.get(NAME, environment="staging").version == "1.2.0"
    statuses = [r["status"] for r in server.requests(NAME)]
    assert statuses == [200, 304, 200], statuses
    server.stop()
    with pytest.raises(Unavailable):
        c.refresh(NAME, environment="staging")
    assert c.get(NAME, environment="staging").version == "1.2.0"  # kept
