#!/usr/bin/env python3
"""Generate a large synthetic promptreg registry for benchmarking.

Creates a fresh git repository at DIR containing P prompts x V versions,
each version an annotated tag ``pN/v1.K.0``, plus a ``registry.yaml`` index
on branch ``main``. Everything is written through a single ``git fast-import``
stream, so 100,000 tags take seconds rather than minutes.

Layout of the history (marks :1 .. :V+1):
  commit k (k = 0 .. V-1)  rewrites every prompts/pN/prompt.yaml to revision k
                           and is the target of every tag pN/v1.k.0
  commit V                 adds registry.yaml (HEAD of main)

The import and `git pack-refs --all` run in a scratch bare repo on tmpfs
(/dev/shm) when available, because fast-import first writes one loose ref file
per tag; the finished pack and packed-refs are then moved into DIR and `main`
is checked out. Use --in-place to import directly into DIR instead.

Usage:
  python3 bench/gen_registry.py DIR [--prompts 10000] [--versions 10]

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

BRANCH = "main"
IDENT = "Bench Bot <bench@example.com>"
BASE_EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z, fixed for reproducibility
ENVIRONMENTS = ("dev", "staging", "production")


def hermetic_env() -> dict[str, str]:
    """Environment for git that ignores user/system config and pins identity."""
    env = dict(os.environ)
    for key in list(env):
        # Drop anything that could redirect git (GIT_DIR, GIT_WORK_TREE, ...).
        if key.startswith("GIT_"):
            del env[key]
    date = f"{BASE_EPOCH} +0000"
    env.update(
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Bench Bot",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_AUTHOR_DATE=date,
        GIT_COMMITTER_NAME="Bench Bot",
        GIT_COMMITTER_EMAIL="bench@example.com",
        GIT_COMMITTER_DATE=date,
        LC_ALL="C",
        TZ="UTC",
    )
    return env


def prompt_yaml(n: int, k: int) -> str:
    """Content of prompts/pN/prompt.yaml at revision k."""
    return (
        f"summary: Benchmark prompt p{n}, revision {k}\n"
        "model: gpt-4o\n"
        "temperature: 0.3\n"
        "token_budget: 2048\n"
        "system_prompt: |\n"
        f"  You are assistant number {n} (revision {k}). Greet {{{{ customer_name }}}} politely and answer\n"
        "  questions about the product.\n"
        "\n"
        "  Rules:\n"
        "  - Be concise and friendly; prefer short paragraphs over long ones.\n"
        "  - Only answer questions about the product, its pricing and its features.\n"
        "  - If you do not know the answer, say so and offer to escalate to a human.\n"
        "  - Never invent order numbers, prices or delivery dates.\n"
        f"  - Sign off as \"Assistant {n}\".\n"
        "  - Write in the same language as the customer.\n"
        "variables:\n"
        "  customer_name:\n"
        "    description: The customer's first name\n"
        "    required: true\n"
        "tags: [bench]\n"
    )


def env_versions(n: int, versions: int) -> tuple[int, int, int]:
    """Minor version numbers (dev, staging, production) for prompt pN.

    dev is always the newest; staging lags by 0-1 and production by 1-3
    revisions, varied per prompt and clamped to existing versions.
    """
    top = versions - 1
    dev = top
    staging = max(0, top - (n % 2))
    production = max(0, top - 1 - (n % 3))
    return dev, staging, production


def registry_yaml(prompts: int, versions: int) -> str:
    lines = [
        "format: 1",
        "environments: [" + ", ".join(ENVIRONMENTS) + "]",
        "prompts:",
    ]
    for n in range(prompts):
        lines.append(f"  p{n}:")
        for env_name, minor in zip(ENVIRONMENTS, env_versions(n, versions)):
            lines.append(f"    {env_name}: 1.{minor}.0")
    return "\n".join(lines) + "\n"


def data(payload: str) -> bytes:
    raw = payload.encode("utf-8")
    return b"data %d\n" % len(raw) + raw + b"\n"


def write_stream(out, prompts: int, versions: int) -> None:
    """Write the whole fast-import stream to the binary file object `out`."""
    w = out.write
    w(b"feature done\n")
    ref = f"refs/heads/{BRANCH}".encode()
    for k in range(versions):
        when = f"{BASE_EPOCH + k * 3600} +0000".encode()
        w(b"commit " + ref + b"\n")
        w(b"mark :%d\n" % (k + 1))
        w(b"author " + IDENT.encode() + b" " + when + b"\n")
        w(b"committer " + IDENT.encode() + b" " + when + b"\n")
        w(data(f"Revision {k} of all {prompts} benchmark prompts"))
        if k > 0:
            w(b"from :%d\n" % k)
        chunk = []
        for n in range(prompts):
            chunk.append(f"M 100644 inline prompts/p{n}/prompt.yaml\n".encode())
            chunk.append(data(prompt_yaml(n, k)))
        w(b"".join(chunk))
        w(b"\n")
    # Final commit: add the registry index.
    when = f"{BASE_EPOCH + versions * 3600} +0000".encode()
    w(b"commit " + ref + b"\n")
    w(b"mark :%d\n" % (versions + 1))
    w(b"author " + IDENT.encode() + b" " + when + b"\n")
    w(b"committer " + IDENT.encode() + b" " + when + b"\n")
    w(data("Add registry.yaml"))
    if versions > 0:
        w(b"from :%d\n" % versions)
    w(b"M 100644 inline registry.yaml\n")
    w(data(registry_yaml(prompts, versions)))
    w(b"\n")
    # Annotated tags, one per (prompt, version), all sharing the fixed date.
    tagger = b"tagger " + IDENT.encode() + b" " + f"{BASE_EPOCH} +0000".encode() + b"\n"
    for n in range(prompts):
        chunk = []
        for k in range(versions):
            chunk.append(f"tag p{n}/v1.{k}.0\nfrom :{k + 1}\n".encode())
            chunk.append(tagger)
            chunk.append(data(f"Release p{n} 1.{k}.0"))
        w(b"".join(chunk))
    w(b"done\n")


def git(gitdir: str, *args: str, env: dict[str, str]) -> None:
    subprocess.run(["git", "-C", gitdir, *args], env=env, check=True)


def move_repo_data(src_gitdir: str, dst_gitdir: str) -> None:
    """Move the pack(s) and packed-refs of a freshly imported scratch repo."""
    src_objects = os.path.join(src_gitdir, "objects")
    loose = [d for d in os.listdir(src_objects) if len(d) == 2 and os.listdir(os.path.join(src_objects, d))]
    if loose:
        raise RuntimeError(f"unexpected loose objects in scratch repo: {loose[:3]}")
    src_pack = os.path.join(src_objects, "pack")
    dst_pack = os.path.join(dst_gitdir, "objects", "pack")
    for name in sorted(os.listdir(src_pack)):
        shutil.move(os.path.join(src_pack, name), os.path.join(dst_pack, name))
    for dirpath, _dirs, files in os.walk(os.path.join(src_gitdir, "refs")):
        if files:
            raise RuntimeError(f"unexpected loose refs left in {dirpath}: {files[:3]}")
    shutil.copyfile(os.path.join(src_gitdir, "packed-refs"), os.path.join(dst_gitdir, "packed-refs"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="directory to create (must not exist or be empty)")
    ap.add_argument("--prompts", type=int, default=10_000, help="number of prompts (default 10000)")
    ap.add_argument("--versions", type=int, default=10, help="versions per prompt (default 10)")
    ap.add_argument(
        "--scratch-dir",
        default="/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None,
        help="fast filesystem (tmpfs) for the import step (default /dev/shm if usable)",
    )
    ap.add_argument("--in-place", action="store_true", help="import directly into DIR (no scratch dir)")
    args = ap.parse_args()
    if args.prompts < 1 or args.versions < 1:
        ap.error("--prompts and --versions must be >= 1")

    repo = os.path.abspath(args.dir)
    if os.path.exists(repo):
        if not os.path.isdir(repo) or os.listdir(repo):
            print(f"error: {repo} exists and is not an empty directory; refusing", file=sys.stderr)
            return 2
    env = hermetic_env()
    t0 = time.perf_counter()

    os.makedirs(repo, exist_ok=True)
    git(repo, "init", "--quiet", f"--initial-branch={BRANCH}", env=env)
    gitdir = os.path.join(repo, ".git")

    # fast-import writes one loose ref file per tag (100k files) before
    # pack-refs folds them into packed-refs. On some filesystems creating that
    # many small files costs tens of seconds of kernel time, so by default the
    # import runs in a scratch bare repo on tmpfs and only the resulting pack
    # and packed-refs file are moved into DIR.
    scratch_parent = None if args.in_place else args.scratch_dir
    scratch = tempfile.mkdtemp(prefix="promptreg-gen-", dir=scratch_parent) if scratch_parent else None
    try:
        work = scratch or gitdir
        if scratch:
            git(scratch, "init", "--quiet", "--bare", f"--initial-branch={BRANCH}", env=env)

        t_import = time.perf_counter()
        proc = subprocess.Popen(
            ["git", "--git-dir", work, "fast-import", "--quiet", "--done"],
            stdin=subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None
        try:
            with proc.stdin:
                write_stream(proc.stdin, args.prompts, args.versions)
        except BrokenPipeError:
            pass
        if proc.wait() != 0:
            print("error: git fast-import failed", file=sys.stderr)
            return 1
        t_import = time.perf_counter() - t_import

        t_refs = time.perf_counter()
        git(work, "pack-refs", "--all", env=env)
        t_refs = time.perf_counter() - t_refs

        if scratch:
            move_repo_data(scratch, gitdir)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)

    t_co = time.perf_counter()
    # fast-import leaves the index empty; populate index + working tree.
    git(repo, "checkout", "--quiet", "--force", BRANCH, env=env)
    t_co = time.perf_counter() - t_co

    total = time.perf_counter() - t0
    tags = args.prompts * args.versions
    print(
        f"generated {repo}: {args.prompts} prompts x {args.versions} versions = {tags} annotated tags "
        f"in {total:.2f}s (fast-import {t_import:.2f}s, pack-refs {t_refs:.2f}s, checkout {t_co:.2f}s; "
        f"import {'via scratch dir ' + args.scratch_dir if scratch else 'in place'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
