#!/usr/bin/env python3
"""Flood `promptreg serve` with cache-busting and distinct valid requests; report its memory.

Builds a registry in a temporary directory with one large prompt `big` (a single-line
system prompt of --prompt-kib KiB) released as --versions versions (one `promptreg create`,
then annotated tags of the same commit), starts `promptreg serve --addr 127.0.0.1:0
[--cache-size SIZE]`, and from --clients threads at once sends

  1. --busters requests `GET /api/prompts/big?version=1.0.0&cachebuster=N` (N distinct), and
  2. every distinct valid request `GET /api/prompts/big?version=1.0.K`, --rounds times
     (in a different order each round),

reading the server's VmRSS and VmHWM (/proc/PID/status) after start and after each phase.
Prints a table and one JSON line; exits 1 when a buster was not refused with 400 or a valid
request did not answer 200.

Usage:
  python3 bench/serve_flood.py --bin target/release/promptreg [--cache-size 64MiB]
      [--prompt-kib 600] [--versions 300] [--busters 3000] [--rounds 2] [--clients 4]

Python 3 standard library only; git runs hermetically (no user or system configuration).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from hermetic import hermetic_env


def memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.split()[0] if value.split() else "0"
    return int(fields["VmRSS"]), int(fields["VmHWM"])


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def flood(urls: list[str], clients: int) -> dict[int, int]:
    """Sends every URL once, from `clients` threads; counts answers by status."""
    work: queue.Queue[str] = queue.Queue()
    for url in urls:
        work.put(url)
    counts: dict[int, int] = {}
    lock = threading.Lock()

    def client() -> None:
        while True:
            try:
                url = work.get_nowait()
            except queue.Empty:
                return
            status = status_of(url)
            with lock:
                counts[status] = counts.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--cache-size", default=None)
    parser.add_argument("--prompt-kib", type=int, default=600)
    parser.add_argument("--versions", type=int, default=300)
    parser.add_argument("--busters", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)

    tmp = tempfile.mkdtemp(prefix="serve-flood-")
    server = None
    try:
        home = os.path.join(tmp, "home")
        repo = os.path.join(tmp, "repo")
        os.makedirs(home)
        env = hermetic_env("Flood", "flood@example.com", home)
        run = lambda *cmd: subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
        os.makedirs(repo)
        run("git", "init", "-q", "-b", "main")
        run(binary, "init")
        words = "refund policy words "
        text = words * (args.prompt_kib * 1024 // len(words))
        os.makedirs(os.path.join(repo, "prompts", "big"))
        with open(os.path.join(repo, "prompts", "big", "prompt.yaml"), "w") as f:
            f.write(f'model: gpt-4o\ntoken_budget: 100000000\nsystem_prompt: "{text}"\n')
        run(binary, "create", "big", "--version", "1.0.0", "-m", "big")
        commit = run("git", "rev-parse", "big/v1.0.0^{commit}").stdout.decode().strip()
        for n in range(1, args.versions):
            run("git", "tag", "-a", "-m", "again", f"big/v1.0.{n}", commit)

        command = [binary, "serve", "--addr", "127.0.0.1:0"]
        if args.cache_size:
            command += ["--cache-size", args.cache_size]
        server = subprocess.Popen(
            command, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        base = None
        for line in server.stderr:
            if line.startswith("listening on "):
                base = line.split()[2]
                break
        if base is None:
            print("the server did not start", file=sys.stderr)
            return 1
        # Drain the access log so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        url = f"{base}/api/prompts/big"
        assert status_of(f"{url}?version=1.0.0") == 200
        rows = [("after start", 0, 0.0, *memory(server.pid), {})]

        busters = [f"{url}?version=1.0.0&cachebuster={n}" for n in range(args.busters)]
        started = time.monotonic()
        counts = flood(busters, args.clients)
        rows.append(("cache busters", len(busters), time.monotonic() - started, *memory(server.pid), counts))
        ok = counts.get(400, 0) == len(busters)

        valid = [f"{url}?version=1.0.{n}" for n in range(args.versions)]
        sent, counts, started = 0, {}, time.monotonic()
        for round_ in range(args.rounds):
            order = valid if round_ % 2 == 0 else list(reversed(valid))
            for status, n in flood(order, args.clients).items():
                counts[status] = counts.get(status, 0) + n
            sent += len(order)
        rows.append(("distinct valid", sent, time.monotonic() - started, *memory(server.pid), counts))
        ok = ok and counts.get(200, 0) == sent

        print(
            f"cache budget {args.cache_size or 'default (64MiB)'}, prompt {args.prompt_kib} KiB, "
            f"{args.versions} versions, {args.clients} clients"
        )
        print(f"{'phase':<16}{'requests':>9}{'seconds':>9}{'VmRSS MiB':>11}{'VmHWM MiB':>11}  statuses")
        for phase, n, secs, rss, hwm, counts in rows:
            print(f"{phase:<16}{n:>9}{secs:>9.1f}{rss / 1024:>11.1f}{hwm / 1024:>11.1f}  {counts}")
        print(json.dumps({"phases": [
            {"phase": p, "requests": n, "seconds": round(s, 2), "rss_kib": r, "hwm_kib": h, "statuses": c}
            for p, n, s, r, h, c in rows
        ]}))
        return 0 if ok else 1
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=40)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
