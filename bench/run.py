#!/usr/bin/env python3
"""Time cold promptreg runs against the equivalent git CLI runs.

Each timed iteration runs the promptreg command and its git equivalent back to
back (alternating which goes first), so machine noise hits both sides alike.
Reports median and p90 wall-clock times in milliseconds and the ratio
promptreg / git as a Markdown table on stdout.

Usage:
  python3 bench/run.py --repo DIR --bin PATH/TO/promptreg [--runs 25] [--list-runs 7]
                       [--history-repo DIR ...] [--results-repo DIR]

--results-repo (a registry made by gen_results.py) adds the rows of test results and
promotion gates: reads there, and writes (`results record`, a gated against an ungated
`promote`) in two scratch copies of it, one with a `policy:` gate on production, which are
deleted afterwards.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PROMPT = "p123"
ENVIRONMENT = "production"


def hermetic_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1", LC_ALL="C", TZ="UTC")
    # An identity for the promote rows (reads ignore it).
    env.update(
        GIT_AUTHOR_NAME="Bench Bot",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench Bot",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    # Keep promptreg from picking up ambient settings via its own env vars.
    for key in list(env):
        if key.startswith("PROMPTREG_"):
            del env[key]
    return env


ENV = hermetic_env()


def env_version(repo: str, prompt: str, environment: str) -> str:
    """Read registry.yaml (block style, as written by gen_registry.py)."""
    path = os.path.join(repo, "registry.yaml")
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    in_prompts = in_prompt = False
    for line in lines:
        if line.startswith("prompts:"):
            in_prompts = True
            continue
        if not in_prompts:
            continue
        if re.match(r"^\S", line):  # left the prompts: mapping
            break
        m = re.match(r"^  (\S+):\s*$", line)
        if m:
            in_prompt = m.group(1) == prompt
            continue
        m = re.match(r"^    (\S+):\s*(\S+)\s*$", line)
        if in_prompt and m and m.group(1) == environment:
            return m.group(2).strip("'\"")
    sys.exit(f"error: {path} has no {environment} version for prompt {prompt}")


def check(cmd: list[str]) -> None:
    """Warm-up run: must exit 0, else fail loudly with its stderr."""
    res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    if res.returncode != 0:
        sys.stderr.write(f"error: warm-up failed (exit {res.returncode}): {' '.join(cmd)}\n")
        sys.stderr.write(res.stderr.decode("utf-8", "replace"))
        sys.exit(1)


def timed(cmd: list[str]) -> float:
    """One cold process run, wall-clock milliseconds."""
    t0 = time.perf_counter()
    res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    elapsed = (time.perf_counter() - t0) * 1000.0
    if res.returncode != 0:
        sys.exit(f"error: exit {res.returncode} during timing: {' '.join(cmd)}")
    return elapsed


def p90(samples: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def clear_cache(repo: str, kind: str) -> None:
    """Removes promptreg's cached entries of one kind (untimed), to measure a cold read."""
    for path in glob.glob(os.path.join(repo, ".git", "promptreg", "cache", f"{kind}-*")):
        os.remove(path)


def bench_pair(
    ours: list[str] | list[list[str]],
    theirs: list[str] | list[list[str]],
    runs: int,
    prepare=None,
) -> tuple[list[float], list[float]]:
    """Times `ours` and `theirs` alternately. Either may be a list of commands (variants): run i
    uses variant i % len; the warm-up runs the last one, so run 0 is a real change for writes
    that alternate between two states."""
    ours_v = ours if isinstance(ours[0], list) else [ours]
    theirs_v = theirs if isinstance(theirs[0], list) else [theirs]
    check(ours_v[-1])
    check(theirs_v[-1])
    a: list[float] = []
    b: list[float] = []
    for i in range(runs):
        if prepare:
            prepare()
        mine, other = ours_v[i % len(ours_v)], theirs_v[i % len(theirs_v)]
        if i % 2 == 0:
            a.append(timed(mine))
            b.append(timed(other))
        else:
            b.append(timed(other))
            a.append(timed(mine))
    return a, b


