#!/usr/bin/env python3
"""Time two promptreg builds (old and new) against each other and the git CLI, in one loop.

Every timed iteration runs the old binary, the new one and the equivalent git command back to
back (the order rotated by one each iteration), so machine noise hits all three alike.

Each binary gets its own copy of every registry (cp -a into --scratch, promptreg's cache left
out), because builds can disagree on the form of promptreg's cache: two builds sharing one
repository would keep rewriting each other's entries (a version change of the index cache would
make every read pay the 70 ms parse). git reads the original registries.

Rows, old vs new vs git:
  --repo (gen_registry.py):     fetch --format text, fetch --format json, versions (json, table)
  --history-repo (gen_history.py, repeatable), --results-repo (gen_results.py, repeatable):
                                history NAME, and history of every prompt when the old binary
                                does it in under --all-limit seconds; on a results registry also
                                fetch json/text and versions; then promote NAME --to dev (in the
                                copies: writes)
Prints a Markdown table: medians and p90 in ms, new/old and new/git ratios.

Usage:
  python3 bench/compare.py --old OLD_BIN --new NEW_BIN --repo DIR [--history-repo DIR ...]
                           [--results-repo DIR ...] [--runs 31] [--slow-runs 7]
                           [--all-limit 3] [--scratch DIR] [--keep]

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
from run import ENV, PROMPT, ENVIRONMENT, env_version, fmt, p90  # noqa: E402  (same directory)


def run_once(cmd: list[str]) -> tuple[float, int, bytes]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    return (time.perf_counter() - t0) * 1000.0, res.returncode, res.stderr


def warm(cmd: list[str]) -> float:
    ms, code, err = run_once(cmd)
    if code != 0:
        sys.stderr.write(f"error: warm-up failed (exit {code}): {' '.join(cmd)}\n")
        sys.stderr.write(err.decode("utf-8", "replace"))
        sys.exit(1)
    return ms


def timed(cmd: list[str]) -> float:
    ms, code, _ = run_once(cmd)
    if code != 0:
        sys.exit(f"error: exit {code} during timing: {' '.join(cmd)}")
    return ms


def bench(sides: list[list[list[str]]], runs: int) -> list[list[float]]:
    """Each side is a list of command variants (run i uses variant i % len); the warm-up runs
    each side's last variant. The order rotates by one side each iteration (old, new, git; new,
    git, old; git, old, new; ...), so every side takes every place equally often and none runs
    twice in a row across iterations (reversing the order on odd iterations would always let
    the same two sides run twice in a row)."""
    for variants in sides:
        warm(variants[-1])
    samples: list[list[float]] = [[] for _ in sides]
    n = len(sides)
    for i in range(runs):
        order = [(i + k) % n for k in range(n)]
        for s in order:
            variants = sides[s]
            samples[s].append(timed(variants[i % len(variants)]))
    return samples


def copy_repo(src: str, dst: str) -> None:
    subprocess.run(["cp", "-a", "--", src, dst], check=True)
    shutil.rmtree(os.path.join(dst, ".git", "promptreg"), ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the old promptreg binary")
    ap.add_argument("--new", required=True, help="the new promptreg binary")
    ap.add_argument("--repo", required=True, help="registry created by gen_registry.py")
    ap.add_argument("--history-repo", action="append", default=[], help="gen_history.py registry (repeatable)")
    ap.add_argument("--results-repo", action="append", default=[], help="gen_results.py registry (repeatable)")
    ap.add_argument("--runs", type=int, default=31, help="timed runs of fast rows and promote (default 31)")
    ap.add_argument("--slow-runs", type=int, default=7, help="timed runs of history rows (default 7)")
    ap.add_argument("--all-limit", type=float, default=3.0,
                    help="time `history` of every prompt when the old binary's warm-up took under this many seconds (default 3)")
    ap.add_argument("--scratch", default=None, help="where the per-binary copies go (default: a new directory in $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the copies")
    args = ap.parse_args()

    bins = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
    for path in bins.values():
        if not os.access(path, os.X_OK):
            sys.exit(f"error: {path} is not an executable file")
    repos = [("registry", os.path.abspath(args.repo))]
    repos += [("history", os.path.abspath(r)) for r in args.history_repo]
    repos += [("results", os.path.abspath(r)) for r in args.results_repo]
    names = [os.path.basename(path) for _, path in repos]
    if len(set(names)) != len(names):
        sys.exit("error: the registries need distinct directory names (their copies are named after them)")

    scratch = args.scratch or tempfile.mkdtemp(prefix="promptreg-compare-")
    os.makedirs(scratch, exist_ok=True)
    print(f"copies in {scratch}", file=sys.stderr)
    copies: dict[tuple[str, str], str] = {}
    for side in bins:
        os.makedirs(os.path.join(scratch, side), exist_ok=True)
        for _, path in repos:
            dst = os.path.join(scratch, side, os.path.basename(path))
            if os.path.lexists(dst):
                sys.exit(f"error: {dst} exists")
            copy_repo(path, dst)
            copies[(side, path)] = dst

    rows: list[tuple[str, str, list[float], list[float], str, list[float] | None]] = []

    def pr(side: str, repo: str, *rest: str) -> list[str]:
        return [bins[side], "--repo", copies[(side, repo)], *rest]

    def row(label: str, repo: str, args_: list[str], git_label: str, git: list[str] | None, runs: int) -> float:
        name = os.path.basename(repo)
        print(f"timing: {label} ({name}): old, new{', ' + git_label if git else ''}  ({runs} runs)", file=sys.stderr)
        sides = [[pr("old", repo, *args_)], [pr("new", repo, *args_)]] + ([[git]] if git else [])
        samples = bench(sides, runs)
        rows.append((label, name, samples[0], samples[1], git_label, samples[2] if git else None))
        return statistics.median(samples[0])

    try:
        for kind, repo in repos:
            g = ["git", "-C", repo]
            if kind in ("registry", "results"):
                version = env_version(repo, PROMPT, ENVIRONMENT)
                tag = f"{PROMPT}/v{version}"
                cat = g + ["cat-file", "-p", f"{tag}:prompts/{PROMPT}/prompt.yaml"]
                cat_label = f"git cat-file -p {tag}:prompts/{PROMPT}/prompt.yaml"
                refs = g + ["for-each-ref", f"refs/tags/{PROMPT}/"]
                refs_label = f"git for-each-ref refs/tags/{PROMPT}/"
                sel = f"{PROMPT}@{ENVIRONMENT}"
                row(f"fetch {sel} --format text", repo, ["fetch", sel, "--format", "text"], cat_label, cat, args.runs)
                row(f"fetch {sel} --format json", repo, ["fetch", sel, "--format", "json"], cat_label, cat, args.runs)
                row(f"versions {PROMPT} --format json", repo, ["versions", PROMPT, "--format", "json"], refs_label, refs, args.runs)
                row(f"versions {PROMPT}", repo, ["versions", PROMPT, "--format", "table"], refs_label, refs, args.runs)
            if kind in ("history", "results"):
                if kind == "results":
                    log = g + ["log", "--format=%H", "--", f"results/{PROMPT}.yaml"]
                    log_label = f"git log --format=%H -- results/{PROMPT}.yaml"
                else:
                    log = g + ["log", "--format=%H %ae %at %s", "main"]
                    log_label = "git log --format='%H %ae %at %s' main"
                row(f"history {PROMPT} --format json", repo, ["history", PROMPT, "--format", "json"], log_label, log, args.slow_runs)
                # Every prompt: only when it is quick enough to repeat.
                all_args = ["history", "--format", "json"]
                try:
                    probe = subprocess.run(pr("old", repo, *all_args), stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL, env=ENV, timeout=args.all_limit)
                    quick = probe.returncode == 0
                except subprocess.TimeoutExpired:
                    quick = False
                if quick:
                    full = g + ["log", "--format=%H %ae %at %s", "main"]
                    row("history --format json", repo, all_args, "git log --format='%H %ae %at %s' main", full, args.slow_runs)
                else:
                    print(f"skipped: history of every prompt (the old binary takes {args.all_limit} s or more)", file=sys.stderr)
                # Writes, in each binary's own copy: p123's dev pointer alternates between two versions.
                promote = [["promote", PROMPT, v, "--to", "dev", "--force", "--reason", "bench", "-q"] for v in ("1.0.0", "1.1.0")]
                name = os.path.basename(repo)
                print(f"timing: promote ({name}): old, new  ({args.runs} runs)", file=sys.stderr)
                samples = bench([[pr("old", repo, *p) for p in promote], [pr("new", repo, *p) for p in promote]], args.runs)
                rows.append((f"promote {PROMPT} … --to dev", name, samples[0], samples[1], "", None))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True, env=ENV, check=True).stdout.strip()
    print("## promptreg: old vs new build\n")
    print(f"- old: `{bins['old']}`\n- new: `{bins['new']}`")
    print(f"- machine: nproc={len(os.sched_getaffinity(0))}, {platform.system()} {platform.release()} {platform.machine()}")
    print(f"- {git_version}, Python {platform.python_version()}")
    print(f"- runs: {args.runs} (history: {args.slow_runs}), cold process per run, old/new/git alternating in one loop\n")
    print("| command | registry | old ms | new ms | new p90 ms | new/old | git equivalent | git ms | new/git |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|")
    for label, name, old, new, git_label, git in rows:
        om, nm = statistics.median(old), statistics.median(new)
        line = f"| `{label}` | {name} | {fmt(om)} | {fmt(nm)} | {fmt(p90(new))} | {nm / om:.2f}x |"
        if git is None:
            line += " - | - | - |"
        else:
            gm = statistics.median(git)
            line += f" `{git_label}` | {fmt(gm)} | {nm / gm:.2f}x |"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
