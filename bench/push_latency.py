#!/usr/bin/env python3
"""How fast a change reaches a running application, and what waiting applications cost.

Makes a throwaway registry (`promptreg init --example`), starts `promptreg serve` on it and
the Rust client's watch example (crates/promptreg-client/examples/watch.rs: watch mode, TTL
300 s, prints `<ns> <version> <origin>` each time the version it holds changes) following
`support/refund-agent` in dev. Then:

  * local: --rounds times, alternately `promptreg rollback support/refund-agent --env dev`
    (1.2.0 -> 1.1.0) and `promptreg promote ... 1.2.0 --env dev` (back), each run with the CLI
    on the same machine; the latency is from the CLI process having exited (as the script sees
    it) to the client holding the new version (the time on the line it prints; same clock).
    A negative figure means the client had it before the CLI process was reaped.
  * sync: the same with the server on a clone that follows the registry with
    `--sync origin --interval I`, the CLI moving the pointer in the origin: --sync-rounds times.
  * waiters: --waiters idle long polls (`wait=60` with the current ETag) on as many
    connections; the server's VmRSS before and with them, its CPU time over --idle seconds
    while they wait, then the time from a promotion's CLI exit to every one of them answered.

Prints a Markdown table (median, p90, p99, max), the command line and the machine, and one
JSON line. Every process it starts is stopped on exit, error, Ctrl-C or SIGTERM.

Usage:
  cargo build --release --locked && cargo build --release --locked -p promptreg-client --example watch
  python3 bench/push_latency.py --bin target/release/promptreg \\
      --watch target/release/examples/watch [--rounds 100] [--sync-rounds 20] \\
      [--sync-interval 1s] [--waiters 10000] [--idle 10]

Python 3 standard library only; git runs hermetically (no user or system configuration).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import selectors
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from hermetic import hermetic_env

NAME = "support/refund-agent"
running: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start(command: list[str], **kwargs) -> subprocess.Popen:
    process = subprocess.Popen(command, **kwargs)
    running.append(process)
    return process


def stop_all() -> None:
    for process in reversed(running):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    running.clear()


def serve(binary: str, repo: str, env: dict, extra: list[str]) -> tuple[subprocess.Popen, str]:
    server = start(
        [binary, "--repo", repo, "serve", "--addr", "127.0.0.1:0", "--access-log", repo + ".access.log", *extra],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in server.stderr:
        if line.startswith("listening on "):
            # Whatever else it says must not fill the pipe and stall it.
            threading.Thread(target=server.stderr.read, daemon=True).start()
            return server, line.split()[2]
    raise SystemExit("the server did not start")


def parse_seconds(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60}
    for unit in ("ms", "s", "m"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values), 2),
        "p90_ms": round(percentile(values, 90), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(max(values), 2),
    }


def read_line(stream, timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    if not selector.select(timeout):
        raise SystemExit(f"the watching client saw nothing within {timeout} s")
    line = stream.readline()
    if not line:
        raise SystemExit("the watching client exited")
    return line


def moves(
    binary: str, repo: str, env: dict, watcher, rounds: int, timeout: float, phase: float = 0.0
) -> dict:
    """Alternate rollbacks and promotions; the latency of each to the watcher, from the CLI's
    exit and from its start. With `phase`, each move waits a random time up to that first (so
    moves do not fall at the same point of a sync interval every time)."""
    latencies: dict[str, list[float]] = {"rollback": [], "promote": []}
    from_start: list[float] = []
    cli: list[float] = []
    pick = random.Random(14)
    for n in range(rounds):
        if phase:
            time.sleep(pick.uniform(0, phase))
        if n % 2 == 0:
            kind, expect = "rollback", "1.1.0"
            command = [binary, "--repo", repo, "rollback", NAME, "--env", "dev", "--reason", "bench"]
        else:
            kind, expect = "promote", "1.2.0"
            command = [binary, "--repo", repo, "promote", NAME, "1.2.0", "--env", "dev", "--reason", "bench"]
        began = time.time_ns()
        subprocess.run(command, env=env, check=True, capture_output=True)
        returned = time.time_ns()
        cli.append((returned - began) / 1e6)
        seen_ns, version, _origin = read_line(watcher.stdout, timeout).split()
        if version != expect:
            raise SystemExit(f"round {n}: the client holds {version}, expected {expect}")
        latencies[kind].append((int(seen_ns) - returned) / 1e6)
        from_start.append((int(seen_ns) - began) / 1e6)
        time.sleep(0.05)
    return {
        "rollback": summary(latencies["rollback"]),
        "promote": summary(latencies["promote"]),
        "all": summary(latencies["rollback"] + latencies["promote"]),
        "from_start": summary(from_start),
        "cli": summary(cli),
    }


def proc_stat(pid: int) -> tuple[int, int]:
    """(utime + stime in clock ticks, VmRSS in KiB)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return ticks, rss


