#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets with cargo fuzz (libFuzzer) on the stable toolchain and
# prints, per target, the executions, the time, the peak RSS and whether it found anything.
#
#   fuzz/run.sh                      # every target, 1,000,000 executions each
#   RUNS=100000 fuzz/run.sh http     # one target, fewer executions
#
# Needs `cargo install cargo-fuzz` (0.13). Works on the stable toolchain: with no sanitizer,
# cargo fuzz passes only stable flags (-Cpasses=sancov-module and LLVM options). A sanitizer
# would need nightly's -Zsanitizer; the code under test forbids `unsafe`, so memory errors are
# not what is hunted. A finding lands in fuzz/artifacts/<target>/; docs/FUZZING.md says what to
# do with it.
set -euo pipefail
cd "$(dirname "$0")"

RUNS=${RUNS:-1000000}
ALL="prompt_yaml registry_yaml results_yaml promptfoo_json junit_xml selector trailers http"
TARGETS=${*:-$ALL}

# The seeds of each target (the first directory, corpus/<target>, is where libFuzzer keeps what
# it finds; the others are only read). tests/fuzz.rs uses the same directories.
seeds() {
  case "$1" in
    prompt_yaml) echo "$(invalid_seeds)" ../prompts.example/prompts ;;
    registry_yaml) invalid_seeds ;;
    promptfoo_json | junit_xml) echo ../fixtures/results ;;
  esac
  for dir in "seeds/$1" "../fixtures/fuzz/$1"; do
    if [ -d "$dir" ]; then echo "$dir"; fi
  done
}
# fixtures/invalid without the alias bomb: refusing it costs ~0.5 s of CPU in an instrumented
# build (serde-saphyr stops it at its 250,000-node budget), so every mutant of it would sit at
# the 1 s timeout on a loaded machine and the run would measure that budget over and over
# instead of exploring. The bomb stays covered by its fixture's test and by tests/fuzz.rs.
invalid_seeds() {
  local dir=corpus/.invalid-seeds
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    find ../fixtures/invalid -type f ! -path '*alias-bomb*' | while read -r file; do
      cp "$file" "$dir/$(echo "${file#../fixtures/invalid/}" | tr / _)"
    done
  fi
  echo "$dir"
}
dict() {
  case "$1" in
    prompt_yaml | registry_yaml | results_yaml) echo dicts/yaml.dict ;;
    promptfoo_json) echo dicts/json.dict ;;
    junit_xml) echo dicts/xml.dict ;;
    *) echo "dicts/$1.dict" ;;
  esac
}

cargo fuzz build --sanitizer none --release --debug-assertions
bin_dir=target/$(rustc -vV | sed -n 's/^host: //p')/release

status=0
for target in $TARGETS; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="artifacts/$target/run.log"
  # -timeout=1: an input taking over a second is a hang; -rss_limit_mb: memory must stay bounded.
  if /usr/bin/time -f '%e %M' -o "artifacts/$target/time" \
    "$bin_dir/$target" -runs="$RUNS" -timeout=1 -rss_limit_mb=1024 -max_len=8192 \
      -dict="$(dict "$target")" -artifact_prefix="artifacts/$target/" -print_final_stats=1 \
      "corpus/$target" $(seeds "$target") >"$log" 2>&1; then
    result="no findings"
  else
    result="FINDING: see $log and artifacts/$target/"
    status=1
  fi
  # The last line: time(1) puts "Command exited with non-zero status N" before it on failure.
  read -r seconds kib < <(tail -n 1 "artifacts/$target/time")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-15s %10s execs %8ss %6s MiB peak RSS  %s\n' \
    "$target" "${execs:-?}" "$seconds" "$((kib / 1024))" "$result"
done
exit $status
