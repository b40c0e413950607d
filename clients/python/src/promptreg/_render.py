"""Strict rendering, as `promptreg render` does it (src/model/render.rs).

Every declared variable gets the value given, else its default, else (optional variables only)
the empty string; a required variable without a value, or a value for an undeclared variable,
is a `VariableError`. Templates made only of text and `{{ name }}` are rendered here, without
extras, exactly as MiniJinja renders them; anything else (`{% if %}`, filters, ...) needs jinja2
(`pip install 'promptreg[jinja]'`), run sandboxed with `StrictUndefined`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ._errors import TemplateError, VariableError

_SIMPLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SYNTAX = re.compile(r"\{[{%#]")


def values(
    prompt_id: str, variables: Mapping[str, Any], given: Mapping[str, Any]
) -> dict[str, Any]:
    """The value of every declared variable (see the module doc)."""
    for name in given:
        if name not in variables:
            declared = ", ".join(f"`{k}`" for k in variables) or "no variables"
            raise VariableError(f"{prompt_id} has no variable `{name}` (it declares: {declared})")
    out: dict[str, Any] = {}
    for name, spec in variables.items():
        spec = spec if isinstance(spec, Mapping) else {}
        if name in given:
            out[name] = given[name]
        elif spec.get("default") is not None:
            out[name] = spec["default"]
        elif not spec.get("required", True):
            out[name] = ""
        else:
            about = f" ({spec['description']})" if spec.get("description") else ""
            raise VariableError(
                f"{prompt_id} needs a value for the required variable `{name}`{about}"
            )
    return out


def to_text(value: Any) -> str:
    """A value as MiniJinja prints it: strings as they are, numbers, `True`/`False`/`None` as
    Python writes them, lists and maps as literals with double-quoted strings
    (`["a", 1, True]`, `{"k": "v"}`)."""
    if isinstance(value, str):
        return value
    return _literal(value)


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _strip_trailing_newline(text: str) -> str:
    # MiniJinja (and Jinja2) drop one trailing newline of the template source.
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _render_simple(source: str, vals: Mapping[str, Any]) -> str | None:
    """The render of a template that is text and `{{ name }}` only; None for anything else."""
    rest = _SIMPLE.sub("", source)
    if _SYNTAX.search(rest):
        return None

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in vals:
            raise TemplateError(
                f"undefined value: the template reads `{name}`, which `variables:` does not declare"
            )
        return to_text(vals[name])

    return _strip_trailing_newline(_SIMPLE.sub(one, source))


_jinja_env: Any | None = None


def _split_filter(value: Any, sep: str | None = None, maxsplits: int | None = None) -> list[str]:
    """MiniJinja's `split`: on `sep`, or on runs of whitespace without one."""
    return str(value).split(sep, -1 if maxsplits is None else maxsplits)


def _jinja() -> Any:
    global _jinja_env
    if _jinja_env is None:
        try:
            from jinja2 import StrictUndefined
            from jinja2.sandbox import SandboxedEnvironment
        except ImportError:  # pragma: no cover - depends on the extra
            return None

        def finalize(value: Any) -> Any:
            if isinstance(value, (list, tuple, dict)):
                return to_text(value)
            return value

        env = SandboxedEnvironment(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            finalize=finalize,
        )
        # MiniJinja's built-in filters that Jinja2 lacks, with MiniJinja's meaning.
        env.filters.setdefault("split", _split_filter)
        env.filters.setdefault("lines", lambda value: str(value).splitlines())
        env.filters.setdefault("bool", bool)
        _jinja_env = env
    return _jinja_env


def render_template(source: str, vals: Mapping[str, Any], part: str = "template") -> str:
    """Renders one template with `vals` (which must hold every variable it reads)."""
    simple = _render_simple(source, vals)
    if simple is not None:
        return simple
    env = _jinja()
    if env is None:
        raise TemplateError(
            f"{part} uses template syntax beyond `{{{{ name }}}}`; install jinja2 to render it "
            "(pip install 'promptreg[jinja]')"
        )
    import jinja2

    try:
        rendered: str = env.from_string(source).render(**vals)
    except jinja2.UndefinedError as e:
        raise TemplateError(f"{part}: undefined value: {e}") from e
    except jinja2.TemplateError as e:
        raise TemplateError(f"{part}: {e}") from e
    return rendered


def layout(system: str, messages: list[dict[str, str]]) -> str:
    """`promptreg render --format text`: the system prompt (when not empty), then `[role]`
    blocks, separated by blank lines, ending with a newline (empty when there is nothing)."""
    blocks = []
    if system:
        blocks.append(system.rstrip("\n"))
    for m in messages:
        blocks.append(f"[{m['role']}]\n{m['content'].rstrip(chr(10))}")
    return "\n\n".join(blocks) + "\n" if blocks else ""