def waiters(binary: str, repo: str, env: dict, server, base: str, count: int, idle: float) -> dict:
    host, port = base.removeprefix("http://").split(":")
    path = f"/api/prompts/{NAME}/latest?environment=dev"
    with urllib.request.urlopen(base + path) as response:
        etag = response.headers["ETag"]
    request = (
        f"GET {path}&wait=60 HTTP/1.1\r\nHost: {host}\r\nIf-None-Match: {etag}\r\n\r\n"
    ).encode()
    _, rss_before = proc_stat(server.pid)
    selector = selectors.DefaultSelector()
    sockets = []
    for n in range(count):
        s = socket.create_connection((host, int(port)))
        s.sendall(request)
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        sockets.append(s)
        if n % 500 == 499:
            time.sleep(0.05)
    time.sleep(2)
    ticks_before, rss_waiting = proc_stat(server.pid)
    early = selector.select(0)
    time.sleep(idle)
    ticks_after, _ = proc_stat(server.pid)
    hz = os.sysconf("SC_CLK_TCK")
    subprocess.run(
        [binary, "--repo", repo, "rollback", NAME, "--env", "dev", "--reason", "bench"],
        env=env,
        check=True,
        capture_output=True,
    )
    returned = time.monotonic()
    answered = 0
    statuses: dict[str, int] = {}
    last = returned
    while answered < count and time.monotonic() - returned < 60:
        for key, _ in selector.select(1):
            data = key.fileobj.recv(65536)
            selector.unregister(key.fileobj)
            answered += 1
            status = data.split(b" ", 2)[1].decode() if data else "closed"
            statuses[status] = statuses.get(status, 0) + 1
            last = time.monotonic()
    for s in sockets:
        s.close()
    # Back to 1.2.0, where the next moves start.
    subprocess.run(
        [binary, "--repo", repo, "promote", NAME, "1.2.0", "--env", "dev", "--reason", "bench"],
        env=env,
        check=True,
        capture_output=True,
    )
    return {
        "waiters": count,
        "answered_early": len(early),
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_waiting_mib": round(rss_waiting / 1024, 1),
        "rss_per_waiter_kib": round((rss_waiting - rss_before) / count, 2),
        "cpu_while_idle_pct": round((ticks_after - ticks_before) / hz / idle * 100, 2),
        "all_answered_ms": round((last - returned) * 1000, 1),
        "answered": answered,
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--watch", required=True, help="the client's watch example")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--sync-rounds", type=int, default=20)
    parser.add_argument("--sync-interval", default="1s")
    parser.add_argument("--waiters", type=int, default=10000)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()
    binary, watch = os.path.abspath(args.bin), os.path.abspath(args.watch)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.waiters + 100 > hard:
        raise SystemExit(f"--waiters {args.waiters} needs more open files than the limit {hard}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = hermetic_env("Bench", "bench@example.com", home=tmp)
        repo = os.path.join(tmp, "registry")
        subprocess.run([binary, "init", "--example", repo], env=env, check=True, capture_output=True)
        try:
            server, base = serve(binary, repo, env, [])
            watcher = start([watch, base, NAME, "dev"], stdout=subprocess.PIPE, text=True)
            first = read_line(watcher.stdout, 10).split()[1]
            log(f"local: client holds {first}; {args.rounds} moves")
            results["local"] = moves(binary, repo, env, watcher, args.rounds, 10)
            if args.waiters:
                log(f"waiters: {args.waiters} idle long polls")
                results["waiters"] = waiters(binary, repo, env, server, base, args.waiters, args.idle)
            stop_all()
            if args.sync_rounds:
                served = os.path.join(tmp, "served")
                subprocess.run(["git", "clone", "-q", repo, served], env=env, check=True)
                server, base = serve(
                    binary, served, env, ["--sync", "origin", "--interval", args.sync_interval]
                )
                watcher = start([watch, base, NAME, "dev"], stdout=subprocess.PIPE, text=True)
                first = read_line(watcher.stdout, 10).split()[1]
                log(f"sync: client holds {first}; {args.sync_rounds} moves, --interval {args.sync_interval}")
                interval = parse_seconds(args.sync_interval)
                results["sync"] = moves(
                    binary, repo, env, watcher, args.sync_rounds, interval + 30, phase=interval
                )
        finally:
            stop_all()
    rows = [
        ("local", "rollback"),
        ("local", "promote"),
        ("local", "all"),
        ("local", "from_start"),
        ("local", "cli"),
    ]
    if "sync" in results:
        rows += [("sync", "all")]
    print("| moves | n | median | p90 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for section, kind in rows:
        s = results[section][kind]
        label = {
            "cli": "the CLI command itself",
            "from_start": "local, from the CLI's start",
        }.get(kind, f"{section} {kind}")
        print(
            f"| {label} | {s['n']} | {s['median_ms']} ms | {s['p90_ms']} ms | {s['p99_ms']} ms "
            f"| {s['max_ms']} ms |"
        )
    if "waiters" in results:
        w = results["waiters"]
        print()
        print(
            f"{w['waiters']} idle long polls: VmRSS {w['rss_before_mib']} -> {w['rss_waiting_mib']} MiB "
            f"({w['rss_per_waiter_kib']} KiB each), server CPU while they wait "
            f"{w['cpu_while_idle_pct']}% of a core over {args.idle:g} s, {w['answered_early']} "
            f"answered before the change, all {w['answered']} answered {w['all_answered_ms']} ms "
            f"after the rollback's CLI exit ({w['statuses']})"
        )
    print()
    print("command: " + shlex.join([sys.executable, *sys.argv]))
    print(f"machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(json.dumps(results))


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
