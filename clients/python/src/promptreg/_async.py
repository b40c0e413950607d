"""`AsyncClient`: `Client`'s shape for asyncio.

A cached read is answered on the event loop itself (a dictionary lookup, no thread); a read
that needs the network, and every write, runs the blocking `Client` call in the loop's default
thread executor (`asyncio.to_thread`), so the event loop never blocks on a socket. Watchers and
background revalidations are `Client`'s daemon threads.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ._bundle import PathLike
from ._client import Client, Rows, SplitSpec
from ._prompt import Prompt


class AsyncClient:
    """The asynchronous client: the same arguments and methods as `Client`, awaited."""

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
        self.sync = Client(
            base_url,
            token=token,
            cache_ttl_seconds=cache_ttl_seconds,
            fallback_bundle=fallback_bundle,
            watch=watch,
            timeout=timeout,
            retry_after=retry_after,
        )

    async def get(
        self,
        name: str,
        environment: str | None = None,
        version: str | None = None,
        key: str | None = None,
    ) -> Prompt:
        """`Client.get`, awaited."""
        cached = self.sync._get(name, environment, version, key, blocking=False)
        if cached is not None:
            return cached
        return await asyncio.to_thread(self.sync.get, name, environment, version, key)

    async def refresh(
        self, name: str, environment: str | None = None, version: str | None = None
    ) -> Prompt:
        """`Client.refresh`, awaited."""
        return await asyncio.to_thread(self.sync.refresh, name, environment, version)

    async def versions(self, name: str) -> Rows:
        return await asyncio.to_thread(self.sync.versions, name)

    async def history(self, name: str, environment: str | None = None) -> Rows:
        return await asyncio.to_thread(self.sync.history, name, environment)

    async def list(self, environment: str | None = None, domain: str | None = None) -> Rows:
        return await asyncio.to_thread(self.sync.list, environment, domain)

    async def tests(
        self, name: str, version: str | None = None, environment: str | None = None
    ) -> Rows:
        return await asyncio.to_thread(self.sync.tests, name, version, environment)

    async def create(
        self,
        name: str,
        system_prompt: str | None = None,
        version: str | None = None,
        description: str = "",
        *,
        bump: str | None = None,
        **fields: Any,
    ) -> Prompt:
        def call() -> Prompt:
            return self.sync.create(name, system_prompt, version, description, bump=bump, **fields)

        return await asyncio.to_thread(call)

    async def promote(
        self,
        name: str,
        version: str,
        environment: str,
        reason: str,
        *,
        force: bool = False,
        canary: float | None = None,
    ) -> Prompt:
        def call() -> Prompt:
            return self.sync.promote(name, version, environment, reason, force=force, canary=canary)

        return await asyncio.to_thread(call)

    async def rollback(
        self, name: str, environment: str, reason: str, *, to: str | None = None
    ) -> Prompt:
        def call() -> Prompt:
            return self.sync.rollback(name, environment, reason, to=to)

        return await asyncio.to_thread(call)

    async def split(
        self, name: str, environment: str, split: SplitSpec, reason: str, *, force: bool = False
    ) -> Prompt:
        def call() -> Prompt:
            return self.sync.split(name, environment, split, reason, force=force)

        return await asyncio.to_thread(call)

    async def aclose(self) -> None:
        self.sync.close()

    def close(self) -> None:
        self.sync.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.sync.close()
