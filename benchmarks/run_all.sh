#!/usr/bin/env bash
# Regenerates the README's benchmark tables (markdown) into benchmarks/results.md:
#   bash benchmarks/run_all.sh [--quick]        (or: make bench)
# Runs one benchmark at a time so they do not compete for the CPU. Full runs take a long time
# on a small CPU (the plain reference algorithm is slow); --quick runs a subset. THREADS (default
# 1) sets torch's threads: single-threaded timings stay meaningful on a CPU shared with other jobs.
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-../.venv/bin/python}"
OUT="results.md"
QUICK="${1:-}"
THREADS="${THREADS:-1}"
{
  echo "## Throughput (cnaps upscale vs the plain reference algorithm)"
  echo
  "$PY" throughput.py --markdown --repeats 2 --threads "$THREADS" $QUICK
  echo
  echo "## Peak memory (cnaps upscale, fresh process)"
  echo
  "$PY" memory.py --markdown --threads "$THREADS" $QUICK
  echo
  echo "## Fast mode (bf16) against the exact engine and the plain algorithm"
  echo
  "$PY" precision.py --speed --quality --threads "$THREADS"
  echo
  echo "## End-to-end answer time"
  echo
  "$PY" answer_time.py --markdown --threads "$THREADS"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote benchmarks/$OUT" >&2
