#!/usr/bin/env python3
"""Time promptreg's reads in the situations where no cache helps, against git, in one loop.

The situations (issue 17):
  warm        the cache holds what the read needs (a second read of the same thing)
  fresh-clone no `.git/promptreg/` at all, as in a CI job's fresh `git clone`: it is removed
              before every timed run
  after-pull  a plain `git commit` changed `registry.yaml` (another prompt's `dev` pointer,
              as a pull or a merged pull request does) just before every timed run
  first-run   `history` with no cache of earlier runs (removed before every timed run)
  later-run   `history` again, the cache of the commits' events in place

Every timed iteration prepares each side (old binary, new binary, git; untimed), then runs the
three back to back, the order rotated by one each iteration, so noise hits all three alike.
Each side has its own copy of every registry (promptreg's cache left out). Reports medians, p90,
new/old and new/git ratios, and the largest resident set a new run reached (ru_maxrss).

Usage:
  python3 bench/cold.py --old OLD_BIN --new NEW_BIN --repo DIR [--history-repo DIR]
                        [--runs 21] [--slow-runs 7] [--only SUBSTRING] [--scratch DIR] [--keep]

--repo is a registry from gen_registry.py (10,000 prompts x 10 versions), --history-repo one
from gen_history.py (5,000 hand-edit commits). Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
from run import ENV, PROMPT, ENVIRONMENT, env_version, fmt, p90  # noqa: E402  (same directory)

OTHER = "p9999"  # the prompt whose `dev` pointer the after-pull commits move


def run_once(cmd: list[str] | str) -> tuple[float, int, int]:
    """Wall-clock ms, exit status and peak RSS (KiB) of one process (a string runs in sh)."""
    shell = isinstance(cmd, str)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - t0) * 1000.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, proc.returncode, usage.ru_maxrss


def git_in(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], env=ENV, check=True, capture_output=True, text=True).stdout


def remove_cache(repo: str) -> None:
    shutil.rmtree(os.path.join(repo, ".git", "promptreg"), ignore_errors=True)


EDITS = itertools.count()


class Mover:
    """Moves OTHER's `dev` pointer with a plain commit (what a pull does), to an index never seen."""

    def __init__(self, repo: str) -> None:
        self.repo = repo
        self.count = 0

    def __call__(self) -> None:
        path = os.path.join(self.repo, "registry.yaml")
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        inside = False
        for i, line in enumerate(lines):
            if line == f"  {OTHER}:":
                inside = True
            elif inside and line.startswith("    dev: "):
                self.count += 1
                lines[i] = "    dev: " + ("1.0.0" if self.count % 2 else "1.1.0")
                break
            elif inside and not line.startswith("    "):
                sys.exit(f"error: {OTHER} has no dev pointer in {path}")
        # A count in a comment makes every commit's index a blob no earlier run has seen; the
        # count is the process's, not the row's, so a later row never meets an earlier row's
        # index (and the caches kept for it).
        stamp = f"# bench edit {os.getpid()}-{next(EDITS)}"
        if lines[0].startswith("# bench edit "):
            lines[0] = stamp
        else:
            lines.insert(0, stamp)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        git_in(self.repo, "commit", "-q", "-m", f"move {OTHER} dev by hand", "--", "registry.yaml")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the old promptreg binary")
    ap.add_argument("--new", required=True, help="the new promptreg binary")
    ap.add_argument("--repo", required=True, help="registry created by gen_registry.py")
    ap.add_argument("--history-repo", default=None, help="registry created by gen_history.py")
    ap.add_argument("--runs", type=int, default=21, help="timed runs of the fast rows (default 21)")
    ap.add_argument("--slow-runs", type=int, default=7, help="timed runs of the history rows (default 7)")
    ap.add_argument("--only", default=None, help="only the rows whose label contains this")
    ap.add_argument("--scratch", default=None, help="where the copies go (default: a new directory in $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the copies")
    args = ap.parse_args()

    bins = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
    for path in bins.values():
        if not os.access(path, os.X_OK):
            sys.exit(f"error: {path} is not an executable file")
    sources = {"registry": os.path.abspath(args.repo)}
    if args.history_repo:
        sources["history"] = os.path.abspath(args.history_repo)
    scratch = args.scratch or tempfile.mkdtemp(prefix="promptreg-cold-")
    print(f"copies in {scratch}", file=sys.stderr)
    copies: dict[tuple[str, str], str] = {}
    for side in ("old", "new", "git"):
        for kind, src in sources.items():
            dst = os.path.join(scratch, side, kind)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.lexists(dst):
                sys.exit(f"error: {dst} exists")
            # A real clone: packed refs and one pack, as CI gets them; no promptreg cache.
            subprocess.run(["git", "clone", "-q", "--no-local", "--", src, dst], env=ENV, check=True)
            copies[(side, kind)] = dst

    rows: list[tuple[str, str, list[float], list[float], int, str, list[float]]] = []

    def row(label: str, situation: str, kind: str, argv: list[str], git_label: str, git: Callable[[str], list[str] | str],
            prepare: Callable[[str], None] | None, runs: int, warmups: int = 1) -> None:
        if args.only and args.only not in f"{label} {situation}":
            return
        print(f"timing: {label} [{situation}]  ({runs} runs)", file=sys.stderr)
        sides = ["old", "new", "git"]
        commands: dict[str, list[str] | str] = {
            side: [bins[side], "--repo", copies[(side, kind)], *argv] for side in ("old", "new")
        }
        commands["git"] = git(copies[("git", kind)])
        movers = {side: Mover(copies[(side, kind)]) for side in sides}

        def ready(side: str) -> None:
            if prepare is not None:
                prepare(copies[(side, kind)])
            if situation == "after-pull":
                movers[side]()

        for side in sides:
            for _ in range(warmups):
                ready(side)
                _, code, _ = run_once(commands[side])
                if code != 0:
                    sys.exit(f"error: warm-up failed (exit {code}): {commands[side]}")
        samples: dict[str, list[float]] = {side: [] for side in sides}
        peak = 0
        for i in range(runs):
            order = [sides[(i + k) % 3] for k in range(3)]
            for side in order:
                ready(side)
            for side in order:
                ms, code, rss = run_once(commands[side])
                if code != 0:
                    sys.exit(f"error: exit {code} during timing: {commands[side]}")
                samples[side].append(ms)
                if side == "new":
                    peak = max(peak, rss)
        rows.append((label, situation, samples["old"], samples["new"], peak, git_label, samples["git"]))

    try:
        reg = sources["registry"]
        version = env_version(reg, PROMPT, ENVIRONMENT)
        tag = f"{PROMPT}/v{version}"
        pinned = "1.2.0"
        path = f"prompts/{PROMPT}/prompt.yaml"

        def cat(t: str) -> Callable[[str], list[str]]:
            return lambda repo: ["git", "-C", repo, "cat-file", "-p", f"{t}:{path}"]

        def refs(prefix: str) -> Callable[[str], list[str]]:
            return lambda repo: ["git", "-C", repo, "for-each-ref", prefix]

        sel = f"{PROMPT}@{ENVIRONMENT}"
        cat_label = f"git cat-file -p {tag}:{path}"
        for situation, prepare in (("warm", None), ("fresh-clone", remove_cache), ("after-pull", None)):
            row(f"fetch {sel} --format text", situation, "registry", ["fetch", sel, "--format", "text"], cat_label, cat(tag), prepare, args.runs)
            row(f"fetch {PROMPT}@{pinned} --format text", situation, "registry", ["fetch", f"{PROMPT}@{pinned}", "--format", "text"],
                f"git cat-file -p {PROMPT}/v{pinned}:{path}", cat(f"{PROMPT}/v{pinned}"), prepare, args.runs)
            row(f"fetch {sel} --format json", situation, "registry", ["fetch", sel, "--format", "json"], cat_label, cat(tag), prepare, args.runs)
            row(f"versions {PROMPT} --format json", situation, "registry", ["versions", PROMPT, "--format", "json"],
                f"git for-each-ref refs/tags/{PROMPT}/", refs(f"refs/tags/{PROMPT}/"), prepare, args.runs)
            row("list --format json", situation, "registry", ["list", "--format", "json"],
                "git for-each-ref refs/tags/", refs("refs/tags/"), prepare, max(5, args.runs // 3))
        if "history" in sources:
            hist = ["history", PROMPT, "--format", "json"]
            pipeline = ("git -C {repo} log --format=%H -- registry.yaml | sed 's/$/:registry.yaml/'"
                        " | git -C {repo} cat-file --batch >/dev/null")
            row(f"history {PROMPT} --format json", "first-run", "history", hist,
                "git log --format=%H -- registry.yaml | sed 's/$/:registry.yaml/' | git cat-file --batch",
                lambda repo: pipeline.format(repo=repo), remove_cache, args.slow_runs)
            row(f"history {PROMPT} --format json", "later-run", "history", hist, "git log --format=%H -- registry.yaml",
                lambda repo: ["git", "-C", repo, "log", "--format=%H", "--", "registry.yaml"], None, args.slow_runs, warmups=2)
            row("history --format json", "later-run", "history", ["history", "--format", "json"], "git log --format=%H -- registry.yaml",
                lambda repo: ["git", "-C", repo, "log", "--format=%H", "--", "registry.yaml"], None, args.slow_runs, warmups=2)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True, env=ENV, check=True).stdout.strip()
    print("## promptreg without a warm cache: old vs new vs git\n")
    print(f"- old: `{bins['old']}`\n- new: `{bins['new']}`")
    print(f"- machine: nproc={len(os.sched_getaffinity(0))}, {platform.system()} {platform.release()} {platform.machine()}")
    print(f"- {git_version}, Python {platform.python_version()}")
    print(f"- runs: {args.runs} (list: {max(5, args.runs // 3)}, history: {args.slow_runs}); cold process per run; "
          "old/new/git alternating in one loop; each side prepared (untimed) before each run\n")
    print("| command | situation | old ms | new ms | new p90 ms | new/old | new max RSS MiB | git equivalent | git ms | new/git |")
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for label, situation, old, new, peak, git_label, git in rows:
        om, nm, gm = statistics.median(old), statistics.median(new), statistics.median(git)
        print(f"| `{label}` | {situation} | {fmt(om)} | {fmt(nm)} | {fmt(p90(new))} | {nm / om:.2f}x | {peak / 1024:.0f} "
              f"| `{git_label}` | {fmt(gm)} | {nm / gm:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
