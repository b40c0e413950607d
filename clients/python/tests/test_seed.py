"""The seed's classes, used exactly as the seed's example used them."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Registry, Server

from promptreg import CachedPromptRegistry, NotFound, PromptRegistry


def test_prompt_registry_verbatim(registry: Registry, server: Server) -> None:
    registry_client = PromptRegistry(base_url=server.url)
    record = registry_client.fetch("support/refund-agent")
    assert isinstance(record, dict) and record["version"] == "1.0.0"
    assert registry_client.fetch("support/refund-agent", version="1.1.0")["version"] == "1.1.0"
    staging = registry_client.fetch("support/refund-agent", environment="staging")
    assert staging["environment"] == "staging" and staging["version"] == "1.1.0"
    created = registry_client.create(
        "support/faq", "You answer questions about our product.", "1.0.0", "First FAQ prompt"
    )
    assert isinstance(created, dict) and created["id"] == "support/faq@1.0.0"
    promoted = registry_client.promote("support/faq@1.0.0", "dev", "try it")
    assert promoted["environments"] == ["dev"]
    assert registry_client.fetch("support/faq", environment="dev")["version"] == "1.0.0"
    assert "support/faq" in registry.cli("list").stdout
    with pytest.raises(NotFound):
        registry_client.fetch("support/nothing")


def test_prompt_registry_default_url_and_key(server: Server) -> None:
    assert PromptRegistry().base_url == "http://localhost:8000"
    r = PromptRegistry(server.url)
    from promptreg import Client

    Client(server.url).split("support/refund-agent", "staging", {"1.1.0": 50, "1.2.0": 50}, "A/B")
    # README: alice is in 1.2.0's half of staging, bob in 1.1.0's
    assert r.fetch("support/refund-agent", environment="staging", key="alice")["version"] == "1.2.0"
    bob = r.fetch("support/refund-agent", environment="staging", key="bob")
    assert (bob["version"], bob["bucket"]) == ("1.1.0", 4811)


def test_cached_prompt_registry_verbatim(registry: Registry, server: Server) -> None:
    cache = CachedPromptRegistry(server.url, cache_ttl_seconds=300)

    async def main() -> tuple[str, str, str]:
        first = await cache.fetch("support/refund-agent")
        second = await cache.fetch("support/refund-agent", environment="staging")
        registry.cli(
            "promote", "support/refund-agent", "1.2.0", "--env", "staging", "--reason", "x"
        )
        third = await cache.fetch("support/refund-agent", environment="staging")  # cached
        return first, second, third

    first, second, third = asyncio.run(main())
    assert isinstance(first, str) and first.startswith("You are a customer support agent")
    assert "Always ask for the order number first." not in first  # production: 1.0.0
    assert "Always ask for the order number first." in second  # staging: 1.1.0
    assert third == second
    assert CachedPromptRegistry(server.url).client.sync.ttl == 300
