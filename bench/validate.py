#!/usr/bin/env python3
"""Time `promptreg validate` (whole registry, and ten prompt.yaml files as a pre-commit hook
passes them) for an old and a new build in one loop, warm and cold.

  warm        the new build's validate caches (`checks-*`, `holdings-*`, `tagpass-*`) are in
              place
  after pull  as warm, but before every timed run a plain `git commit` moves one more
              prompt's `dev` pointer a version back, as a pull of a promotion does: the
              prompts' checks are cached, the tag side (keyed by registry.yaml's bytes) is not
  cold        `.git/promptreg/` is removed before every timed run of either build, as in a
              fresh clone

Each iteration runs the two builds back to back, the order swapped every other iteration, so
noise hits both alike. Reports the median and p90 wall time, new/old, and the largest resident
set a new run reached.

Usage:
  python3 bench/validate.py --old OLD_BIN --new NEW_BIN --repo DIR [--runs 11]

--repo is a registry from gen_registry.py (10,000 prompts x 10 versions, 100,000 tags).
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

TEN = [f"prompts/p{i}/prompt.yaml" for i in range(1, 11)]
CASES = [("whole registry", []), ("10 prompt.yaml files", TEN)]


def run(binary: str, repo: str, paths: list[str]) -> tuple[float, int]:
    """One validate: wall seconds and its peak RSS in KiB (from wait4, this child alone)."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [binary, "-q", "validate", *paths],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        sys.exit(f"{binary} validate exited {child.returncode}")
    return elapsed, usage.ru_maxrss


MOVES = iter(range(10_000))


def move_pointer(repo: str) -> None:
    """Moves the `dev` pointer of the next prompt (p0, p1, ...) one version back, in a plain
    commit (untimed): every run sees a registry.yaml no run has seen before."""
    path = os.path.join(repo, "registry.yaml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head = f"  p{next(MOVES)}:\n    dev: 1."
    at = text.index(head) + len(head)
    minor = int(text[at])
    moved = str(minor - 1 if minor > 0 else minor + 1)
    text = text[:at] + moved + text[at + 1 :]
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    subprocess.run(
        ["git", "commit", "-q", "-m", "move a dev pointer", "registry.yaml"], cwd=repo, check=True
    )


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    cache = os.path.join(args.repo, ".git", "promptreg")
    print("| validate | situation | old ms (p90) | new ms (p90) | new/old |")
    print("|---|---|---:|---:|---:|")
    peak = 0
    for label, paths in CASES:
        for situation in ("cold", "warm", "after pull"):
            if situation != "cold":
                run(args.new, args.repo, paths)  # fills the caches, untimed
            times: dict[str, list[float]] = {"old": [], "new": []}
            for i in range(args.runs):
                order = ["old", "new"] if i % 2 == 0 else ["new", "old"]
                for side in order:
                    if situation == "cold":
                        shutil.rmtree(cache, ignore_errors=True)
                    elif situation == "after pull":
                        move_pointer(args.repo)
                    binary = args.old if side == "old" else args.new
                    elapsed, rss = run(binary, args.repo, paths)
                    times[side].append(elapsed * 1000)
                    if side == "new":
                        peak = max(peak, rss)
            old, new = (statistics.median(times[s]) for s in ("old", "new"))
            print(
                f"| {label} | {situation} | {old:,.1f} ({p90(times['old']):,.1f}) | "
                f"{new:,.1f} ({p90(times['new']):,.1f}) | {new / old:.2f}× |"
            )
    print(f"\nlargest new RSS: {peak / 1024:.0f} MB; {args.runs} runs per side and row")


if __name__ == "__main__":
    main()
