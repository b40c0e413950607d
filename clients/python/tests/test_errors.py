"""How answers map to the error hierarchy (no server needed)."""

from __future__ import annotations

import json

import pytest

from promptreg import (
    BadRequest,
    Client,
    Conflict,
    Forbidden,
    HTTPError,
    InvalidPrompt,
    InvalidRequest,
    NotFound,
    PromptRegError,
    Unauthorized,
    Unavailable,
)
from promptreg._errors import from_response


def body(code: str, message: str) -> bytes:
    return json.dumps({"error": code, "message": message}).encode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (422, InvalidPrompt),
        (415, HTTPError),
        (408, Unavailable),
        (429, Unavailable),
        (500, Unavailable),
        (503, Unavailable),
    ],
)
def test_status_to_class(status: int, cls: type[PromptRegError]) -> None:
    e = from_response(status, body("some-code", "what the server said"))
    assert type(e) is cls
    assert (e.status, e.code, e.message) == (status, "some-code", "what the server said")
    assert str(e) == f"{status} some-code: what the server said"


def test_a_body_that_is_not_json() -> None:
    e = from_response(413, b"length limit exceeded")
    assert type(e) is HTTPError and e.code is None and e.message == "length limit exceeded"
    assert from_response(502, b"").message == "HTTP 502"


def test_bad_base_urls() -> None:
    for url in ["localhost:8000", "ftp://x", "http://"]:
        with pytest.raises(InvalidRequest):
            Client(url)
