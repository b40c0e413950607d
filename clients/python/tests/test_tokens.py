"""Servers started with --tokens and --read-tokens."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from conftest import READ_TOKEN, WRITE_TOKEN

from promptreg import (
    CachedPromptRegistry,
    Client,
    PromptRegistry,
    Unauthorized,
)


def test_write_tokens(serve: Any, tokens: tuple[Path, Path]) -> None:
    server = serve("--tokens", str(tokens[0]))
    anonymous = Client(server.url)
    assert anonymous.get("summarize").version == "1.0.0"  # reads stay open
    with pytest.raises(Unauthorized) as e:
        anonymous.promote("support/refund-agent", "1.2.0", "staging", "no token")
    assert e.value.status == 401 and e.value.code == "unauthorized"
    with pytest.raises(Unauthorized):
        Client(server.url, token="wrong-token-0123456789").promote(
            "support/refund-agent", "1.2.0", "staging", "bad token"
        )
    moved = Client(server.url, token=WRITE_TOKEN).promote(
        "support/refund-agent", "1.2.0", "staging", "with a token"
    )
    assert moved.version == "1.2.0"
    seed = PromptRegistry(server.url, token=WRITE_TOKEN)
    assert seed.create("summarize-short", "Summarize the text.", "1.0.0", "x")["version"] == "1.0.0"
    with pytest.raises(Unauthorized):
        PromptRegistry(server.url).create("summarize-short", "Summarize it.", "1.0.1", "x")
    history = Client(server.url).history("support/refund-agent")
    assert (history[0]["event"], history[0]["by"]) == ("promoted", "bot@example.com")


def test_read_tokens(serve: Any, tokens: tuple[Path, Path]) -> None:
    server = serve("--tokens", str(tokens[0]), "--read-tokens", str(tokens[1]))
    with pytest.raises(Unauthorized):
        Client(server.url).get("summarize")
    with pytest.raises(Unauthorized):
        PromptRegistry(server.url).fetch("summarize")
    assert Client(server.url, token=READ_TOKEN).get("summarize").version == "1.0.0"
    assert Client(server.url, token=WRITE_TOKEN).get("summarize").version == "1.0.0"
    assert PromptRegistry(server.url, token=READ_TOKEN).fetch("summarize")["version"] == "1.0.0"
    with pytest.raises(Unauthorized):  # a read token does not write
        Client(server.url, token=READ_TOKEN).promote(
            "support/refund-agent", "1.2.0", "staging", "reader"
        )
    cached = CachedPromptRegistry(server.url, token=READ_TOKEN)
    assert asyncio.run(cached.fetch("summarize")).startswith("You are a careful")
    reader = [r for r in server.requests("summarize") if r["status"] == 200]
    assert reader and reader[0]["identity"] == "Reader"
