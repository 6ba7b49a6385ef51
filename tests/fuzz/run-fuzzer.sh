#!/bin/sh
# run-fuzzer.sh HARNESS SEEDS ARTIFACTS: runs a libFuzzer harness for a
# bounded time, PIPECOM_FUZZ_SECONDS (default 60), starting from the seed
# corpus SEEDS (left untouched: new inputs go to a temporary corpus).
# Exits non-zero on any crash, sanitizer report, leak, timeout (10 s for one
# input) or out-of-memory (2 GiB); the reproducer is written to ARTIFACTS.
set -eu

harness=$1
seeds=$2
artifacts=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

mkdir -p "$artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

exec "$harness" \
  -max_total_time="${PIPECOM_FUZZ_SECONDS:-60}" \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -max_len=70000 \
  -print_final_stats=1 \
  -artifact_prefix="$artifacts/$(basename "$harness")-" \
  "$work" "$seeds"
