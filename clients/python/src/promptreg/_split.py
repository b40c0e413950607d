"""Traffic splits: the normative assignment rule of docs/FORMAT.md §3.3.

bucket = first 8 bytes of SHA-256(UTF-8 of name + "\\n" + environment + "\\n" + key),
         big-endian unsigned, mod 10000
entry i covers [100*(p1+...+p(i-1)), 100*(p1+...+pi))
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import InvalidRequest

BUCKETS = 10_000

_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")


def check_name(name: str) -> None:
    """Raises `InvalidRequest` unless `name` is a prompt name (docs/FORMAT.md §2): 1 to 4
    `/`-separated segments of `[a-z0-9][a-z0-9_-]*`, each at most 64 bytes."""
    segments = name.split("/") if isinstance(name, str) else []
    ok = 1 <= len(segments) <= 4 and all(
        _SEGMENT.match(s) and len(s.encode()) <= 64 for s in segments
    )
    if not ok:
        raise InvalidRequest(
            f"`{name}` is not a prompt name: 1 to 4 segments joined by `/`, each matching "
            "[a-z0-9][a-z0-9_-]* (e.g. `support/refund-agent`)"
        )


def check_key(key: str) -> None:
    """Raises `InvalidRequest` for an empty key or one with a line break."""
    if not isinstance(key, str) or not key or "\n" in key or "\r" in key:
        raise InvalidRequest("a key is a non-empty string without a line break")


def bucket(name: str, environment: str, key: str) -> int:
    """The key's bucket, 0-9999, in `environment` of prompt `name`."""
    check_key(key)
    return bucket_of_checked(name, environment, key)


def bucket_of_checked(name: str, environment: str, key: str) -> int:
    """`bucket` of a key already checked."""
    digest = hashlib.sha256(f"{name}\n{environment}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(split: Sequence[Mapping[str, Any]], bucket: int) -> str:
    """The version of the split's entry whose range holds `bucket`."""
    end = 0
    for entry in split:
        end += round(float(entry["percent"]) * 100)
        if bucket < end:
            return str(entry["version"])
    raise InvalidRequest(f"the split {list(split)} does not cover bucket {bucket}")
