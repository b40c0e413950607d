#!/usr/bin/env python3
"""`promptreg serve` against nginx serving the same JSON body from a file, with `wrk`.

Copies REPO (`cp -a`, without its `.git/promptreg` read cache, so the registry itself is
never written and an earlier run leaves nothing warm) and starts `promptreg --repo COPY serve
--addr 127.0.0.1:0 --access-log FILE` on the copy, warms one URL
(--path, default `/api/prompts/p123/latest?environment=production`) and saves the exact body
it answers to a file. Starts nginx from its own configuration in a temporary prefix (one
worker per core, `access_log` to a file, `default_type application/json`, default keepalive)
on another free loopback port, serving that file at the same path; checks that both answer
200 with the same bytes. Then:

  * cached: `wrk -t2 -c64 -d10s --latency URL`, promptreg and nginx alternating, --rounds
    rounds each; medians of requests/s and of p99 latency, the ratio promptreg/nginx, and
    promptreg's VmRSS / VmHWM (/proc/PID/status) after the runs;
  * uncached: every version of every prompt (from the tags `NAME/vX.Y.Z`) as
    `/api/prompts/NAME?version=X.Y.Z`, shuffled with a fixed seed and cut into --rounds
    slices, one per round; wrk's threads share a round's slice out by a Lua script
    (bench/serve_vs_nginx.lua), each URL sent at most once, against a freshly started server
    each round (so every request is the first read of that version, in memory and on disk);
    median requests/s. If wrk got through the whole list within --uncached-duration the row
    says so (later requests were repeats) and the figure is not an uncached one.

Before each wrk run it records the load average, and after each run the access log's line
count (then truncates the log, so a run needs no more disk than its own log). Prints a
Markdown table, the rounds, the command line, the machine (nproc, kernel) and the versions of
nginx and wrk, and one JSON line. It installs nothing: when nginx or wrk is missing it says so,
with the apt-get line, and exits 2. Every process it starts is stopped on exit, error,
Ctrl-C or SIGTERM.

Usage:
  python3 bench/serve_vs_nginx.py --bin target/release/promptreg [--repo /tmp/bench-reg]
      [--path URL_PATH] [--rounds 3] [--duration 10] [--threads 2] [--connections 64]
      [--uncached-duration 3] [--keep]

Python 3 standard library only; git runs hermetically (no user or system configuration).
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import platform
import pwd
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from hermetic import hermetic_env

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "serve_vs_nginx.lua")
DEFAULT_REPO = "/tmp/bench-reg"
DEFAULT_PATH = "/api/prompts/p123/latest?environment=production"
TAG = re.compile(r"^(?P<name>.+)/v(?P<version>\d+\.\d+\.\d+(?:[-+].*)?)$")

# Every process this script started and has not yet stopped: (Popen, how to stop it).
running: list[tuple[subprocess.Popen, int]] = []


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start(command: list[str], stop_signal: int = signal.SIGTERM, **kwargs) -> subprocess.Popen:
    process = subprocess.Popen(command, **kwargs)
    running.append((process, stop_signal))
    return process


def stop(process: subprocess.Popen) -> None:
    """Stops one process this script started (its signal, then SIGKILL after 30 s)."""
    for entry in list(running):
        if entry[0] is process:
            running.remove(entry)
            if process.poll() is None:
                process.send_signal(entry[1])
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def stop_all() -> None:
    for process, _ in list(reversed(running)):
        stop(process)


def on_sigterm(signum, frame) -> None:
    # Turn SIGTERM into an exception so the `finally` blocks stop the servers.
    raise SystemExit(128 + signum)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in KiB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    return fields


def cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait


def cores_busy(seconds: float = 1.0) -> float:
    """How many cores' worth of CPU the machine used over `seconds`, measured while the
    servers sit idle: what other processes (another build, say) take from the benchmark."""
    idle0, total0 = cpu_times()
    time.sleep(seconds)
    idle1, total1 = cpu_times()
    total = total1 - total0
    return (1 - (idle1 - idle0) / total) * (os.cpu_count() or 1) if total else 0.0


def line_count(path: str) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def truncate(path: str) -> None:
    # Both servers append (O_APPEND), so truncating under them is safe.
    os.truncate(path, 0)


def command_version(command: list[str]) -> str:
    out = subprocess.run(command, capture_output=True, text=True)
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0].strip() if text else "?"


class PromptregServer:
    def __init__(self, binary: str, repo: str, env: dict[str, str], workdir: str, tag: str):
        self.access_log = os.path.join(workdir, f"promptreg-{tag}-access.log")
        self.stderr_path = os.path.join(workdir, f"promptreg-{tag}-stderr.log")
        self.command = [binary, "--repo", repo, "serve", "--addr", "127.0.0.1:0",
                        "--access-log", self.access_log]
        with open(self.stderr_path, "w") as stderr:
            self.process = start(self.command, cwd=workdir, env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=stderr)
        self.base = self._wait_listening()

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with open(self.stderr_path) as f:
                for line in f:
                    if line.startswith("listening on "):
                        return line.split()[2]
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        with open(self.stderr_path) as f:
            raise RuntimeError(f"promptreg serve did not start:\n{f.read()}")

    def memory(self) -> dict[str, int]:
        return memory(self.process.pid)

    def stop(self) -> None:
        stop(self.process)


def nginx_config(prefix: str, port: int, body_file: str, location: str) -> str:
    user = ""
    if os.geteuid() == 0:
        # As root nginx would switch its workers to `nobody`, whose group may not exist
        # and who could not read the temporary prefix; keep them as the invoking user.
        user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/temp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""# Written by bench/serve_vs_nginx.py.
{user}
worker_processes auto;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    default_type application/json;
    access_log {prefix}/nginx-access.log;
{temp}
    server {{
        listen 127.0.0.1:{port};
        # No `types` block matches `.json`, so the body goes out as the default_type.
        location = {location} {{
            alias {body_file};
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, workdir: str, body_file: str, url_path: str):
        self.prefix = os.path.join(workdir, "nginx")
        location = url_path.partition("?")[0]
        os.makedirs(os.path.join(self.prefix, "temp"))
        self.port = free_port()
        self.config = os.path.join(self.prefix, "nginx.conf")
        with open(self.config, "w") as f:
            f.write(nginx_config(self.prefix, self.port, body_file, location))
        self.access_log = os.path.join(self.prefix, "nginx-access.log")
        self.error_log = os.path.join(self.prefix, "error.log")
        self.command = ["nginx", "-p", self.prefix, "-c", self.config, "-e", self.error_log]
        check = subprocess.run(self.command + ["-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the configuration:\n{check.stderr}")
        # SIGQUIT is nginx's graceful stop: the master waits for its workers.
        self.process = start(self.command, stop_signal=signal.SIGQUIT,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    with open(self.error_log) as f:
                        raise RuntimeError(f"nginx did not start:\n{f.read()}")
                time.sleep(0.05)

    def stop(self) -> None:
        stop(self.process)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def parse_latency(text: str) -> float:
    """wrk's `1.23ms` / `456.00us` / `1.02s` in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"unreadable latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(url: str, args, duration: float, extra: list[str] | None = None) -> dict:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration:g}s",
               "--latency"]
    if extra:
        command += extra
    else:
        command += [url]
    busy = cores_busy()
    load = os.getloadavg()
    process = start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate()
    stop(process)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{out}{err}")
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"^\s+(\d+) requests in", out, re.M)
    if not (rps and p99 and total):
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    return {
        "rps": float(rps.group(1)),
        "p99_ms": parse_latency(p99.group(1)),
        "requests": int(total.group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        "load": load,
        "busy_before": busy,
    }


def version_urls(repo: str, env: dict[str, str]) -> list[str]:
    """`/api/prompts/NAME?version=V` for every release tag `NAME/vV`, shuffled (seed 1)."""
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname:strip=2)", "refs/tags"],
        cwd=repo, env=env, capture_output=True, text=True, check=True,
    ).stdout
    urls = []
    for ref in out.split():
        m = TAG.match(ref)
        if m:
            urls.append(f"/api/prompts/{m.group('name')}?version={m.group('version')}")
    random.Random(1).shuffle(urls)
    return urls


