"""Drop-in replacements for the seed's example clients, same names, arguments and return types.

`PromptRegistry` is the plain one (every call a request, records as dicts); `CachedPromptRegistry`
the asyncio one that returns system prompt text, now with the full cache of `AsyncClient`.
"""

from __future__ import annotations

from typing import Any

from . import _split
from ._async import AsyncClient
from ._client import _quote_name
from ._http import Transport, query_string

_WRITE_TIMEOUT = 30.0


class PromptRegistry:
    """The seed's blocking client: no cache; each method is one request and returns its JSON."""

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = Transport(self.base_url, token, timeout)

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        timeout = _WRITE_TIMEOUT if body is not None else None
        response = self._http.request(method, path, body=body, timeout=timeout)
        if response.status not in (200, 201):
            raise response.error()
        result: dict[str, Any] = response.json()
        return result

    def fetch(
        self,
        name: str,
        version: str | None = None,
        environment: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        """The record of `version`, or of what `environment` serves (default: production, the
        last environment); `key` picks a split environment's version for that user."""
        _split.check_name(name)
        query = query_string({"version": version, "environment": environment, "key": key})
        return self._call("GET", f"/api/prompts/{_quote_name(name)}{query}")

    def create(
        self, name: str, system_prompt: str, version: str, description: str
    ) -> dict[str, Any]:
        """Releases `version` of `name` with `system_prompt`; the new record."""
        body = {
            "name": name,
            "system_prompt": system_prompt,
            "version": version,
            "description": description,
        }
        return self._call("POST", "/api/prompts", body)

    def promote(self, prompt_id: str, environment: str, reason: str) -> dict[str, Any]:
        """Promotes `prompt_id` (`name@version`) to `environment`; the record."""
        name, _, version = prompt_id.rpartition("@")
        _split.check_name(name)
        path = f"/api/prompts/{_quote_name(name)}@{version}/promote"
        return self._call("PATCH", path, {"environment": environment, "reason": reason})


class CachedPromptRegistry:
    """The seed's asyncio client: `await fetch(name)` is the system prompt production serves,
    cached for `cache_ttl_seconds` (stale-while-revalidate, last good value when the server is
    down)."""

    def __init__(
        self, registry_url: str, cache_ttl_seconds: int = 300, token: str | None = None
    ) -> None:
        self.client = AsyncClient(registry_url, token=token, cache_ttl_seconds=cache_ttl_seconds)

    async def fetch(
        self, name: str, environment: str = "production", key: str | None = None
    ) -> str:
        """The system prompt text `environment` serves (for `key`, on a split)."""
        prompt = await self.client.get(name, environment=environment, key=key)
        return prompt.system_prompt
