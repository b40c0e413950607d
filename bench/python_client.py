#!/usr/bin/env python3
"""The Python client (clients/python) against the seed's plain `requests` client, on the same
read of a real `promptreg serve`: a cached `get` in-process, and a revalidation round trip.

Run it in a virtual environment holding the package and `requests`:

    python3 -m venv target/bench-venv
    target/bench-venv/bin/pip install ./clients/python requests
    target/bench-venv/bin/python bench/python_client.py --bin target/debug/promptreg

It builds the example registry (`promptreg init --example`) in a temporary directory, starts
`serve` on a free port, and prints one table of medians (runs of many calls for the in-process
reads, per-request samples for the round trips).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hermetic import hermetic_env  # noqa: E402

NAME = "support/refund-agent"


def start(
    binary: str, repo: Path, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    err = open(log, "wb")
    proc = subprocess.Popen(
        [binary, "--repo", str(repo), "serve", "--addr", "127.0.0.1:0", "--access-log", os.devnull],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    for _ in range(500):
        for line in log.read_text().splitlines():
            if line.startswith("listening on "):
                return proc, line.split()[2]
        time.sleep(0.02)
    raise SystemExit("serve did not start: " + log.read_text())


def per_call_batched(fn: Callable[[int], object], calls: int, runs: int) -> float:
    """Median over `runs` of the mean time per call of `calls` calls, in microseconds."""
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        for i in range(calls):
            fn(i)
        results.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(results)


def per_request(fn: Callable[[], object], samples: int) -> tuple[float, float]:
    """Median and p90 of single calls, in microseconds (after 20 warm-up calls)."""
    for _ in range(20):
        fn()
    times = []
    for _ in range(samples):
        started = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - started) / 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default="target/debug/promptreg")
    parser.add_argument("--calls", type=int, default=200_000, help="calls per in-process run")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--samples", type=int, default=1000, help="round trips per measure")
    parser.add_argument("--moves", type=int, default=20, help="promotions watched")
    args = parser.parse_args()

    import requests

    import promptreg
    from promptreg import Client, PromptRegistry

    work = Path(tempfile.mkdtemp(prefix="pyclient-bench-"))
    home = work / "home"
    home.mkdir()
    env = hermetic_env("Bench", "bench@example.com", home=str(home))
    repo = work / "registry"
    subprocess.run(
        [args.bin, "init", "--example", str(repo)], env=env, check=True, capture_output=True
    )
    # a canary in staging, for the keyed read
    subprocess.run(
        [
            args.bin,
            "--repo",
            str(repo),
            "promote",
            NAME,
            "1.2.0",
            "--env",
            "staging",
            "--canary",
            "10",
            "--reason",
            "bench",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    proc, url = start(args.bin, repo, env, work / "serve.log")
    try:
        rows: list[tuple[str, str, str]] = []
        client = Client(url, cache_ttl_seconds=3600)
        client.get(NAME, environment="production")
        us = per_call_batched(
            lambda i: client.get(NAME, environment="production"), args.calls, args.runs
        )
        rows.append(("`Client.get` cached (in-process)", f"{us:.2f} µs", "-"))
        client.get(NAME, environment="staging", key="warm")
        keys = [f"user-{i}" for i in range(args.calls)]
        us = per_call_batched(
            lambda i: client.get(NAME, environment="staging", key=keys[i]), args.calls, args.runs
        )
        rows.append(
            ("`Client.get` cached, a distinct key per call on a 90/10 split", f"{us:.2f} µs", "-")
        )

        def seed_get() -> object:
            return requests.get(
                f"{url}/api/prompts/{NAME}/latest", params={"environment": "production"}
            ).json()

        session = requests.Session()

        def session_get() -> object:
            return session.get(
                f"{url}/api/prompts/{NAME}/latest", params={"environment": "production"}
            ).json()

        etag = requests.get(
            f"{url}/api/prompts/{NAME}/latest", params={"environment": "production"}
        ).headers["etag"]

        def session_revalidate() -> object:
            r = session.get(
                f"{url}/api/prompts/{NAME}/latest",
                params={"environment": "production"},
                headers={"If-None-Match": etag},
            )
            assert r.status_code == 304
            return r

        def client_refresh() -> object:
            return client.refresh(NAME, environment="production")

        plain = PromptRegistry(url)

        def plain_fetch() -> object:
            return plain.fetch(NAME, environment="production")

        for label, fn in [
            ("`requests.get(...).json()` (the seed's client: a new connection, 200)", seed_get),
            ("`requests.Session().get(...).json()` (keep-alive, 200)", session_get),
            ("`promptreg.PromptRegistry.fetch` (keep-alive, 200)", plain_fetch),
            ("`requests.Session` with `If-None-Match` (keep-alive, 304)", session_revalidate),
            ("`Client.refresh` revalidation (keep-alive, 304)", client_refresh),
        ]:
            median, p90 = per_request(fn, args.samples)
            rows.append((label, f"{median:.0f} µs", f"{p90:.0f} µs"))
        # watch: when the watching client's cache holds a CLI promotion, against when the
        # CLI process exits (both from its start)
        watcher = Client(url, cache_ttl_seconds=3600, watch=True)
        watcher.get(NAME, environment="dev")
        time.sleep(0.5)
        seen_ms, exit_ms = [], []
        for i in range(args.moves):
            version = "1.1.0" if i % 2 == 0 else "1.2.0"
            started = time.perf_counter()
            cli = subprocess.Popen(
                [
                    args.bin,
                    "--repo",
                    str(repo),
                    "promote",
                    NAME,
                    version,
                    "--env",
                    "dev",
                    "--reason",
                    "bench",
                    "--force",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            seen = exited = None
            while seen is None or exited is None:
                now = time.perf_counter()
                if seen is None and watcher.get(NAME, environment="dev").version == version:
                    seen = now
                if exited is None and cli.poll() is not None:
                    exited = now
                time.sleep(0.0002)
            seen_ms.append((seen - started) * 1000)
            exit_ms.append((exited - started) * 1000)
            time.sleep(0.2)
        watcher.close()
        for label, values in [
            (
                "`watch=True`: a CLI promotion in the watching client's cache, "
                "from the CLI's start",
                seen_ms,
            ),
            ("… the CLI process itself, from its start to its exit", exit_ms),
        ]:
            values.sort()
            rows.append(
                (
                    f"{label} ({args.moves} moves)",
                    f"{statistics.median(values):.1f} ms",
                    f"{values[int(len(values) * 0.9)]:.1f} ms",
                )
            )
    finally:
        proc.terminate()
        proc.wait()
    print(
        f"promptreg {promptreg.__version__}, requests {requests.__version__}, "
        f"Python {sys.version.split()[0]}, serve: {args.bin}"
    )
    print(
        f"in-process: median of {args.runs} runs of {args.calls:,} calls; "
        f"round trips: median and p90 of {args.samples:,}"
    )
    print()
    print("| read | median | p90 |")
    print("|---|---:|---:|")
    for label, median, p90 in rows:
        print(f"| {label} | {median} | {p90} |")


if __name__ == "__main__":
    main()