def fmt_rounds(runs: list[dict], key: str, spec: str) -> str:
    return ", ".join(format(r[key], spec) for r in runs)


def missing_tools() -> list[str]:
    return [tool for tool in ("nginx", "wrk", "git") if shutil.which(tool) is None]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="the promptreg binary")
    parser.add_argument("--repo", default=DEFAULT_REPO,
                        help=f"the registry to serve (default {DEFAULT_REPO}, from gen_registry.py)")
    parser.add_argument("--path", default=DEFAULT_PATH, help="the cached URL's path and query")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10, help="seconds per cached wrk run")
    # 3 s: a round's slice of the 10,000-prompt registry is 33,333 URLs, so a run wraps (and
    # stops being a first-read figure) above 11,000 req/s; 5 s wrapped above 6,700.
    parser.add_argument("--uncached-duration", type=float, default=3,
                        help="seconds per uncached wrk run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    missing = missing_tools()
    if missing:
        log(f"missing: {', '.join(missing)}; install them from the distribution's packages:")
        log(f"  sudo apt-get install -y {' '.join(missing)}")
        return 2
    binary = os.path.abspath(args.bin)
    repo = os.path.abspath(args.repo)
    if not os.access(binary, os.X_OK):
        log(f"{binary} is not an executable; build it with `cargo build --release --locked`")
        return 2
    if not os.path.isdir(repo):
        log(f"no registry at {repo}; make one with `python3 bench/gen_registry.py {repo}`")
        return 2

    signal.signal(signal.SIGTERM, on_sigterm)
    workdir = tempfile.mkdtemp(prefix="serve-vs-nginx-")
    # nginx's workers must be able to read the body file (and, as root, run as the caller).
    os.chmod(workdir, 0o755)
    try:
        return run(args, binary, repo, workdir)
    finally:
        # A second Ctrl-C (a terminal sends one to the whole process group, `timeout` sends
        # another) must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, binary: str, repo: str, workdir: str) -> int:
    home = os.path.join(workdir, "home")
    os.makedirs(home)
    env = hermetic_env("Bench", "bench@example.com", home)

    # Serve a copy: the server writes its disk read cache (.git/promptreg/cache) into the
    # registry, and entries left there by an earlier run would make "first reads" hits.
    log(f"copying {repo}")
    copy = os.path.join(workdir, "registry")
    subprocess.run(["cp", "-a", repo, copy], check=True)
    shutil.rmtree(os.path.join(copy, ".git", "promptreg"), ignore_errors=True)
    log("starting promptreg serve on the copy")
    server = PromptregServer(binary, copy, env, workdir, "cached")
    status, body = get(server.base + args.path)
    if status != 200:
        raise RuntimeError(f"{args.path} answered {status}: {body[:500]!r}")
    status, again = get(server.base + args.path)
    if (status, again) != (200, body):
        raise RuntimeError(f"{args.path} answered differently the second time")
    body_file = os.path.join(workdir, "body.json")
    with open(body_file, "wb") as f:
        f.write(body)

    log("starting nginx")
    nginx = Nginx(workdir, body_file, args.path)
    status, served = get(nginx.base + args.path)
    if (status, served) != (200, body):
        raise RuntimeError(f"nginx answered {status} with other bytes than promptreg")
    with urllib.request.urlopen(nginx.base + args.path, timeout=60) as response:
        content_type = response.headers.get("Content-Type", "")
    if content_type != "application/json":
        raise RuntimeError(f"nginx sent Content-Type {content_type!r}, not application/json")

    sides = {"promptreg": (server.base, server.access_log), "nginx": (nginx.base, nginx.access_log)}
    runs: dict[str, list[dict]] = {"promptreg": [], "nginx": []}
    for round_ in range(args.rounds):
        # Alternate which side goes first, so neither always follows the other.
        order = ["promptreg", "nginx"] if round_ % 2 == 0 else ["nginx", "promptreg"]
        for side in order:
            base, access_log = sides[side]
            truncate(access_log)
            log(f"round {round_ + 1}: {side} (load {os.getloadavg()[0]:.2f})")
            result = wrk(base + args.path, args, args.duration)
            time.sleep(0.5)  # let a buffered access log reach the file
            result["log_lines"] = line_count(access_log)
            truncate(access_log)
            runs[side].append(result)
    cached_memory = server.memory()
    server.stop()
    nginx.stop()

    urls = version_urls(copy, env)
    if len(urls) < args.rounds:
        raise RuntimeError(f"too few release tags NAME/vX.Y.Z in {repo}")
    uncached: list[dict] = []
    uncached_memory: list[dict[str, int]] = []
    for round_ in range(args.rounds):
        # Each round gets its own slice of the URLs, so no round reads a version an earlier
        # one has put in the disk cache.
        part = urls[round_ * len(urls) // args.rounds:(round_ + 1) * len(urls) // args.rounds]
        url_file = os.path.join(workdir, f"urls-{round_}.txt")
        with open(url_file, "w") as f:
            f.write("\n".join(part) + "\n")
        fresh = PromptregServer(binary, copy, env, workdir, f"uncached-{round_}")
        status, _ = get(fresh.base + "/healthz")
        if status != 200:
            raise RuntimeError(f"/healthz answered {status}")
        log(f"uncached round {round_ + 1}: {len(part)} distinct URLs (load {os.getloadavg()[0]:.2f})")
        result = wrk(fresh.base, args, args.uncached_duration,
                     ["-s", LUA, fresh.base, "--", str(args.threads), url_file])
        result["wrapped"] = result["requests"] > len(part)
        result["urls"] = len(part)
        time.sleep(0.5)
        result["log_lines"] = line_count(fresh.access_log)
        uncached.append(result)
        uncached_memory.append(fresh.memory())
        fresh.stop()
        os.remove(fresh.access_log)

    report(args, binary, repo, body, runs, cached_memory, uncached, uncached_memory)
    every = runs["promptreg"] + runs["nginx"] + uncached
    bad = [r for r in every if r["non_2xx"] or r["socket_errors"]]
    return 1 if bad else 0


def report(args, binary, repo, body, runs, cached_memory, uncached, uncached_memory) -> None:
    med = lambda side, key: statistics.median(r[key] for r in runs[side])
    pr_rps, ng_rps = med("promptreg", "rps"), med("nginx", "rps")
    pr_p99, ng_p99 = med("promptreg", "p99_ms"), med("nginx", "p99_ms")
    un_rps = statistics.median(r["rps"] for r in uncached)
    rss = cached_memory["VmRSS"] / 1024
    hwm = cached_memory["VmHWM"] / 1024
    un_hwm = max(m["VmHWM"] for m in uncached_memory) / 1024
    wrapped = any(r["wrapped"] for r in uncached)
    ratio = pr_rps / ng_rps

    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency, "
          f"loopback, alternating, median of {args.rounds}; access logs on; "
          f"`{args.path}` ({len(body)} bytes)\n")
    print("| measure | promptreg | nginx | goal | met |")
    print("|---|---:|---:|---|---|")
    print(f"| cached req/s | {pr_rps:,.0f} | {ng_rps:,.0f} | ≥ 0.8× nginx | "
          f"{'yes' if ratio >= 0.8 else 'no'} ({ratio:.2f}×) |")
    print(f"| cached p99 | {pr_p99:.2f} ms | {ng_p99:.2f} ms | < 2 ms | "
          f"{'yes' if pr_p99 < 2 else 'no'} |")
    print(f"| RSS after the cached runs (VmRSS / VmHWM) | {rss:.1f} / {hwm:.1f} MiB | - | "
          f"< 100 MB | {'yes' if hwm * 1024 * 1024 < 100e6 else 'no'} |")
    note = " (wrapped: repeats served from cache, not an uncached figure)" if wrapped else ""
    print(f"| uncached req/s (first read of a version){note} | {un_rps:,.0f} | - | ≥ 5,000 | "
          f"{'yes' if un_rps >= 5000 and not wrapped else 'no'} |")
    print(f"| VmHWM after the uncached runs (max) | {un_hwm:.1f} MiB | - | < 100 MB | "
          f"{'yes' if un_hwm * 1024 * 1024 < 100e6 else 'no'} |")
    print()
    print("Rounds. `busy before`: cores' worth of CPU the machine used in the second before the run,"
          " with the servers idle (other processes); `load`: 1-minute load average then (it counts"
          " the benchmark's own threads of the previous run too).\n")
    print("| run | req/s | p99 ms | requests | access-log lines | non-2xx | busy before | load |")
    print("|---|---|---|---|---|---|---|---|")
    for side in ("promptreg", "nginx"):
        for i, r in enumerate(runs[side], 1):
            print(f"| {side} {i} | {r['rps']:,.0f} | {r['p99_ms']:.2f} | {r['requests']:,} | "
                  f"{r['log_lines']:,} | {r['non_2xx']} | {r['busy_before']:.2f} | {r['load'][0]:.2f} |")
    for i, r in enumerate(uncached, 1):
        print(f"| uncached {i} (of {r['urls']:,} URLs) | {r['rps']:,.0f} | {r['p99_ms']:.2f} | "
              f"{r['requests']:,} | {r['log_lines']:,} | {r['non_2xx']} | {r['busy_before']:.2f} | "
              f"{r['load'][0]:.2f} |")
    every = runs["promptreg"] + runs["nginx"] + uncached
    errors = [r["socket_errors"] for r in every if r["socket_errors"]]
    if errors:
        print(f"\nwrk socket errors: {errors}")
    print()
    print("Command: `" + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]) + "`")
    promptreg_version = command_version([binary, "--version"])
    print(f"Machine: nproc {os.cpu_count()}, kernel {platform.release()}, "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    print(f"Versions: {promptreg_version}; {command_version(['nginx', '-v'])}; "
          f"{command_version(['wrk', '-v'])}")
    print(json.dumps({
        "path": args.path, "body_bytes": len(body), "repo": repo,
        "promptreg_rps": pr_rps, "nginx_rps": ng_rps, "ratio": round(ratio, 3),
        "promptreg_p99_ms": pr_p99, "nginx_p99_ms": ng_p99,
        "rss_kib": cached_memory["VmRSS"], "hwm_kib": cached_memory["VmHWM"],
        "uncached_rps": un_rps, "uncached_wrapped": wrapped,
        "uncached_hwm_kib": max(m["VmHWM"] for m in uncached_memory),
        "runs": runs, "uncached": uncached,
    }))


if __name__ == "__main__":
    sys.exit(main())
