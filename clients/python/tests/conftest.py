"""Test support: a real `promptreg serve` on a throwaway copy of the example registry.

The binary is $PROMPTREG_BIN (relative paths are taken from the repository root), default
`target/debug/promptreg`. Every git and promptreg process runs hermetically: no user or system
git configuration, an empty HOME, the C locale, a fixed identity and date.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
IDENTITY = ("Test Author", "author@example.com")
DATE = "2026-01-01T00:00:00+00:00"
#: A writer token (`--tokens`) and a reader token (`--read-tokens`), 16+ characters.
WRITE_TOKEN = "write-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"


def binary() -> Path:
    path = Path(os.environ.get("PROMPTREG_BIN", "target/debug/promptreg"))
    return path if path.is_absolute() else ROOT / path


def hermetic_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "PROMPTREG_")) and k not in ("LANG", "LC_ALL", "NO_COLOR")
    }
    name, email = IDENTITY
    env.update(
        HOME=str(home),
        LC_ALL="C",
        NO_COLOR="1",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
        GIT_AUTHOR_DATE=DATE,
        GIT_COMMITTER_DATE=DATE,
    )
    return env


class Registry:
    """A throwaway registry and the CLI run in it."""

    def __init__(self, path: Path, home: Path) -> None:
        self.path = path
        self.env = hermetic_env(home)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(binary()), "--repo", str(self.path), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"promptreg {' '.join(args)} failed:\n{done.stderr}")
        return done

    def export(self, out: Path, environment: str | None = None) -> Path:
        self.cli("export", "--out", str(out), *(["--env", environment] if environment else []))
        return out


class Server:
    """`promptreg serve` on a free port (or a given one), stopped by `stop()` or at teardown."""

    def __init__(self, registry: Registry, workdir: Path, *args: str) -> None:
        self.registry = registry
        self.args = args
        self.log = workdir / "serve.stderr"
        self.access_log = workdir / "access.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.port = 0

    def start(self) -> Server:
        addr = f"127.0.0.1:{self.port}"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [
                    str(binary()),
                    "--repo",
                    str(self.registry.path),
                    "serve",
                    "--addr",
                    addr,
                    "--access-log",
                    str(self.access_log),
                    *self.args,
                ],
                env=self.registry.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            for line in text.splitlines():
                if line.startswith("listening on "):
                    self.url = line.split()[2]
                    self.port = int(self.url.rsplit(":", 1)[1])
                    return self
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}:\n{text}")
            time.sleep(0.02)
        raise AssertionError("serve did not start:\n" + self.log.read_text(errors="replace"))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """Dies at once (SIGKILL), as a crashed server does."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def requests(self, prompt: str | None = None) -> list[dict[str, Any]]:
        """The access log's lines (of `prompt`), after the log's writer caught up."""
        time.sleep(0.25)  # lines are written at most 100 ms after they are logged
        if not self.access_log.exists():
            return []
        lines = [json.loads(x) for x in self.access_log.read_text().splitlines() if x.strip()]
        return [x for x in lines if prompt is None or x.get("prompt") == prompt]


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example registry, made once; tests get copies."""
    if not binary().exists():
        pytest.exit(f"no promptreg binary at {binary()} (cargo build, or set PROMPTREG_BIN)")
    base = tmp_path_factory.mktemp("pristine")
    home = base / "home"
    home.mkdir()
    path = base / "registry"
    Registry(path, home).cli("init", "--example", str(path))
    return path


@pytest.fixture
def registry(pristine: Path, tmp_path: Path) -> Registry:
    home = tmp_path / "home"
    home.mkdir()
    path = tmp_path / "registry"
    shutil.copytree(pristine, path, symlinks=True)
    return Registry(path, home)


@pytest.fixture
def tokens(tmp_path: Path) -> tuple[Path, Path]:
    write = tmp_path / "tokens.yaml"
    write.write_text(f"{WRITE_TOKEN}: {{name: Release Bot, email: bot@example.com}}\n")
    read = tmp_path / "read-tokens.yaml"
    read.write_text(f"{READ_TOKEN}: {{name: Reader, email: reader@example.com}}\n")
    return write, read


@pytest.fixture
def serve(registry: Registry, tmp_path: Path) -> Iterator[Any]:
    """`serve(*args)` starts a server on `registry`; all are stopped at teardown."""
    started: list[Server] = []

    def start(*args: str) -> Server:
        server = Server(registry, tmp_path, *args).start()
        started.append(server)
        return server

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def server(serve: Any) -> Server:
    """A server that takes local writes (no token needed)."""
    s: Server = serve("--allow-local-writes")
    return s


def long_poll_supported(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"{url}/api/prompts/summarize/latest?wait=1", timeout=5).read()
    except urllib.error.HTTPError as e:
        return not (e.code == 400 and b"wait" in e.read())
    return True
