"""The split rule against fixtures/split-vectors.json, locally and through a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import ROOT, Registry, Server

from promptreg import Client, InvalidRequest, assign, bucket

VECTORS: dict[str, Any] = json.loads((ROOT / "fixtures/split-vectors.json").read_text("utf-8"))
SPLIT = [{"version": "1.1.0", "percent": 90}, {"version": "1.2.0", "percent": 10}]


@pytest.mark.parametrize(
    "case", VECTORS["buckets"], ids=lambda c: f"{c['environment']}-{c['key'][:20]}"
)
def test_bucket_vectors(case: dict[str, Any]) -> None:
    assert bucket(case["name"], case["environment"], case["key"]) == case["bucket"]


def test_assignment_vectors() -> None:
    assert len(VECTORS["assignments"]) > 20
    for case in VECTORS["assignments"]:
        assert assign(case["split"], case["bucket"]) == case["version"], case


def test_read_vectors_locally() -> None:
    canary = 0
    for case in VECTORS["reads"]:
        b = bucket(case["name"], case["environment"], case["key"])
        assert b == case["bucket"]
        assert assign(case["split"], b) == case["version"]
        canary += case["version"] == "1.2.0"
    assert canary > 0  # the vectors exercise the canary


def test_bad_keys_are_refused_locally() -> None:
    for key in ["", "a\nb", "a\rb"]:
        with pytest.raises(InvalidRequest):
            bucket("summarize", "production", key)


def test_split_reads_match_vectors_and_server(registry: Registry, server: Server) -> None:
    client = Client(server.url)
    client.split("support/refund-agent", "staging", {"1.1.0": 90, "1.2.0": 10}, "A/B vectors")
    # production takes the same split (forced past its gate: the vectors are what is tested)
    client.promote("support/refund-agent", "1.1.0", "production", "vectors", force=True)
    client.split("support/refund-agent", "production", SPLIT, "A/B vectors", force=True)
    fresh = Client(server.url)
    before = len(server.requests("support/refund-agent"))
    for case in VECTORS["reads"]:
        p = fresh.get(case["name"], environment=case["environment"], key=case["key"])
        assert (p.version, p.bucket) == (case["version"], case["bucket"]), case
        assert p.split == SPLIT
    made = len(server.requests("support/refund-agent")) - before
    # one request per environment and one for the other entry (1.2.0, the same version in
    # both), not one per key
    assert made == 3, made
    # the server's own assignment agrees
    plain = Client(server.url, cache_ttl_seconds=0)
    for case in VECTORS["reads"][:6]:
        import urllib.parse
        import urllib.request

        q = urllib.parse.urlencode({"environment": case["environment"], "key": case["key"]})
        url = f"{server.url}/api/prompts/support/refund-agent/latest?{q}"
        body = json.loads(urllib.request.urlopen(url).read())
        assert (body["version"], body["bucket"]) == (case["version"], case["bucket"])
    assert plain.get("support/refund-agent", environment="staging").version == "1.1.0"


def test_split_offline_from_bundle(registry: Registry, server: Server, tmp_path: Any) -> None:
    Client(server.url).split("support/refund-agent", "staging", SPLIT, "canary")
    bundle = registry.export(tmp_path / "staging.json", "staging")
    server.stop()
    client = Client(server.url, fallback_bundle=bundle, timeout=0.5)
    for case in [c for c in VECTORS["reads"] if c["environment"] == "staging"]:
        p = client.get("support/refund-agent", environment="staging", key=case["key"])
        assert (p.version, p.bucket, p.origin) == (case["version"], case["bucket"], "bundle")


def test_key_on_unsplit_environment_changes_nothing(server: Server) -> None:
    p = Client(server.url).get("support/refund-agent", environment="staging", key="bob")
    assert (p.version, p.bucket, p.split) == ("1.1.0", None, None)
