#!/usr/bin/env bash
# The Python client's checks (clients/python): a virtual environment under target/, the package
# installed from its directory as a user installs it (with the `jinja` extra), pytest, ruff and
# mypy from the package registry; then ruff check, ruff format --check, mypy --strict on the
# package and its tests, and pytest against a real `promptreg serve` (the binary `cargo build`
# or `cargo test` left at target/debug/promptreg, or $PROMPTREG_BIN).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/python-client-venv
if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian splits venv support (ensurepip) into its own package.
    rm -rf "$venv"
    command -v apt-get >/dev/null || { echo "the Python client's CI needs python3 with venv support" >&2; exit 1; }
    $(command -v sudo || true) apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
fi
pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
if [ ! -x "$venv/bin/pytest" ] || [ ! -x "$venv/bin/ruff" ] || [ ! -x "$venv/bin/mypy" ]; then
  "${pip[@]}" pytest ruff mypy
fi
# Reinstalled every run (the version does not change when the code does).
"${pip[@]}" --force-reinstall --no-deps ./clients/python
"${pip[@]}" "./clients/python[jinja]"

export PROMPTREG_BIN="${PROMPTREG_BIN:-target/debug/promptreg}"
[ -x "$PROMPTREG_BIN" ] || cargo build --locked
cd clients/python
echo "== ruff check"
"../../$venv/bin/ruff" check --no-cache .
echo "== ruff format --check"
"../../$venv/bin/ruff" format --check --no-cache .
echo "== mypy --strict"
"../../$venv/bin/mypy" --strict --no-incremental --cache-dir=/dev/null src tests
echo "== pytest"
case "$PROMPTREG_BIN" in /*) ;; *) PROMPTREG_BIN="$PWD/../../$PROMPTREG_BIN" ;; esac
"../../$venv/bin/pytest" -q -p no:cacheprovider tests
