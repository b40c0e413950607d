"""`Prompt`: one prompt record (docs/FORMAT.md §7) and where it came from."""

from __future__ import annotations

from typing import Any

from . import _render

#: Where a `Prompt` came from.
#: `server`: this call's request answered it; `cache`: fetched (or revalidated) less than the TTL
#: ago, or a pinned version; `stale`: older than the TTL (being refreshed in the background) or
#: kept while the server cannot be reached; `bundle`: the fallback bundle, never from a server.
ORIGINS = ("server", "cache", "stale", "bundle")


class Prompt:
    """A prompt record. `record` is the whole JSON object the server sent (or the bundle holds);
    the attributes are its main fields. `split` and `bucket` describe the environment's traffic
    split and the key's bucket when a key was given (else `bucket` is None)."""

    __slots__ = (
        "bucket",
        "etag",
        "messages",
        "model",
        "name",
        "origin",
        "record",
        "split",
        "system_prompt",
        "temperature",
        "tests",
        "token_budget",
        "variables",
        "version",
    )

    def __init__(
        self,
        record: dict[str, Any],
        origin: str,
        *,
        etag: str | None = None,
        split: list[dict[str, Any]] | None = None,
        bucket: int | None = None,
    ) -> None:
        self.record = record
        self.origin = origin
        self.etag = etag
        self.name: str = record.get("name", "")
        self.version: str = record.get("version", "")
        self.system_prompt: str = record.get("system_prompt") or ""
        self.messages: list[dict[str, str]] = list(record.get("messages") or [])
        self.variables: dict[str, dict[str, Any]] = dict(record.get("variables") or {})
        self.model: str | None = record.get("model")
        self.temperature: float = float(record.get("temperature", 0.7))
        self.token_budget: int = int(record.get("token_budget", 4096))
        self.tests: list[dict[str, Any]] = list(record.get("tests") or [])
        self.split = split if split is not None else record.get("split")
        self.bucket = bucket if bucket is not None else record.get("bucket")

    @property
    def id(self) -> str:
        """`name@version`."""
        return str(self.record.get("id") or f"{self.name}@{self.version}")

    def _copy(
        self, origin: str, split: list[dict[str, Any]] | None = None, bucket: int | None = None
    ) -> Prompt:
        """The same prompt with another origin (and a split's `split` and `bucket`), without
        reading the record again."""
        p = Prompt.__new__(Prompt)
        p.record = self.record
        p.origin = origin
        p.etag = self.etag
        p.name = self.name
        p.version = self.version
        p.system_prompt = self.system_prompt
        p.messages = self.messages
        p.variables = self.variables
        p.model = self.model
        p.temperature = self.temperature
        p.token_budget = self.token_budget
        p.tests = self.tests
        p.split = self.split if split is None else split
        p.bucket = self.bucket if bucket is None else bucket
        return p

    def _rendered(self, variables: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
        vals = _render.values(self.id, self.variables, variables)
        system = _render.render_template(self.system_prompt, vals, "system_prompt")
        messages = [
            {
                "role": m["role"],
                "content": _render.render_template(m["content"], vals, f"messages[{i}]"),
            }
            for i, m in enumerate(self.messages)
        ]
        return system, messages

    def render(self, **variables: Any) -> str:
        """The text `promptreg render` prints: the rendered system prompt, then each message
        as a `[role]` block, separated by blank lines. Strict (see `render_messages`)."""
        system, messages = self._rendered(variables)
        return _render.layout(system, messages)

    def render_system(self, **variables: Any) -> str:
        """The rendered system prompt alone (empty when the prompt has none)."""
        return self._rendered(variables)[0]

    def render_messages(self, **variables: Any) -> list[dict[str, str]]:
        """The `messages` of a chat-completion request, exactly `promptreg render --format
        json`'s: the system prompt first (left out when empty), then the prompt's messages.
        A missing required variable or an undeclared one raises `VariableError`; defaults are
        applied; a template that cannot render raises `TemplateError`."""
        system, messages = self._rendered(variables)
        head = [{"role": "system", "content": system}] if system else []
        return head + messages

    def __repr__(self) -> str:
        extra = f", bucket={self.bucket}" if self.bucket is not None else ""
        return f"Prompt({self.id!r}, origin={self.origin!r}{extra})"
