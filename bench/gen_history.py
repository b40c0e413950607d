#!/usr/bin/env python3
"""Append a long promotion history to a synthetic promptreg registry.

Copies the registry repository SRC (as built by gen_registry.py) to DST, then
appends N commits on ``main``, each changing exactly one pointer line
(``    <env>: <version>``) of ``registry.yaml`` the way ``promptreg promote``
does. Prompts are picked at random, except that prompt p123 (--hot) receives
at least 50 of the commits so that ``history p123`` has real work to do. New
versions are always released ones (existing ``<name>/v<version>`` tags).

Commit messages follow promptreg's format:

  promote <name> <version> to <env>          (or, when the new version is
                                             lower than the previous one:
  <reason>                                   rollback <name> <env> to <version>
                                             ... Change: reverted)
  Prompt: <name>
  Environment: <env>
  Version: <version>
  Previous: <old version>
  Change: promoted

--no-trailers writes the plain message "edit registry.yaml" instead, to model
hand edits. Author and committer are a fixed identity; dates start at a fixed
instant (never before the tip of SRC) and increase by one minute per commit,
so the output is reproducible for a given SRC and --seed.

All commits go through ONE ``git fast-import`` stream that carries the full
``registry.yaml`` (about 650 KB) inline for each commit; the stream is written
as it is generated, never held in memory. fast-import deltifies each blob
against the previous one, so the new history lands in a single small pack
(no loose objects); the 100,000 tags stay in packed-refs. Afterwards
``git reset --hard main`` makes the index and working tree match, and
``git repack -a -d`` (reusing existing deltas, about 2 s) folds the two packs
into one, as a gc'd repository would have (--no-repack skips it).

Usage:
  python3 bench/gen_history.py SRC DST [--commits 5000] [--seed 1]
                                       [--no-trailers] [--no-repack]

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
from gen_registry import BRANCH, IDENT, hermetic_env  # noqa: E402  (same directory)

# 2023-11-15T12:00:00Z: after every date gen_registry.py writes.
START_EPOCH = 1_700_049_600
STEP_SECONDS = 60
HOT_PROMPT = "p123"
HOT_MIN = 50
FORWARD_SHARE = 0.75  # chance of a promotion (vs a rollback) when both are possible

PROMPT_RE = re.compile(rb"^  ([^\s:#][^:]*):\s*$")
POINTER_RE = re.compile(rb"^(    ([^\s:#][^:]*):\s*)(\S+)(\s*)$")
ENVS_RE = re.compile(rb"^environments:\s*\[(.*)\]\s*$")


def git_out(gitdir: str, *args: str, env: dict[str, str]) -> bytes:
    return subprocess.run(
        ["git", "-C", gitdir, *args], env=env, check=True, stdout=subprocess.PIPE
    ).stdout


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


class Registry:
    """registry.yaml as a list of lines plus the position of every pointer line.

    Only the block style promptreg and gen_registry.py write is understood:
    a flow-style ``environments: [...]`` line, then ``prompts:`` with
    ``  <name>:`` entries holding ``    <env>: <version>`` lines.
    """

    def __init__(self, text: bytes) -> None:
        if not text.endswith(b"\n"):
            text += b"\n"
        self.lines: list[bytes] = text.splitlines(keepends=True)
        self.environments: list[str] = []
        # (prompt, env) -> line index; prompt -> envs it has a pointer for.
        self.where: dict[tuple[str, str], int] = {}
        self.envs_of: dict[str, list[str]] = {}
        in_prompts = False
        current: str | None = None
        for i, line in enumerate(self.lines):
            body = line.rstrip(b"\r\n")
            m = ENVS_RE.match(body)
            if m:
                self.environments = [e.strip().decode() for e in m.group(1).split(b",") if e.strip()]
                continue
            if not body.startswith(b" "):
                in_prompts = body.rstrip() == b"prompts:"
                current = None
                continue
            if not in_prompts:
                continue
            m = PROMPT_RE.match(body)
            if m:
                current = m.group(1).decode().strip()
                self.envs_of[current] = []
                continue
            m = POINTER_RE.match(body)
            if m and current is not None:
                env_name = m.group(2).decode().strip()
                self.where[(current, env_name)] = i
                self.envs_of[current].append(env_name)
                continue
            if body.strip() and not body.lstrip().startswith(b"#"):
                raise ValueError(f"registry.yaml line {i + 1} not understood: {body!r}")
        if not self.environments or not self.where:
            raise ValueError("registry.yaml: no environments or no pointers found (not block style?)")

    def get(self, prompt: str, env_name: str) -> str:
        m = POINTER_RE.match(self.lines[self.where[(prompt, env_name)]].rstrip(b"\r\n"))
        assert m is not None
        return m.group(3).decode()

    def set(self, prompt: str, env_name: str, version: str) -> None:
        i = self.where[(prompt, env_name)]
        line = self.lines[i]
        body = line.rstrip(b"\r\n")
        eol = line[len(body):]
        m = POINTER_RE.match(body)
        assert m is not None
        self.lines[i] = m.group(1) + version.encode() + m.group(4) + eol

    def content(self) -> bytes:
        return b"".join(self.lines)


def released_versions(gitdir: str, env: dict[str, str]) -> dict[str, list[str]]:
    """prompt -> its released versions (tags <name>/v<X.Y.Z>), ascending."""
    out = git_out(gitdir, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/tags", env=env)
    found: dict[str, list[str]] = {}
    for raw in out.decode().splitlines():
        name, sep, ver = raw.rpartition("/v")
        if sep and re.fullmatch(r"\d+\.\d+\.\d+", ver):
            found.setdefault(name, []).append(ver)
    for versions in found.values():
        versions.sort(key=version_key)
    return found


def message(i: int, prompt: str, env_name: str, new: str, old: str, trailers: bool) -> bytes:
    if not trailers:
        return b"edit registry.yaml\n"
    if version_key(new) < version_key(old):
        subject, change = f"rollback {prompt} {env_name} to {new}", "reverted"
    else:
        subject, change = f"promote {prompt} {new} to {env_name}", "promoted"
    return (
        f"{subject}\n\nbench promotion {i}\n\n"
        f"Prompt: {prompt}\nEnvironment: {env_name}\nVersion: {new}\n"
        f"Previous: {old}\nChange: {change}\n"
    ).encode()


def data(raw: bytes) -> bytes:
    return b"data %d\n" % len(raw) + raw + b"\n"


def plan(reg: Registry, released: dict[str, list[str]], commits: int, seed: int):
    """Yield (prompt, env, new_version, old_version) for each commit, applying it to reg."""
    rng = random.Random(seed)
    candidates = sorted(
        (p for p, envs in reg.envs_of.items() if envs and len(released.get(p, ())) >= 2),
        key=lambda p: (len(p), p),
    )
    if not candidates:
        raise ValueError("no prompt has a pointer line and at least two released versions")
    hot = HOT_PROMPT if HOT_PROMPT in candidates else None
    hot_slots = set(rng.sample(range(commits), min(commits, HOT_MIN))) if hot else set()
    for i in range(commits):
        prompt = hot if i in hot_slots else rng.choice(candidates)
        env_name = rng.choice(reg.envs_of[prompt])
        old = reg.get(prompt, env_name)
        # Mostly forward moves, as in real use; the rest are rollbacks.
        higher = [v for v in released[prompt] if version_key(v) > version_key(old)]
        lower = [v for v in released[prompt] if version_key(v) < version_key(old)]
        new = rng.choice(higher if higher and (not lower or rng.random() < FORWARD_SHARE) else lower)
        reg.set(prompt, env_name, new)
        yield prompt, env_name, new, old


def write_stream(out, reg: Registry, released, tip: str, start: int, args) -> dict[str, int]:
    """Write the fast-import stream; returns counts by kind of change."""
    w = out.write
    counts = {"promoted": 0, "reverted": 0, HOT_PROMPT: 0}
    ref = f"refs/heads/{BRANCH}".encode()
    ident = IDENT.encode()
    w(b"feature done\n")
    for i, (prompt, env_name, new, old) in enumerate(plan(reg, released, args.commits, args.seed)):
        when = b"%d +0000" % (start + i * STEP_SECONDS)
        counts["reverted" if version_key(new) < version_key(old) else "promoted"] += 1
        counts[HOT_PROMPT] += prompt == HOT_PROMPT
        w(b"commit " + ref + b"\n")
        w(b"author " + ident + b" " + when + b"\n")
        w(b"committer " + ident + b" " + when + b"\n")
        w(data(message(i + 1, prompt, env_name, new, old, not args.no_trailers)))
        if i == 0:
            w(b"from " + tip.encode() + b"\n")
        w(b"M 100644 inline registry.yaml\n")
        w(data(reg.content()))
        w(b"\n")
    w(b"done\n")
    return counts


def copy_repo(src: str, dst: str) -> None:
    """Copy SRC to DST (cp -a keeps the pack and packed-refs as they are)."""
    subprocess.run(["cp", "-a", "--", src, dst], check=True)
    # promptreg's derived-data cache and a stale lock are local state, not registry.
    shutil.rmtree(os.path.join(dst, ".git", "promptreg"), ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="registry repository to copy (e.g. /tmp/bench-reg)")
    ap.add_argument("dst", help="directory to create (must not exist)")
    ap.add_argument("--commits", type=int, default=5000, help="commits to append (default 5000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--no-trailers", action="store_true", help='plain "edit registry.yaml" messages')
    ap.add_argument(
        "--no-repack", dest="repack", action="store_false",
        help="leave fast-import's pack beside SRC's instead of `git repack -a -d` into one (~2 s)",
    )
    args = ap.parse_args()
    if args.commits < 1:
        ap.error("--commits must be >= 1")

    src = os.path.abspath(args.src)
    dst = os.path.abspath(args.dst)
    if not os.path.isdir(os.path.join(src, ".git")):
        print(f"error: {src} is not a git working tree (run gen_registry.py first)", file=sys.stderr)
        return 2
    if os.path.lexists(dst):
        print(f"error: {dst} exists; refusing", file=sys.stderr)
        return 2
    env = hermetic_env()
    t0 = time.perf_counter()

    t_copy = time.perf_counter()
    copy_repo(src, dst)
    t_copy = time.perf_counter() - t_copy
    gitdir = os.path.join(dst, ".git")

    t_read = time.perf_counter()
    tip = git_out(dst, "rev-parse", "--verify", f"refs/heads/{BRANCH}^{{commit}}", env=env).decode().strip()
    tip_time = int(git_out(dst, "log", "-1", "--format=%ct", tip, env=env))
    reg = Registry(git_out(dst, "cat-file", "blob", f"{tip}:registry.yaml", env=env))
    released = released_versions(dst, env)
    t_read = time.perf_counter() - t_read
    start = max(START_EPOCH, tip_time + STEP_SECONDS)

    t_import = time.perf_counter()
    proc = subprocess.Popen(
        ["git", "--git-dir", gitdir, "fast-import", "--quiet", "--done"],
        stdin=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None
    counts = None
    try:
        with proc.stdin:
            counts = write_stream(proc.stdin, reg, released, tip, start, args)
    except BrokenPipeError:
        pass
    if proc.wait() != 0 or counts is None:
        print("error: git fast-import failed", file=sys.stderr)
        return 1
    t_import = time.perf_counter() - t_import

    t_co = time.perf_counter()
    subprocess.run(["git", "-C", dst, "reset", "--quiet", "--hard", BRANCH], env=env, check=True)
    t_co = time.perf_counter() - t_co

    t_repack = 0.0
    if args.repack:
        t_repack = time.perf_counter()
        subprocess.run(["git", "-C", dst, "repack", "-a", "-d", "-q"], env=env, check=True)
        t_repack = time.perf_counter() - t_repack

    total = time.perf_counter() - t0
    kind = "plain (no trailers)" if args.no_trailers else "promote/rollback"
    print(
        f"generated {dst}: {args.commits} {kind} commits on {BRANCH} "
        f"({counts['promoted']} promoted, {counts['reverted']} reverted, {counts[HOT_PROMPT]} on {HOT_PROMPT}) "
        f"in {total:.2f}s (copy {t_copy:.2f}s, read {t_read:.2f}s, fast-import {t_import:.2f}s, "
        f"reset {t_co:.2f}s" + (f", repack {t_repack:.2f}s" if args.repack else "") + ")"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
