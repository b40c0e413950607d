"""Every method of `Client` against a real server, and the errors it raises."""

from __future__ import annotations

import re

import pytest
from conftest import Registry, Server

from promptreg import (
    BadRequest,
    Client,
    Conflict,
    HTTPError,
    InvalidRequest,
    NotFound,
    PromptRegError,
    Unavailable,
)

NAME = "support/refund-agent"


def test_get_targets_and_fields(server: Server) -> None:
    c = Client(server.url)
    prod = c.get(NAME, environment="production")
    assert (prod.name, prod.version, prod.origin) == (NAME, "1.0.0", "server")
    assert prod.record["id"] == f"{NAME}@1.0.0" and prod.id == prod.record["id"]
    assert prod.model == "gpt-4o" and prod.temperature == 0.4 and prod.token_budget == 2048
    assert "{{ company_name }}" in prod.system_prompt
    assert prod.messages == [{"role": "user", "content": "Customer message: {{ message }}"}]
    assert set(prod.variables) == {"company_name", "message", "refund_window_days"}
    assert prod.tests and prod.tests[0]["test"] == "golden-set"
    assert prod.etag and prod.etag.startswith('"')
    assert c.get(NAME, environment="staging").version == "1.1.0"
    assert c.get(NAME, environment="dev").version == "1.2.0"
    assert c.get(NAME).version == "1.0.0"  # the server's default: the last environment
    assert c.get(NAME, version="1.1.0").version == "1.1.0"
    assert c.get(NAME, version="v1.1.0").version == "1.1.0"
    assert c.get(NAME, version="latest").version == "1.2.0"
    again = c.get(NAME, environment="production")
    assert (again.origin, again.version) == ("cache", "1.0.0")


def test_versions_history_list_tests(server: Server) -> None:
    c = Client(server.url)
    assert [v["version"] for v in c.versions(NAME)] == ["1.0.0", "1.1.0", "1.2.0"]
    history = c.history(NAME)
    assert history and {"event", "environment"} <= set(history[0])
    prod = c.history(NAME, environment="production")
    assert prod and all(h["environment"] == "production" for h in prod)
    assert len(prod) < len(history)
    rows = c.list()
    assert [r["name"] for r in rows] == sorted(r["name"] for r in rows)
    assert {r["name"] for r in rows} >= {NAME, "summarize"}
    assert [r["name"] for r in c.list(domain="support")] == [NAME, "support/triage"]
    runs = c.tests(NAME, version="1.0.0")
    assert runs and runs[0]["test"] == "golden-set"


def test_writes(registry: Registry, server: Server) -> None:
    c = Client(server.url)
    made = c.create(
        "support/greeter",
        "Greet {{ who }}.\n",
        "1.0.0",
        "first",
        variables={"who": {"description": "whom"}},
        model="gpt-4o-mini",
    )
    assert (made.name, made.version, made.model) == ("support/greeter", "1.0.0", "gpt-4o-mini")
    bumped = c.create("support/greeter", "Greet {{ who }} warmly.\n", bump="minor", description="x")
    assert bumped.version == "1.1.0"
    with pytest.raises(Conflict) as e:
        c.create("support/greeter", "Other {{ who }}.\n", "1.1.0", "again")
    assert e.value.code == "version-exists" and e.value.status == 409
    assert c.promote("support/greeter", "1.0.0", "dev", "try").version == "1.0.0"
    assert c.get("support/greeter", environment="dev").version == "1.0.0"
    c.promote("support/greeter", "1.1.0", "dev", "newer")
    # the write dropped the cached environment: the writer sees its own write
    assert c.get("support/greeter", environment="dev").version == "1.1.0"
    back = c.rollback("support/greeter", "dev", "bad")
    assert back.version == "1.0.0"
    assert c.get("support/greeter", environment="dev").version == "1.0.0"
    # a canary and a split
    canary = c.promote(NAME, "1.2.0", "staging", "canary", canary=10)
    assert canary.split == [
        {"version": "1.1.0", "percent": 90},
        {"version": "1.2.0", "percent": 10},
    ]
    ab = c.split(NAME, "staging", [("1.1.0", 50), ("1.2.0", 50)], "A/B")
    assert ab.version == "1.1.0" and [e["percent"] for e in ab.split or []] == [50, 50]
    # the CLI sees what the client wrote
    assert re.search(r"1\.1\.0\s+staging 50%", registry.cli("versions", NAME).stdout)


def test_gate_error_carries_the_server_message(server: Server) -> None:
    with pytest.raises(Conflict) as e:
        Client(server.url).promote(NAME, "1.1.0", "production", "no tests yet")
    assert e.value.code == "gate-not-met"
    assert "golden-set" in e.value.message
    assert isinstance(e.value, HTTPError) and isinstance(e.value, PromptRegError)


def test_errors(server: Server) -> None:
    c = Client(server.url)
    with pytest.raises(NotFound) as nf:
        c.get("no/such-prompt")
    assert nf.value.code == "prompt-not-found" and nf.value.status == 404
    assert "no/such-prompt" in nf.value.message
    with pytest.raises(NotFound) as ver:
        c.get(NAME, version="9.9.9")
    assert ver.value.code == "version-not-found"
    with pytest.raises(NotFound) as env:
        c.get("marketing/product-description", environment="production")
    assert env.value.code == "not-in-environment"
    with pytest.raises(NotFound) as unknown:
        c.get(NAME, environment="nowhere")
    assert unknown.value.code == "unknown-environment"
    with pytest.raises(BadRequest) as bad:
        c.rollback(NAME, "staging", "   ")
    assert bad.value.code == "bad-request"


def test_local_refusals_make_no_request(server: Server) -> None:
    c = Client(server.url)
    for bad in ["Support/Refund", "a//b", "../x", ""]:
        with pytest.raises(InvalidRequest):
            c.get(bad)
    with pytest.raises(InvalidRequest):
        c.get(NAME, key="")
    with pytest.raises(InvalidRequest):
        c.get(NAME, environment="staging", version="1.0.0")
    assert server.requests() == []


def test_no_server_no_bundle_is_unavailable(server: Server) -> None:
    url = server.url
    server.stop()
    with pytest.raises(Unavailable):
        Client(url, timeout=0.5).get(NAME)
