"""Render parity with `promptreg render`, and strictness."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Registry, Server

from promptreg import Client, Prompt, TemplateError, VariableError, _render

VALUES = {
    "company_name": "Acme & Co",
    "message": "Where is my refund?\nOrder 17.",
    "text": "A long text  with  spaces.",
    "product_name": "Widget",
    "subject": "Broken",
    "body": "It does not {work}.",
    "features": "- light\n- strong\n",
    "tone": "playful",
}


def cli_render(registry: Registry, selector: str, values: dict[str, str]) -> tuple[str, Any]:
    flags = [f"--var={k}={v}" for k, v in values.items()]
    text = registry.cli("render", selector, *flags).stdout
    chat = json.loads(registry.cli("render", selector, *flags, "--format", "json").stdout)
    return text, chat


def every_version(client: Client) -> list[Prompt]:
    out = []
    for row in client.list():
        for v in client.versions(row["name"]):
            out.append(client.get(row["name"], version=v["version"]))
    return out


def test_parity_on_the_example_prompts(registry: Registry, server: Server) -> None:
    prompts = every_version(Client(server.url))
    assert len(prompts) == 7
    for p in prompts:
        given = {k: v for k, v in VALUES.items() if k in p.variables}
        text, chat = cli_render(registry, p.id, given)
        assert p.render(**given) == text, p.id
        assert p.render_messages(**given) == chat["messages"], p.id
        # defaults left to the prompt: only the required variables given
        required = {k: v for k, v in given.items() if p.variables[k].get("required", True)}
        text, chat = cli_render(registry, p.id, required)
        assert p.render(**required) == text, p.id
        assert p.render_messages(**required) == chat["messages"], p.id


def test_strictness_matches_the_cli(registry: Registry, server: Server) -> None:
    p = Client(server.url).get("summarize")
    with pytest.raises(VariableError, match="required variable `text`"):
        p.render()
    assert registry.cli("render", "summarize", check=False).returncode == 1
    with pytest.raises(VariableError, match="no variable `txt`"):
        p.render_messages(text="x", txt="typo")
    assert (
        registry.cli(
            "render", "summarize", "--var", "text=x", "--var", "txt=typo", check=False
        ).returncode
        == 1
    )
    assert "at most 150 words" in p.render_system(text="x")
    assert "at most 20 words" in p.render_system(text="x", max_words="20")


TEMPLATED: dict[str, Any] = {
    "system_prompt": (
        "You help {{ customer | title }}.\n"
        "{% if vip %}Be extra polite.{% else %}Be polite.{% endif %}\n"
        "{% for step in steps | split(',') %}- {{ step | trim }}\n{% endfor %}"
        "{{ days }} days; flag {{ flag }}; none {{ nothing }}.\n"
    ),
    "messages": [
        {"role": "user", "content": "{{ question }}{# a comment #}"},
        {"role": "assistant", "content": "  {{ customer ~ '!' }}  \n\n"},
    ],
    "variables": {
        "customer": {},
        "vip": {"required": False},
        "steps": {"required": False, "default": "greet, solve , close"},
        "days": {"required": False, "default": 30},
        "flag": {"required": False, "default": True},
        "nothing": {"required": False},
        "question": {},
    },
}


def test_parity_with_jinja_templates(registry: Registry, server: Server) -> None:
    c = Client(server.url)
    c.create("support/templated", version="1.0.0", description="jinja", **TEMPLATED)
    p = c.get("support/templated", version="1.0.0")
    for given in [
        {"customer": "ada lovelace", "question": "Why?"},
        {"customer": "bob", "question": "How?", "vip": "yes", "steps": "a,b"},
    ]:
        text, chat = cli_render(registry, p.id, given)
        assert p.render(**given) == text
        assert p.render_messages(**given) == chat["messages"]
    # values of other types, from a vars file
    rich = {
        "customer": "x",
        "question": ["a", 1, True, None, {"k": "v"}],
        "days": 2.5,
        "flag": False,
    }
    path = registry.path.parent / "vars.json"
    path.write_text(json.dumps(rich))
    text = registry.cli("render", p.id, "--vars-file", str(path)).stdout
    assert p.render(**rich) == text


def test_without_jinja2_only_simple_templates_render(
    monkeypatch: pytest.MonkeyPatch, server: Server
) -> None:
    monkeypatch.setattr(_render, "_jinja", lambda: None)
    c = Client(server.url)
    assert c.get("summarize").render(text="x").startswith("You are a careful")
    c.create("support/templated", version="1.0.0", description="jinja", **TEMPLATED)
    with pytest.raises(TemplateError, match=r"promptreg\[jinja\]"):
        c.get("support/templated", version="1.0.0").render(customer="a", question="b")


def test_simple_renderer_values_as_minijinja_prints_them() -> None:
    record = {
        "name": "x",
        "version": "1.0.0",
        "system_prompt": "{{a}}|{{ b }}|{{ c }}|{{ d }}\n",
        "messages": [],
        "variables": {k: {} for k in "abcd"},
    }
    p = Prompt(record, "server")
    assert p.render_system(a=True, b=False, c=30, d=1.5) == "True|False|30|1.5"
    assert p.render_system(a=["a", 1, True, None], b={"k": "v"}, c=None, d=0.1) == (
        '["a", 1, True, None]|{"k": "v"}|None|0.1'
    )
    assert p.render(a="x", b="y", c="z", d="") == "x|y|z|\n"
    assert Prompt({**record, "system_prompt": ""}, "server").render(a=1, b=1, c=1, d=1) == ""
