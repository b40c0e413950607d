"""promptreg: the Python client of `promptreg serve`.

    from promptreg import Client
    client = Client("http://127.0.0.1:8000", fallback_bundle="bundle.json")
    prompt = client.get("support/refund-agent", environment="production", key=user_id)
    messages = prompt.render_messages(company_name="Acme", message=text)

See docs/CLIENT.md ("Python: the promptreg package") for the API, the cache and the
differences from MiniJinja.
"""

from __future__ import annotations

from ._async import AsyncClient
from ._bundle import Bundle
from ._client import Client
from ._errors import (
    BadRequest,
    BundleError,
    Conflict,
    Forbidden,
    HTTPError,
    InvalidPrompt,
    InvalidRequest,
    NotFound,
    PromptRegError,
    RenderError,
    TemplateError,
    Unauthorized,
    Unavailable,
    VariableError,
)
from ._prompt import Prompt
from ._seed import CachedPromptRegistry, PromptRegistry
from ._split import assign, bucket

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Bundle",
    "BundleError",
    "CachedPromptRegistry",
    "Client",
    "Conflict",
    "Forbidden",
    "HTTPError",
    "InvalidPrompt",
    "InvalidRequest",
    "NotFound",
    "Prompt",
    "PromptRegError",
    "PromptRegistry",
    "RenderError",
    "TemplateError",
    "Unauthorized",
    "Unavailable",
    "VariableError",
    "__version__",
    "assign",
    "bucket",
]