# The gate the "gated" promote rows meet: production wants a golden-set run passing 90%.
POLICY = """policy:
  production:
    required_tests: [golden-set]
    min_pass_rate: 0.9
"""


def scratch_copy(src: str, dst: str, policy: bool) -> None:
    """cp -a SRC DST without promptreg's cache; with `policy`, commits POLICY into registry.yaml."""
    subprocess.run(["cp", "-a", "--", src, dst], check=True)
    shutil.rmtree(os.path.join(dst, ".git", "promptreg"), ignore_errors=True)
    if policy:
        with open(os.path.join(dst, "registry.yaml"), "a", encoding="utf-8") as fh:
            fh.write(POLICY)
        subprocess.run(
            ["git", "-C", dst, "commit", "-q", "-m", "policy: a gate on production", "registry.yaml"],
            env=ENV, check=True,
        )


def results_rows(results: str, binary: str, runs: int, slow_runs: int) -> list:
    """Rows on a registry with results files (gen_results.py): reads, `results record`, and
    `promote` into production with a gate against the same promote without one."""
    rows = []
    label = os.path.basename(results)
    version = env_version(results, PROMPT, ENVIRONMENT)
    tag = f"{PROMPT}/v{version}"
    pr = [binary, "--repo", results]
    git = ["git", "-C", results]
    reads = [
        (f"fetch {PROMPT}@{ENVIRONMENT} --format json ({label})",
         pr + ["fetch", f"{PROMPT}@{ENVIRONMENT}", "--format", "json"],
         f"git cat-file -p {tag}:prompts/{PROMPT}/prompt.yaml",
         git + ["cat-file", "-p", f"{tag}:prompts/{PROMPT}/prompt.yaml"], runs),
        (f"versions {PROMPT} --format json ({label})",
         pr + ["versions", PROMPT, "--format", "json"],
         f"git for-each-ref refs/tags/{PROMPT}/",
         git + ["for-each-ref", f"refs/tags/{PROMPT}/"], runs),
        (f"results show {PROMPT} --format json ({label})",
         pr + ["results", "show", PROMPT, "--format", "json"],
         f"git cat-file blob HEAD:results/{PROMPT}.yaml",
         git + ["cat-file", "blob", f"HEAD:results/{PROMPT}.yaml"], runs),
        (f"history {PROMPT} --format json ({label})",
         pr + ["history", PROMPT, "--format", "json"],
         f"git log --format=%H -- results/{PROMPT}.yaml",
         git + ["log", "--format=%H", "--", f"results/{PROMPT}.yaml"], slow_runs),
    ]
    for row_label, ours, other_label, theirs, n in reads:
        print(f"timing: {row_label}  vs  {other_label}  ({n} runs)", file=sys.stderr)
        a, b = bench_pair(ours, theirs, n)
        rows.append((row_label, a, other_label, b))

    scratch = tempfile.mkdtemp(prefix="promptreg-bench-")
    try:
        plain, gated = os.path.join(scratch, "ungated"), os.path.join(scratch, "gated")
        scratch_copy(results, plain, policy=False)
        scratch_copy(results, gated, policy=True)
        record = [binary, "--repo", plain, "-q", "results", "record", f"{PROMPT}@1.0.0",
                  "--test", "golden-set", "--passed", "99", "--failed", "1", "--score", "0.95"]
        print(f"timing: results record in a copy of {label}  ({runs} runs)", file=sys.stderr)
        check(record)
        rows.append((f"results record {PROMPT}@1.0.0 … ({label})",
                     [timed(record) for _ in range(runs)], "", None))
        # Both promote p123 into production, alternating 1.0.0 and 1.1.0 (--force: the pipeline
        # rule would want staging's version; the gate is judged all the same). Both versions
        # have a golden-set run passing at least 95% (gen_results.py's hot runs), so it lets them in.
        def promote(repo: str) -> list[list[str]]:
            return [[binary, "--repo", repo, "promote", PROMPT, v, "--to", "production",
                     "--force", "--reason", "bench", "-q"] for v in ("1.0.0", "1.1.0")]
        print(f"timing: promote into a gated production vs an ungated one  ({runs} runs)", file=sys.stderr)
        a, b = bench_pair(promote(gated), promote(plain), runs)
        rows.append((f"promote {PROMPT} … --to production, gated ({label} + policy)", a,
                     "promptreg promote, same, no policy", b))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def fmt(ms: float) -> str:
    return f"{ms:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="registry created by gen_registry.py")
    ap.add_argument("--bin", required=True, help="path to the promptreg binary")
    ap.add_argument("--runs", type=int, default=25, help="timed runs for fetch/versions (default 25)")
    ap.add_argument("--list-runs", type=int, default=7, help="timed runs for list (default 7)")
    ap.add_argument(
        "--history-repo",
        action="append",
        default=[],
        help="a registry made by gen_history.py: time history and promote there (repeatable)",
    )
    ap.add_argument(
        "--results-repo",
        help="a registry made by gen_results.py: time results reads, `results record` and a gated promote",
    )
    args = ap.parse_args()
    if args.runs < 1 or args.list_runs < 1:
        ap.error("--runs and --list-runs must be >= 1")

    repo = os.path.abspath(args.repo)
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        sys.exit(f"error: {binary} is not an executable file")
    if not os.path.isfile(os.path.join(repo, "registry.yaml")):
        sys.exit(f"error: {repo}/registry.yaml not found (generate it with bench/gen_registry.py)")

    version = env_version(repo, PROMPT, ENVIRONMENT)
    tag = f"{PROMPT}/v{version}"
    pr = [binary, "--repo", repo]
    rows: list[tuple[str, list[float], str, list[float] | None]] = []

    fetch = pr + ["fetch", f"{PROMPT}@{ENVIRONMENT}", "--format", "text"]
    cat_file = ["git", "-C", repo, "cat-file", "-p", f"{tag}:prompts/{PROMPT}/prompt.yaml"]
    cat_label = f"git cat-file -p {tag}:prompts/{PROMPT}/prompt.yaml"
    # promptreg caches derived data in .git/promptreg/cache keyed by immutable object ids.
    # Rows marked "cold" clear one kind before every run: "release cache cold" is the first
    # fetch of a version; "index cache cold" the first read after registry.yaml changed.
    cases = [
        (f"fetch {PROMPT}@{ENVIRONMENT} --format text", fetch, cat_label, cat_file, None),
        (
            f"fetch {PROMPT}@{ENVIRONMENT} --format json",
            pr + ["fetch", f"{PROMPT}@{ENVIRONMENT}", "--format", "json"], cat_label, cat_file, None,
        ),
        (
            f"fetch {PROMPT}@{ENVIRONMENT} --format text (release cache cold)",
            fetch, cat_label, cat_file, lambda: clear_cache(repo, "prompt-v1"),
        ),
        (
            f"fetch {PROMPT}@{ENVIRONMENT} --format text (index cache cold)",
            fetch, cat_label, cat_file, lambda: clear_cache(repo, "registry"),
        ),
        (
            f"versions {PROMPT} --format json",
            pr + ["versions", PROMPT, "--format", "json"],
            f"git for-each-ref refs/tags/{PROMPT}/",
            ["git", "-C", repo, "for-each-ref", f"refs/tags/{PROMPT}/"],
            None,
        ),
    ]
    for label, ours, git_label, theirs, prepare in cases:
        print(f"timing: {label}  vs  {git_label}  ({args.runs} runs)", file=sys.stderr)
        a, b = bench_pair(ours, theirs, args.runs, prepare)
        rows.append((label, a, git_label, b))

    list_cmd = pr + ["list", "--format", "json"]
    print(f"timing: list --format json  ({args.list_runs} runs)", file=sys.stderr)
    check(list_cmd)
    rows.append(("list --format json", [timed(list_cmd) for _ in range(args.list_runs)], "", None))

    validate_all = pr + ["validate", "-q"]
    print(f"timing: validate  ({args.list_runs} runs)", file=sys.stderr)
    check(validate_all)
    rows.append(("validate", [timed(validate_all) for _ in range(args.list_runs)], "", None))
    ten = [f"prompts/p{i}/prompt.yaml" for i in range(100, 110)]
    validate_ten = pr + ["validate", "-q", *ten]
    print(f"timing: validate of 10 files  ({args.runs} runs)", file=sys.stderr)
    check(validate_ten)
    rows.append(("validate <10 prompt files>", [timed(validate_ten) for _ in range(args.runs)], "", None))

    for hist in [os.path.abspath(h) for h in args.history_repo]:
        label = os.path.basename(hist)
        history = [binary, "--repo", hist, "history", PROMPT, "--format", "json"]
        git_log = ["git", "-C", hist, "log", "--format=%H %ae %at %s", "main"]
        print(f"timing: history in {label}  ({args.list_runs} runs)", file=sys.stderr)
        a, b = bench_pair(history, git_log, args.list_runs)
        rows.append((f"history {PROMPT} --format json ({label})", a, "git log --format='%H %ae %at %s' main", b))
        # Promotions alternate p123's dev pointer between two versions (--force: any version).
        promote = [
            [binary, "--repo", hist, "promote", PROMPT, v, "--to", "dev", "--force", "--reason", "bench", "-q"]
            for v in ("1.0.0", "1.1.0")
        ]
        print(f"timing: promote in {label}  ({args.runs} runs)", file=sys.stderr)
        samples = [timed(promote[i % 2]) for i in range(args.runs)]
        rows.append((f"promote {PROMPT} … --to dev ({label})", samples, "", None))

    if args.results_repo:
        rows += results_rows(os.path.abspath(args.results_repo), binary, args.runs, args.list_runs)

    git_version = subprocess.run(
        ["git", "--version"], capture_output=True, text=True, env=ENV, check=True
    ).stdout.strip()
    tag_count = subprocess.run(
        ["git", "-C", repo, "for-each-ref", "--format=x", "refs/tags/"],
        capture_output=True, text=True, env=ENV, check=True,
    ).stdout.count("\n")

    print("## promptreg benchmark\n")
    print(f"- registry: `{repo}` ({tag_count} tags; {PROMPT}@{ENVIRONMENT} = {version})")
    print(f"- binary: `{binary}`")
    print(f"- machine: nproc={len(os.sched_getaffinity(0))}, {platform.system()} {platform.release()} {platform.machine()}")
    print(f"- {git_version}, Python {platform.python_version()}")
    print(f"- runs: {args.runs} (list, validate, history: {args.list_runs}), cold process per run, alternating with the compared command\n")
    print("| command | median ms | p90 ms | compared with | its median ms | its p90 ms | ratio |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for label, a, git_label, b in rows:
        med = statistics.median(a)
        if b is None:
            print(f"| `promptreg {label}` | {fmt(med)} | {fmt(p90(a))} | - | - | - | - |")
        else:
            gmed = statistics.median(b)
            ratio = med / gmed if gmed > 0 else float("inf")
            print(
                f"| `promptreg {label}` | {fmt(med)} | {fmt(p90(a))} | `{git_label}` "
                f"| {fmt(gmed)} | {fmt(p90(b))} | {ratio:.2f}x |"
            )
    list_med = statistics.median(next(r[1] for r in rows if r[0].startswith("list")))
    verdict = "met" if list_med < 1000 else "NOT met"
    print(f"\n`list` goal (< 1000 ms median): {verdict} ({fmt(list_med)} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
