#!/usr/bin/env python3
"""Eight promptreg writers and one plain `git commit` loop on the same checkout: count lost
updates, phantom failures and wedged runs.

Each run builds a fresh registry (`promptreg init --example`, plus one more version of the
prompts that have only one), then starts, at the same time:

  * 8 writers, each owning one (prompt, environment) pair, each running --ops commands in turn:
        promptreg promote <prompt> <the other version> --to <env> --force --reason <marker>
        promptreg results record <prompt>@<version> --test <marker> --passed 1 --failed 0
        promptreg create <prompt> --bump patch --allow-unchanged -m <marker>
    (every command carries a unique marker, so its commit or tag can be found afterwards);
  * one plain committer: `echo $i > n$i; git add n$i; git commit -qm g$i`, until the writers
    are done.

Then it counts:

  * lost updates: a promptreg command that exited 0 whose marker is not in HEAD's history (or
    whose create has no tag), a plain commit that exited 0 and is not in HEAD's history, and
    every plain commit that changed a promptreg-owned path (registry.yaml, prompts/, results/:
    the plain loop never touches them, so such a change is a revert). Goal: 0.
  * phantom failures: a promptreg command that exited 1 although its commit or tag landed.
  * wedged runs: afterwards `git status` shows more than the plain loop's own n* files, or
    `promptreg doctor` reports a problem, or the next promotion fails, or `git fsck --strict`
    fails.

Usage:
  python3 bench/concurrent_writers.py --bin target/release/promptreg [--runs 5] [--ops 20] [--keep]

Python 3 standard library only; git runs hermetically (no user or system configuration).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading

from hermetic import hermetic_env

WRITERS = [
    ("support/refund-agent", "dev"),
    ("support/refund-agent", "staging"),
    ("support/refund-agent", "production"),
    ("support/triage", "dev"),
    ("support/triage", "staging"),
    ("support/triage", "production"),
    ("summarize", "dev"),
    ("summarize", "staging"),
]
OWNED = ("registry.yaml", "prompts/", "results/")


class Run:
    def __init__(self, binary: str, repo: str, env: dict[str, str]) -> None:
        self.binary, self.repo, self.env = binary, repo, env

    def promptreg(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.binary, "--repo", self.repo, *args], env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", self.repo, *args], env=self.env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)

    def versions(self, name: str) -> list[str]:
        out = self.promptreg("versions", name, "--format", "json")
        import json
        return [row["version"] for row in json.loads(out.stdout)]


def writer(run: Run, w: int, ops: int, out: list[tuple[str, str, int, str]]) -> None:
    name, env = WRITERS[w]
    pair = run.versions(name)[:2]
    # Start with the version the pair does not hold, so every promotion is a change.
    import json
    held = run.promptreg("fetch", f"{name}@{env}", "--format", "json")
    start = 1 if held.returncode == 0 and json.loads(held.stdout)["version"] == pair[0] else 0
    for k in range(ops):
        marker = f"w{w}-op{k}"
        if k % 5 == 4:
            kind, args = "create", ["create", name, "--bump", "patch", "--allow-unchanged",
                                    "-m", marker]
        elif k % 5 == 3:
            kind, args = "record", ["results", "record", f"{name}@{pair[0]}", "--test", marker,
                                    "--passed", "1", "--failed", "0"]
        else:
            kind, args = "promote", ["promote", name, pair[(k + start) % 2], "--to", env, "--force",
                                     "--reason", marker]
        result = run.promptreg(*args)
        out.append((kind, marker, result.returncode, result.stderr.strip()))


def committer(run: Run, stop: threading.Event, out: list[tuple[str, int]]) -> None:
    i = 0
    while not stop.is_set():
        path = os.path.join(run.repo, f"n{i}")
        with open(path, "w") as f:
            f.write(f"{i}\n")
        if run.git("add", f"n{i}").returncode == 0:
            out.append((f"g{i}", run.git("commit", "-qm", f"g{i}").returncode))
        i += 1


def one_run(binary: str, ops: int, keep: bool) -> dict[str, object]:
    tmp = tempfile.mkdtemp(prefix="promptreg-writers-")
    home = os.path.join(tmp, "home")
    os.mkdir(home)
    repo = os.path.join(tmp, "registry")
    run = Run(binary, repo, hermetic_env("Concurrent Writers", "writers@example.com", home))
    init = subprocess.run([binary, "init", "--example", repo], env=run.env,
                          capture_output=True, text=True)
    if init.returncode != 0:
        raise SystemExit(f"error: init --example failed: {init.stderr.strip()}")
    for name in {n for n, _ in WRITERS}:
        if len(run.versions(name)) < 2:
            run.promptreg("create", name, "--bump", "patch", "--allow-unchanged", "-m", "second")

    results: list[list[tuple[str, str, int, str]]] = [[] for _ in WRITERS]
    plain: list[tuple[str, int]] = []
    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(run, w, ops, results[w]))
               for w in range(len(WRITERS))]
    plain_thread = threading.Thread(target=committer, args=(run, stop, plain))
    plain_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    plain_thread.join()

    # What HEAD's history holds: every commit's subject, body and changed paths.
    log = run.git("log", "--format=%x00%H%x01%s%x01%b%x01", "--name-only", "HEAD").stdout
    text_of_history = []
    subjects = set()
    reverts = 0
    for record in log.split("\x00")[1:]:
        parts = record.split("\x01")
        _id, subject, body, files = parts[0], parts[1], parts[2], parts[3]
        text_of_history.append(subject + "\n" + body)
        subjects.add(subject)
        changed = [f for f in files.split("\n") if f]
        if subject.startswith("g") and subject[1:].isdigit():
            reverts += sum(1 for f in changed if f == OWNED[0] or f.startswith(OWNED[1:]))
    history = "\n".join(text_of_history)
    tags = run.git("for-each-ref", "refs/tags", "--format=%(contents)").stdout

    def landed(kind: str, marker: str) -> bool:
        if kind == "create":
            return any(line.strip() == marker for line in tags.splitlines())
        return marker in history.split() or f" {marker} " in history

    ops_ok = ops_failed = lost = phantom = 0
    errors: collections.Counter[str] = collections.Counter()
    for per_writer in results:
        for kind, marker, code, stderr in per_writer:
            if code == 0:
                ops_ok += 1
                lost += not landed(kind, marker)
            else:
                ops_failed += 1
                errors[stderr.splitlines()[0] if stderr else f"exit {code}"] += 1
                phantom += landed(kind, marker)
    plain_ok = sum(1 for _, code in plain if code == 0)
    plain_lost = sum(1 for subject, code in plain if code == 0 and subject not in subjects)

    # Wedged?
    wedge = []
    status = run.git("status", "--porcelain=v1", "-uall").stdout
    stray = [line for line in status.splitlines() if not line[3:].startswith("n")]
    if stray:
        wedge.append(f"git status: {stray[:3]}")
    doctor = run.promptreg("doctor")
    if doctor.returncode != 0 or "no problems found" not in doctor.stderr:
        wedge.append(f"doctor: {doctor.stdout.strip()} {doctor.stderr.strip()}")
    name, env = WRITERS[0]
    versions = run.versions(name)
    nxt = run.promptreg("promote", name, versions[-1], "--to", "dev", "--force",
                        "--reason", "after the run")
    if nxt.returncode != 0:
        wedge.append(f"next promotion: {nxt.stderr.strip()}")
    fsck = run.git("fsck", "--strict")
    if fsck.returncode != 0:
        wedge.append(f"fsck: {fsck.stderr.strip()}")
    if keep or wedge or lost or phantom or reverts or plain_lost:
        print(f"  repository kept at {repo}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return dict(ops_ok=ops_ok, ops_failed=ops_failed, lost=lost + plain_lost + reverts,
                reverts=reverts, phantom=phantom, plain_ok=plain_ok,
                plain_failed=len(plain) - plain_ok, wedge=wedge, errors=errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="the promptreg binary (a release build)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ops", type=int, default=20, help="commands per writer per run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print(f"error: `{binary}` is not an executable", file=sys.stderr)
        return 2
    totals: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    wedged = 0
    for n in range(args.runs):
        r = one_run(binary, args.ops, args.keep)
        for key in ("ops_ok", "ops_failed", "lost", "reverts", "phantom", "plain_ok",
                    "plain_failed"):
            totals[key] += r[key]  # type: ignore[index]
        errors.update(r["errors"])  # type: ignore[arg-type]
        wedged += bool(r["wedge"])
        print(f"run {n + 1}: promptreg {r['ops_ok']} ok / {r['ops_failed']} failed, "
              f"plain commits {r['plain_ok']} ok / {r['plain_failed']} refused by git, "
              f"lost {r['lost']}, phantom {r['phantom']}, wedged: {r['wedge'] or 'no'}")
    print(f"{args.runs} runs x {len(WRITERS)} writers x {args.ops} commands + a plain committer:")
    print(f"  successful updates: {totals['ops_ok']} promptreg + {totals['plain_ok']} plain commits")
    print(f"  lost updates: {totals['lost']} (plain commits that reverted promptreg paths: "
          f"{totals['reverts']})")
    print(f"  phantom failures (exit 1 although the commit landed): {totals['phantom']}")
    print(f"  promptreg commands that failed: {totals['ops_failed']}")
    for reason, n in sorted(errors.items()):
        print(f"    {n:4}  {reason}")
    print(f"  plain commits refused by git (index.lock held, or HEAD moved): "
          f"{totals['plain_failed']}")
    print(f"  wedged runs: {wedged} of {args.runs}")
    return 1 if totals["lost"] or totals["phantom"] or wedged else 0


if __name__ == "__main__":
    sys.exit(main())
