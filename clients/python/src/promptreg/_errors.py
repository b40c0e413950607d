"""The error hierarchy: every error the package raises is a `PromptRegError`.

Errors that come from a server's answer carry its HTTP `status` and the `error` code and
`message` of its JSON body (`{"error": "prompt-not-found", "message": "..."}`, docs/SERVE.md).
"""

from __future__ import annotations

from typing import Any


class PromptRegError(Exception):
    """Base class of every error of this package."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(self.code)
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class InvalidRequest(PromptRegError):
    """Refused locally, before any request: a bad prompt name, an empty key, bad arguments."""


class Unavailable(PromptRegError):
    """No usable answer (connection refused, timeout, 5xx, 408, 429, a body that is not JSON)
    and nothing cached or bundled to fall back on."""


class HTTPError(PromptRegError):
    """The server answered with an error that is authoritative (a 4xx other than 408/429)."""


class BadRequest(HTTPError):
    """400: `invalid-name`, `unknown-parameter`, `invalid-key`, `invalid-split`, ..."""


class Unauthorized(HTTPError):
    """401: a token is needed, or the one sent is unknown."""


class Forbidden(HTTPError):
    """403: `writes-disabled`, `access-denied`, `foreign-origin`."""


class NotFound(HTTPError):
    """404: `prompt-not-found`, `version-not-found`, `not-in-environment`, ..."""


class Conflict(HTTPError):
    """409: `version-exists`, `gate-not-met`, `pipeline-skipped`, `nothing-to-roll-back`, ..."""


class InvalidPrompt(HTTPError):
    """422: `invalid-prompt`, `invalid-result`."""


class BundleError(PromptRegError):
    """The fallback bundle (`promptreg export` output) cannot be read or is of a newer format."""


class RenderError(PromptRegError):
    """A prompt cannot be rendered with the values given."""


class VariableError(RenderError):
    """A required variable has no value, or a value was given for an undeclared variable."""


class TemplateError(RenderError):
    """A template does not compile or render (or needs jinja2, which is not installed)."""


_BY_STATUS: dict[int, type[HTTPError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidPrompt,
}

#: Statuses that mean "try again later", not "this is the answer".
TRANSIENT = frozenset({408, 429})


def from_response(status: int, body: bytes) -> PromptRegError:
    """The error a non-2xx answer stands for: `Unavailable` for 5xx, 408 and 429, else the
    `HTTPError` subclass of its status, carrying the body's `error` and `message`."""
    code: str | None = None
    message = body.decode("utf-8", "replace").strip() or f"HTTP {status}"
    try:
        import json

        parsed: Any = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        if isinstance(parsed.get("error"), str):
            code = parsed["error"]
        if isinstance(parsed.get("message"), str):
            message = parsed["message"]
    if status >= 500 or status in TRANSIENT:
        return Unavailable(message, status=status, code=code)
    cls = _BY_STATUS.get(status, HTTPError)
    return cls(message, status=status, code=code)
