"""AsyncClient: the same behaviour, awaited, and a cached read that needs no thread."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from conftest import Registry, Server

from promptreg import AsyncClient, NotFound, Prompt

NAME = "support/refund-agent"


def test_async_reads_and_writes(registry: Registry, server: Server) -> None:
    async def main() -> None:
        async with AsyncClient(server.url, cache_ttl_seconds=300) as c:
            prompts = await asyncio.gather(
                c.get(NAME, environment="production"),
                c.get(NAME, environment="staging"),
                c.get(NAME, version="1.2.0"),
                c.get("summarize"),
            )
            assert [p.version for p in prompts] == ["1.0.0", "1.1.0", "1.2.0", "1.0.0"]
            assert all(isinstance(p, Prompt) for p in prompts)
            again = await c.get(NAME, environment="staging")
            assert again.origin == "cache"
            refreshed = await c.refresh(NAME, environment="staging")  # a 304
            assert (refreshed.origin, refreshed.etag) == ("server", again.etag)
            assert len(await c.versions(NAME)) == 3
            assert await c.history(NAME, environment="production")
            assert len(await c.list()) == 4
            assert await c.tests(NAME, version="1.0.0")
            made = await c.create(
                "support/async", "Hi {{ who }}.", "1.0.0", "async", variables={"who": {}}
            )
            assert made.version == "1.0.0"
            await c.promote("support/async", "1.0.0", "dev", "try")
            assert (await c.get("support/async", environment="dev")).version == "1.0.0"
            await c.split(NAME, "staging", {"1.1.0": 50, "1.2.0": 50}, "A/B")
            alice = await c.get(NAME, environment="staging", key="alice")
            assert (alice.version, alice.bucket) == ("1.2.0", 5174)
            assert (await c.rollback(NAME, "staging", "end")).version == "1.1.0"
            with pytest.raises(NotFound):
                await c.get("no/such")

    asyncio.run(main())


def test_cached_async_get_stays_on_the_loop(server: Server) -> None:
    async def main() -> float:
        c = AsyncClient(server.url)
        await c.get(NAME)
        threads = threading.active_count()
        started = time.perf_counter()
        for _ in range(1000):
            p = await c.get(NAME)
            assert p.origin == "cache"
        assert threading.active_count() == threads
        return (time.perf_counter() - started) / 1000

    per_call = asyncio.run(main())
    assert per_call < 0.001  # no executor round trip
