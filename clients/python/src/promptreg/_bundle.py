"""The fallback bundle: the file `promptreg export` writes (docs/CLIENT.md)."""

from __future__ import annotations

import json
import os
from typing import Any, Union

from ._errors import BundleError

#: The newest bundle `format` this client reads.
FORMAT = 1

PathLike = Union[str, "os.PathLike[str]"]


class Bundle:
    """Every prompt one environment served at one commit, read once, at construction."""

    def __init__(self, path: PathLike) -> None:
        self.path = os.fspath(path)
        try:
            with open(self.path, encoding="utf-8") as f:
                data: Any = json.load(f)
        except (OSError, ValueError) as e:
            raise BundleError(f"cannot read the bundle `{self.path}`: {e}") from e
        if not isinstance(data, dict) or not isinstance(data.get("prompts"), dict):
            raise BundleError(f"`{self.path}` is not a promptreg export bundle (no `prompts`)")
        fmt = data.get("format")
        if not isinstance(fmt, int) or fmt > FORMAT:
            raise BundleError(
                f"`{self.path}` has bundle format {fmt!r}; this client reads format {FORMAT} "
                "(upgrade the client)"
            )
        self.environment: str | None = data.get("environment")
        self.commit: str | None = data.get("commit")
        self.prompts: dict[str, dict[str, Any]] = data["prompts"]
        variants = data.get("variants")
        self.variants: dict[str, dict[str, dict[str, Any]]] = (
            variants if isinstance(variants, dict) else {}
        )

    def for_environment(self, name: str, environment: str | None) -> dict[str, Any] | None:
        """The record `environment` serves (without a key), when it is the bundle's environment;
        None stands for the server's default environment, which `export` defaults to as well."""
        if environment is not None and environment != self.environment:
            return None
        return self.prompts.get(name)

    def for_version(self, name: str, version: str) -> dict[str, Any] | None:
        """The record of `version` when the bundle holds it (served, or a split's variant)."""
        version = version[1:] if version[:1] == "v" else version
        record = self.prompts.get(name)
        if record is not None and record.get("version") == version:
            return record
        return self.variants.get(name, {}).get(version)
