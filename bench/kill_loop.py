#!/usr/bin/env python3
"""Kill promptreg writers at random moments and check that nothing is ever left broken.

Builds a small registry (`promptreg init --example`) in a temporary directory, then in each
iteration starts one writer -- in turn

    promptreg create <prompt> --bump patch --allow-unchanged -m ...
    promptreg promote support/refund-agent <version> --to dev --force --reason ...
    promptreg results record support/refund-agent@<version> --test kill-loop --passed N --failed 1

-- and sends it SIGKILL after a random 0-40 ms delay. Right after the kill, with no manual step,
it runs the next write (a promotion); when that fails, the write "needed manual help", and
`promptreg doctor --fix` (default --min-age, as a user would run it) is run once and the write
retried: "doctor --fix fixed it on its first run" when the retry then succeeds. After that it
checks that:

  * `git fsck --strict` passes;
  * `promptreg doctor --fix --min-age 0` leaves no finding unfixed (--min-age 0 because nothing
    else runs here, so even a fresh Git lock file is known to be abandoned);
  * no `*.lock` or `tmp_object_git2_*` file is left anywhere under .git/ afterwards;
  * `promptreg list`, `promptreg fetch support/refund-agent@dev`, `promptreg results show
    support/refund-agent` and `promptreg validate` succeed;
  * `git status --porcelain` is empty (every write either happened completely, index and
    working tree included, or left no trace).

Usage:
  python3 bench/kill_loop.py --bin target/release/promptreg [--iterations 40] [--seed N] [--keep]

Prints a summary; exits 1 when any check failed. Python 3 standard library only; git runs
hermetically (no user or system configuration, fixed identity).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from hermetic import hermetic_env

PROMOTED = "support/refund-agent"
ENVIRONMENT = "dev"


class Loop:
    def __init__(self, binary: str, repo: str, env: dict[str, str]) -> None:
        self.binary = binary
        self.repo = repo
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, "--repo", self.repo, *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", self.repo, *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )

    def state(self) -> tuple[str, str]:
        """HEAD and all refs: tells whether a killed write landed."""
        head = self.git("rev-parse", "HEAD").stdout.strip()
        refs = self.git("for-each-ref", "--format=%(refname) %(objectname)").stdout
        return head, refs

    def prompts(self) -> list[str]:
        out = self.run("list", "--format", "json")
        return [row["name"] for row in json.loads(out.stdout)]

    def versions(self, name: str) -> list[str]:
        out = self.run("versions", name, "--format", "json")
        return [row["version"] for row in json.loads(out.stdout)]

    def serving(self, name: str, environment: str) -> str | None:
        out = self.run("fetch", f"{name}@{environment}", "--format", "json")
        return json.loads(out.stdout)["version"] if out.returncode == 0 else None

    def leftovers(self) -> list[str]:
        """Lock files and libgit2 temporary objects anywhere under .git/."""
        found = []
        for dirpath, _dirs, files in os.walk(os.path.join(self.repo, ".git")):
            for name in files:
                if name == "promptreg.lock":
                    continue  # the write lock: a kernel lock on a file that is never deleted
                if name.endswith(".lock") or name.startswith("tmp_object_git2_"):
                    found.append(os.path.relpath(os.path.join(dirpath, name), self.repo))
        return sorted(found)


def writer(loop: Loop, iteration: int, prompts: list[str]) -> list[str]:
    if iteration % 3 == 0:
        name = prompts[(iteration // 3) % len(prompts)]
        return ["create", name, "--bump", "patch", "--allow-unchanged", "-m", f"kill loop {iteration}"]
    if iteration % 3 == 2:
        version = loop.versions(PROMOTED)[iteration % len(loop.versions(PROMOTED))]
        return ["results", "record", f"{PROMOTED}@{version}", "--test", "kill-loop",
                "--passed", str(iteration), "--failed", "1"]
    current = loop.serving(PROMOTED, ENVIRONMENT)
    choices = [v for v in loop.versions(PROMOTED) if v != current]
    version = choices[iteration % len(choices)]
    return ["promote", PROMOTED, version, "--to", ENVIRONMENT, "--force", "--reason", f"kill loop {iteration}"]


def next_write(loop: Loop, iteration: int) -> subprocess.CompletedProcess[str]:
    """The write a user would run next: a promotion of the other version."""
    current = loop.serving(PROMOTED, ENVIRONMENT)
    choices = [v for v in loop.versions(PROMOTED) if v != current]
    version = choices[iteration % len(choices)]
    return loop.run("promote", PROMOTED, version, "--to", ENVIRONMENT, "--force",
                    "--reason", f"next write after kill {iteration}")


def check(loop: Loop, found_kinds: collections.Counter[str]) -> list[str]:
    """Every post-kill check; returns what failed."""
    problems = []
    fsck = loop.git("fsck", "--strict")
    if fsck.returncode != 0:
        problems.append(f"git fsck --strict exited {fsck.returncode}: {fsck.stderr.strip()}")
    doctor = loop.run("--format", "json", "doctor", "--fix", "--min-age", "0")
    try:
        findings = json.loads(doctor.stdout)
    except json.JSONDecodeError:
        findings = []
        problems.append(f"doctor printed no JSON (exit {doctor.returncode}): {doctor.stderr.strip()}")
    for finding in findings:
        found_kinds[finding["kind"]] += 1
    unfixed = [f for f in findings if not f["fixed"]]
    if unfixed or doctor.returncode != 0:
        problems.append(f"doctor --fix exited {doctor.returncode}, unfixed: {unfixed}")
    left = loop.leftovers()
    if left:
        problems.append(f"left under .git/ after doctor --fix: {left}")
    for args in (["list"], ["fetch", f"{PROMOTED}@{ENVIRONMENT}"], ["results", "show", PROMOTED],
                 ["validate"]):
        out = loop.run(*args)
        if out.returncode != 0:
            problems.append(f"`promptreg {' '.join(args)}` exited {out.returncode}: {out.stderr.strip()}")
    status = loop.git("status", "--porcelain=v1", "-uall")
    if status.returncode != 0 or status.stdout:
        problems.append(f"git status --porcelain: {status.stdout.strip() or status.stderr.strip()}")
    return problems


def repair(loop: Loop) -> None:
    """After a failed check, put the working tree back so later iterations test something."""
    loop.git("checkout", "-q", "HEAD", "--", ".")
    loop.git("clean", "-q", "-f", "-d")
    loop.run("doctor", "--fix", "--min-age", "0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="the promptreg binary (a release build)")
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--max-delay-ms", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=None, help="for a reproducible run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print(f"error: `{binary}` is not an executable", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="promptreg-kill-loop-")
    home = os.path.join(tmp, "home")
    os.mkdir(home)
    repo = os.path.join(tmp, "registry")
    loop = Loop(binary, repo, hermetic_env("Kill Loop", "kill-loop@example.com", home, "2026-01-01T00:00:00+00:00"))
    init = subprocess.run(
        [binary, "init", "--example", repo], env=loop.env, capture_output=True, text=True
    )
    if init.returncode != 0:
        print(f"error: init --example failed: {init.stderr.strip()}", file=sys.stderr)
        return 1
    prompts = loop.prompts()

    outcomes: collections.Counter[str] = collections.Counter()
    found_kinds: collections.Counter[str] = collections.Counter()
    failures: list[tuple[int, str, list[str]]] = []
    helped: collections.Counter[str] = collections.Counter()
    doctor_first_run = 0
    for iteration in range(args.iterations):
        command = writer(loop, iteration, prompts)
        before = loop.state()
        process = subprocess.Popen(
            [binary, "--repo", repo, *command],
            env=loop.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(0, args.max_delay_ms) / 1000)
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate()
        landed = loop.state() != before
        if process.returncode == -signal.SIGKILL:
            outcome = "killed mid-run, " + ("after the ref moved" if landed else "before any ref moved")
        elif process.returncode == 0:
            outcome = "exited (success) before the kill"
        else:
            outcome = f"exited ({process.returncode}) before the kill"
            failures.append((iteration, " ".join(command[:2]), [f"writer failed: {stderr.strip()}"]))
        outcomes[outcome] += 1
        after = next_write(loop, iteration)
        if after.returncode != 0:
            reason = after.stderr.strip().splitlines()[0] if after.stderr.strip() else "?"
            helped[reason] += 1
            first_fix = loop.run("doctor", "--fix")
            retry = next_write(loop, iteration)
            if first_fix.returncode == 0 and retry.returncode == 0:
                doctor_first_run += 1
            else:
                failures.append((iteration, "next write", [
                    f"needed more than one `doctor --fix`: {first_fix.stdout.strip()} "
                    f"{first_fix.stderr.strip()} / retry: {retry.stderr.strip()}"]))
        problems = check(loop, found_kinds)
        if problems:
            failures.append((iteration, " ".join(command[:2]), problems))
            repair(loop)

    mid = sum(n for o, n in outcomes.items() if o.startswith("killed"))
    print(f"kill loop: {args.iterations} iterations, seed {seed}, delay 0-{args.max_delay_ms:g} ms")
    print(f"  killed mid-run: {mid}; exited before the kill: {args.iterations - mid}")
    for outcome, n in sorted(outcomes.items()):
        print(f"    {n:4}  {outcome}")
    needed = sum(helped.values())
    print(f"  next write needed manual help: {needed} of {args.iterations} "
          f"({needed} of {mid} kills that hit a live writer)")
    for reason, n in sorted(helped.items()):
        print(f"    {n:4}  {reason}")
    if needed:
        print(f"  doctor --fix fixed it on its first run: {doctor_first_run} of {needed}")
    print("  doctor --fix cleared: " + (", ".join(f"{k} x{n}" for k, n in sorted(found_kinds.items())) or "nothing"))
    print(f"  failures: {len(failures)}")
    for iteration, what, problems in failures:
        for problem in problems:
            print(f"    iteration {iteration} ({what}): {problem}")
    if args.keep or failures:
        print(f"  repository kept at {repo}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
