#!/usr/bin/env python3
"""Give a synthetic promptreg registry with a promotion history test results (results/<name>.yaml).

Copies the history registry SRC (as built by gen_history.py) to DST and rewrites the commits
of ``main`` after the one that added ``registry.yaml``: every commit is replayed as it was
(same author, committer, dates, message and top-level tree entries: ``registry.yaml`` and
``prompts/`` are reused by id), and between them come commits that add test runs to
``results/<name>.yaml`` files, written in the documented layout (docs/FORMAT.md §10, exactly
as ``promptreg results record`` renders it).

By default 1,000 prompts (always including p123, --hot) get 10 runs each: 10,000 runs in
1,000 commits of 10 runs (--per-commit; with 1, each commit looks like one `results record`,
trailers included), placed at random between the promotion commits. A run is against a version
one of the prompt's environments holds at the tip of SRC, of a test `golden-set`, `safety` or
`regression`, 20 to 200 cases, at most 10% failed, with a score and a CI link; `tested_at` is the
commit's date (one second after the promotion it follows).

With --bin, --record N more runs (default 500) are then appended on top with the real
``promptreg results record`` (one commit each, one minute apart via GIT_AUTHOR_DATE): 50 of them
(--hot-runs) for p123, cycling over its versions 1.0.0, 1.1.0 and the versions its
environments hold, as test `golden-set` passing at least 95% (so a production gate on
`golden-set` lets them in); the rest for random prompts of the chosen 1,000 at their staging
version.

Everything before the record phase goes through one ``git fast-import`` stream; afterwards
``git reset --hard main``, the reflogs are expired (the replaced commits become unreachable) and
``git repack -a -d`` folds everything into one pack (--no-repack skips it). The same SRC, options
and binary give the same commit ids.

Usage:
  python3 bench/gen_results.py SRC DST [--prompts 1000] [--runs 10] [--per-commit 10]
                                       [--seed 1] [--bin PATH --record 500] [--no-repack]

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
from gen_history import Registry, released_versions, version_key  # noqa: E402  (same directory)
from gen_registry import BRANCH, IDENT, hermetic_env  # noqa: E402

HOT_PROMPT = "p123"
TESTS = ("golden-set", "safety", "regression")
TESTED_BY = "bench@example.com"
REGISTRY_FILE = "registry.yaml"
RESULTS_DIR = "results"


def git_out(repo: str, *args: str, env: dict[str, str]) -> bytes:
    return subprocess.run(
        ["git", "-C", repo, *args], env=env, check=True, stdout=subprocess.PIPE
    ).stdout


class CatFile:
    """One `git cat-file --batch` process: object id -> (type, raw content)."""

    def __init__(self, repo: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["git", "-C", repo, "cat-file", "--batch"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )

    def get(self, oid: str) -> tuple[str, bytes]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(oid.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) != 3:
            raise ValueError(f"cat-file: {oid}: {header!r}")
        size = int(header[2])
        body = self.proc.stdout.read(size)
        self.proc.stdout.read(1)  # the LF after the content
        return header[1].decode(), body

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait()


def parse_commit(raw: bytes) -> dict:
    head, _, message = raw.partition(b"\n\n")
    out: dict = {"message": message, "parents": []}
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"tree":
            out["tree"] = value.decode()
        elif key == b"parent":
            out["parents"].append(value.decode())
        elif key in (b"author", b"committer"):
            out[key.decode()] = value
            out[key.decode() + "_time"] = int(value.rsplit(b" ", 2)[1])
    return out


def parse_tree(raw: bytes) -> list[tuple[str, str, str]]:
    """Raw tree object -> [(mode, name, id)], modes as fast-import wants them."""
    entries = []
    i = 0
    while i < len(raw):
        sp = raw.index(b" ", i)
        nul = raw.index(b"\0", sp)
        mode = raw[i:sp].decode()
        name = raw[sp + 1:nul].decode()
        oid = raw[nul + 1:nul + 21].hex()
        entries.append((mode.rjust(6, "0"), name, oid))
        i = nul + 21
    return entries


def quote(text: str) -> str:
    """A YAML double-quoted scalar, as promptreg writes it (JSON string syntax)."""
    return json.dumps(text, ensure_ascii=False)


def render(name: str, versions: dict[str, list[dict]]) -> bytes:
    """results/<name>.yaml exactly as `promptreg results record` writes it."""
    out = [
        f"# promptreg results: test runs per version of `{name}`, oldest first.\n",
        "# Add runs with `promptreg results record` or `promptreg results import`.\n",
        "format: 1\n",
        f"prompt: {quote(name)}\n",
    ]
    if not versions:
        out.append("versions: {}\n")
        return "".join(out).encode()
    out.append("versions:\n")
    for version in sorted(versions, key=version_key):
        out.append(f'  "{version}":\n')
        for run in versions[version]:
            out.append(f"    - test: {quote(run['test'])}\n")
            out.append(f"      passed: {run['passed']}\n")
            out.append(f"      failed: {run['failed']}\n")
            out.append(f"      errored: {run['errored']}\n")
            out.append(f"      avg_score: {run['avg_score']!r}\n")
            out.append(f"      tested_at: {quote(run['tested_at'])}\n")
            out.append(f"      tested_by: {quote(run['tested_by'])}\n")
            out.append(f"      source: {quote(run['source'])}\n")
            out.append(f"      url: {quote(run['url'])}\n")
    return "".join(out).encode()


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def make_run(rng: random.Random, test: str, serial: int) -> dict:
    total = rng.choice((20, 50, 100, 200))
    failed = rng.randint(0, total // 10)
    errored = rng.choice((0, 0, 0, 1))
    return {
        "test": test,
        "passed": total - failed - errored,
        "failed": failed,
        "errored": errored,
        "avg_score": round(rng.uniform(0.7, 0.99), 3),
        "tested_by": TESTED_BY,
        "source": "promptfoo",
        "url": f"https://ci.example.com/runs/{serial}",
    }


def held_versions(reg: Registry, prompt: str) -> list[str]:
    return sorted({reg.get(prompt, env) for env in reg.envs_of[prompt]}, key=version_key)


def data(raw: bytes) -> bytes:
    return b"data %d\n" % len(raw) + raw + b"\n"


def message_for(batch: list[tuple[str, str, dict]], serial: int) -> bytes:
    if len(batch) == 1:
        # The form `promptreg results record` writes.
        name, version, run = batch[0]
        total = run["passed"] + run["failed"] + run["errored"]
        return (
            f"results: {name} {version} {run['test']} {run['passed']}/{total} passed\n\n"
            f"Prompt: {name}\nVersion: {version}\nTest: {run['test']}\nPassed: {run['passed']}\n"
            f"Failed: {run['failed']}\nErrored: {run['errored']}\nScore: {run['avg_score']!r}\n"
            f"Source: {run['source']}\nChange: tested\n"
        ).encode()
    return f"results: import {len(batch)} runs\n\nbench results batch {serial}\n".encode()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="history registry to copy (e.g. /tmp/bench-hist)")
    ap.add_argument("dst", help="directory to create (must not exist)")
    ap.add_argument("--prompts", type=int, default=1000, help="prompts given a results file (default 1000)")
    ap.add_argument("--runs", type=int, default=10, help="runs per prompt written with git (default 10)")
    ap.add_argument("--per-commit", type=int, default=10, help="runs per results commit (default 10)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--bin", help="promptreg binary: append --record runs with `results record`")
    ap.add_argument("--record", type=int, default=500, help="runs recorded with --bin (default 500)")
    ap.add_argument("--hot-runs", type=int, default=50, help=f"of them, runs of {HOT_PROMPT} (default 50)")
    ap.add_argument("--no-repack", dest="repack", action="store_false", help="skip `git repack -a -d`")
    args = ap.parse_args()
    if args.prompts < 1 or args.runs < 1 or args.per_commit < 1 or args.record < 0:
        ap.error("--prompts, --runs and --per-commit must be >= 1, --record >= 0")
    src = os.path.abspath(args.src)
    dst = os.path.abspath(args.dst)
    binary = os.path.abspath(args.bin) if args.bin else None
    if binary and not os.access(binary, os.X_OK):
        print(f"error: {binary} is not an executable file", file=sys.stderr)
        return 2
    if not os.path.isdir(os.path.join(src, ".git")):
        print(f"error: {src} is not a git working tree (run gen_history.py first)", file=sys.stderr)
        return 2
    if os.path.lexists(dst):
        print(f"error: {dst} exists; refusing", file=sys.stderr)
        return 2
    env = hermetic_env()
    t0 = time.perf_counter()
    subprocess.run(["cp", "-a", "--", src, dst], check=True)
    shutil.rmtree(os.path.join(dst, ".git", "promptreg"), ignore_errors=True)
    t_copy = time.perf_counter() - t0

    # The commits to replay: everything on main after the commit that added registry.yaml.
    added = git_out(dst, "log", "--format=%H", "--diff-filter=A", BRANCH, "--", REGISTRY_FILE, env=env)
    base = added.decode().split()[-1]
    replay = git_out(dst, "rev-list", "--reverse", f"{base}..{BRANCH}", env=env).decode().split()
    if not replay:
        print(f"error: {src} has no commits after {base} (run gen_history.py first)", file=sys.stderr)
        return 2
    reg = Registry(git_out(dst, "cat-file", "blob", f"{BRANCH}:{REGISTRY_FILE}", env=env))
    released = released_versions(dst, env)

    # The runs written with git: `runs` per prompt, shuffled, `per_commit` to a commit.
    rng = random.Random(args.seed)
    candidates = sorted((p for p in reg.envs_of if reg.envs_of[p] and p in released), key=lambda p: (len(p), p))
    if HOT_PROMPT not in candidates:
        print(f"error: {HOT_PROMPT} has no pointers or no versions in {src}", file=sys.stderr)
        return 2
    others = [p for p in candidates if p != HOT_PROMPT]
    chosen = sorted(rng.sample(others, min(len(others), args.prompts - 1)) + [HOT_PROMPT], key=lambda p: (len(p), p))
    planned = [(p, rng.choice(held_versions(reg, p)), rng.choice(TESTS)) for p in chosen for _ in range(args.runs)]
    rng.shuffle(planned)
    batches = [planned[i:i + args.per_commit] for i in range(0, len(planned), args.per_commit)]
    # After which replayed commit each results commit goes.
    slots = sorted(rng.randrange(len(replay)) for _ in batches)
    after: dict[int, int] = {}
    for slot in slots:
        after[slot] = after.get(slot, 0) + 1

    t_import = time.perf_counter()
    cat = CatFile(dst, env)
    proc = subprocess.Popen(["git", "-C", dst, "fast-import", "--quiet", "--done", "--force"], stdin=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    w = proc.stdin.write
    ref = f"refs/heads/{BRANCH}".encode()
    ident = IDENT.encode()
    results: dict[str, dict[str, list[dict]]] = {}
    serial = 0
    batch_iter = iter(batches)
    previous_entries: set[str] = set()
    first = True
    last_time = 0
    w(b"feature done\n")
    for index, oid in enumerate(replay):
        kind, raw = cat.get(oid)
        commit = parse_commit(raw)
        if kind != "commit" or len(commit["parents"]) != 1:
            print(f"error: {oid} is not a commit with one parent (merges are not replayed)", file=sys.stderr)
            return 2
        _, tree_raw = cat.get(commit["tree"])
        entries = [e for e in parse_tree(tree_raw) if e[1] != RESULTS_DIR]
        w(b"commit " + ref + b"\n")
        w(b"author " + commit["author"] + b"\n")
        w(b"committer " + commit["committer"] + b"\n")
        w(data(commit["message"]))
        if first:
            w(b"from " + base.encode() + b"\n")
            first = False
        names = {name for _, name, _ in entries}
        for gone in sorted(previous_entries - names):
            w(b"D " + gone.encode() + b"\n")
        for mode, name, entry in entries:
            w(f"M {mode} {entry} {name}\n".encode())
        previous_entries = names
        w(b"\n")
        last_time = commit["committer_time"]
        for j in range(after.get(index, 0)):
            batch = next(batch_iter)
            serial += 1
            when = last_time + 1 + j
            stamp = b"%d +0000" % when
            runs = []
            for name, version, test in batch:
                run = make_run(rng, test, serial * 100 + len(runs))
                run["tested_at"] = rfc3339(when)
                results.setdefault(name, {}).setdefault(version, []).append(run)
                runs.append((name, version, run))
            w(b"commit " + ref + b"\n")
            w(b"author " + ident + b" " + stamp + b"\n")
            w(b"committer " + ident + b" " + stamp + b"\n")
            w(data(message_for(runs, serial)))
            for name in sorted({name for name, _, _ in batch}):
                w(f"M 100644 inline {RESULTS_DIR}/{name}.yaml\n".encode())
                w(data(render(name, results[name])))
            w(b"\n")
            last_time = when
    w(b"done\n")
    proc.stdin.close()
    cat.close()
    if proc.wait() != 0:
        print("error: git fast-import failed", file=sys.stderr)
        return 1
    t_import = time.perf_counter() - t_import
    subprocess.run(["git", "-C", dst, "reset", "--quiet", "--hard", BRANCH], env=env, check=True)

    # Runs appended with the real `promptreg results record`, one commit each.
    t_record = time.perf_counter()
    recorded = 0
    if binary and args.record:
        hot_versions = sorted({"1.0.0", "1.1.0", *held_versions(reg, HOT_PROMPT)} & set(released[HOT_PROMPT]), key=version_key)
        hot_slots = set(rng.sample(range(args.record), min(args.record, args.hot_runs)))
        hot_done = 0
        for k in range(args.record):
            if k in hot_slots:
                name, version, test = HOT_PROMPT, hot_versions[hot_done % len(hot_versions)], "golden-set"
                hot_done += 1
                total = 100
                failed = rng.randint(0, 5)
            else:
                name = rng.choice(chosen)
                if "staging" in reg.envs_of[name]:
                    version = reg.get(name, "staging")
                else:
                    version = held_versions(reg, name)[-1]
                test = rng.choice(TESTS)
                total = rng.choice((20, 50, 100, 200))
                failed = rng.randint(0, total // 10)
            stamp = f"{last_time + 60 * (k + 1)} +0000"
            run_env = dict(env, GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
            cmd = [
                binary, "--repo", dst, "-q", "results", "record", f"{name}@{version}", "--test", test,
                "--passed", str(total - failed), "--failed", str(failed),
                "--score", repr(round(rng.uniform(0.8, 0.99), 3)),
                "--url", f"https://ci.example.com/runs/{100000 + k}",
            ]
            res = subprocess.run(cmd, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if res.returncode != 0:
                print(f"error: exit {res.returncode}: {' '.join(cmd)}", file=sys.stderr)
                sys.stderr.write(res.stderr.decode("utf-8", "replace"))
                return 1
            recorded += 1
        shutil.rmtree(os.path.join(dst, ".git", "promptreg", "cache"), ignore_errors=True)
    t_record = time.perf_counter() - t_record

    t_repack = 0.0
    if args.repack:
        t_repack = time.perf_counter()
        subprocess.run(["git", "-C", dst, "reflog", "expire", "--expire=now", "--all"], env=env, check=True)
        subprocess.run(["git", "-C", dst, "repack", "-a", "-d", "-q"], env=env, check=True)
        t_repack = time.perf_counter() - t_repack

    total = time.perf_counter() - t0
    commits = int(git_out(dst, "rev-list", "--count", f"{base}..{BRANCH}", env=env))
    print(
        f"generated {dst}: {len(replay)} replayed commits + {len(batches)} results commits "
        f"({len(planned)} runs, {args.per_commit} a commit, {len(chosen)} prompts) + {recorded} "
        f"`results record` commits = {commits} commits after {base[:10]}, in {total:.2f}s "
        f"(copy {t_copy:.2f}s, fast-import {t_import:.2f}s, record {t_record:.2f}s"
        + (f", repack {t_repack:.2f}s" if args.repack else "") + ")"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
