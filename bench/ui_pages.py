#!/usr/bin/env python3
"""Server-side time and weight of the web UI's pages on a large registry.

Starts `promptreg serve --access-log FILE` on REPO (default /tmp/bench-reg, made by
`bench/gen_registry.py`: 10,000 prompts x 10 versions), then:

  * cold: the first `/` after start (the list of every prompt, as `GET /api/prompts` makes it,
    parsed, and the tags of every latest release read) and the first `/history` (the whole
    registry's audit trail);
  * warm: --runs requests of each page, one at a time;
  * with --promote NAME VERSION ENV (give REPO as a scratch copy: it commits there): the CLI
    promotes, then the first `/`, `/prompts/NAME` and `/history` after the change.

The server-side time of a request is the access log's `duration_ms` (from the request's
arrival to its response's headers: what the server spent). Page weight is the HTML's size;
the stylesheet and the script, fetched once and cached, are listed apart. Prints a Markdown
table (median, p95, max) and one JSON line. The server is stopped on exit.

Usage:
  cargo build --release --locked
  python3 bench/ui_pages.py --bin target/release/promptreg [--repo /tmp/bench-reg] [--runs 31]

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

PAGES = [
    "/",
    "/?q=p4242",
    "/?q=revision+9&page=100",
    "/?environment=production&page=50",
    "/prompts/p4242",
    "/prompts/p4242@1.9.0",
    "/compare/p4242?a=1.8.0&b=1.9.0",
    "/compare/p4242?a=production&b=dev&view=split",
    "/history/p4242",
    "/history",
    "/history?environment=production&page=10",
    "/history?since=2023-01-01&until=2023-12-31",
]


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=600) as response:
        return response.status, response.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--repo", default="/tmp/bench-reg")
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--promote", nargs=3, metavar=("NAME", "VERSION", "ENV"))
    args = parser.parse_args()

    log = tempfile.NamedTemporaryFile(prefix="ui-pages-", suffix=".log", delete=False).name
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.mkdtemp(prefix="ui-pages-home-"),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    server = subprocess.Popen(
        [args.bin, "--repo", args.repo, "serve", "--addr", "127.0.0.1:0", "--access-log", log],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = None
        for line in server.stderr:
            if line.startswith("listening on "):
                base = line.split()[2]
                break
        if base is None:
            print("the server did not start", file=sys.stderr)
            return 1

        order: list[str] = []
        sizes: dict[str, int] = {}
        cold: dict[str, float] = {}
        for page in ["/", "/history"]:
            start = time.perf_counter()
            status, body = fetch(base + page)
            cold[page] = (time.perf_counter() - start) * 1000
            assert status == 200, (page, status)
            order.append("cold " + page)
        assets = {path: len(fetch(base + path)[1]) for path in ["/_ui/ui.css", "/_ui/ui.js"]}
        order.extend(["asset"] * len(assets))
        for page in PAGES:
            for _ in range(args.runs):
                status, body = fetch(base + page)
                assert status == 200, (page, status)
                sizes[page] = len(body)
                order.append(page)
        changed: list[str] = []
        if args.promote:
            name, version, environment = args.promote
            subprocess.run(
                [args.bin, "--repo", args.repo, "promote", name, version, "--env", environment,
                 "--reason", "bench: a change", "--force"],
                check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            time.sleep(2.5)  # past the 2 s in which a fresh ref's stamp is not trusted
            changed = ["/", f"/prompts/{name}", "/history"]
            for page in changed:
                status, body = fetch(base + page)
                assert status == 200, (page, status)
                order.append("changed " + page)
        time.sleep(0.5)  # the access log is written within 100 ms
    finally:
        server.terminate()
        server.wait(timeout=60)

    with open(log) as f:
        lines = [json.loads(line) for line in f if line.startswith("{")]
    os.unlink(log)
    assert len(lines) == len(order), (len(lines), len(order))
    durations: dict[str, list[float]] = {}
    for what, line in zip(order, lines):
        durations.setdefault(what, []).append(line["duration_ms"])

    def pct(values: list[float], p: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]

    print(f"| page | server ms (median) | p95 | max | HTML bytes |")
    print("|---|---:|---:|---:|---:|")
    for page in ["/", "/history"]:
        ms = durations["cold " + page][0]
        print(f"| `{page}` cold (first after start) | {ms:.1f} | | | |")
    for page in changed:
        ms = durations["changed " + page][0]
        print(f"| `{page}` first after the promotion | {ms:.1f} | | | |")
    for page in PAGES:
        values = durations[page]
        print(
            f"| `{page}` | {statistics.median(values):.2f} | {pct(values, 0.95):.2f} | "
            f"{max(values):.2f} | {sizes[page]:,} |"
        )
    print()
    print(
        "assets (fetched once, cached an hour): "
        + ", ".join(f"`{k}` {v:,} B" for k, v in assets.items())
    )
    print(f"\n{' '.join(sys.argv)} — {platform.platform()}, {os.cpu_count()} CPUs")
    print(
        json.dumps(
            {
                "cold_ms": {k: round(v, 1) for k, v in cold.items()},
                "after_change_ms": {p: durations["changed " + p][0] for p in changed},
                "server_ms_median": {
                    p: round(statistics.median(durations[p]), 3) for p in PAGES
                },
                "html_bytes": sizes,
                "assets": assets,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
