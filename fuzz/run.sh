#!/usr/bin/env bash
# Runs every fuzz target, one at a time, for SECONDS each (default 600):
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Builds the targets (release, debug assertions and overflow checks on,
# AddressSanitizer), writes the seeds when fuzz/seeds is missing, and runs
# each target niced, in one worker that carries on past a finding (known
# ones would otherwise stop every run at once), with an allocation limit and
# a timeout so that over-allocations and hangs count as findings.
# Findings land in fuzz/artifacts/TARGET/, the grown corpus in
# fuzz/corpus/TARGET/ (both ignored by git); one summary line per target
# goes to fuzz/runs.log. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-600}
shift || true
ALL=(cms decrypt mime http release_json imap pop3 smtp bsmtp dns keys config)
TARGETS=("${@:-${ALL[@]}}")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-fuzz/target}
# The sanitized SQLite inside the main crate trips the ODR check (as in cargo fuzz).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0}
FUZZ_FLAGS=(-a)  # debug assertions: integer overflow is a finding too

nice -n 19 cargo +nightly fuzz build "${FUZZ_FLAGS[@]}"
TRIPLE=$(rustc +nightly -vV | sed -n 's/^host: //p')
BIN_DIR=$CARGO_TARGET_DIR/$TRIPLE/release
if [ ! -d fuzz/seeds ]; then
    "$BIN_DIR/gen_seeds"
fi

for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="fuzz/artifacts/$t/run.log"
    echo "== $t: $SECONDS_PER_TARGET s (log: $log)"
    start=$(date +%s)
    nice -n 19 "$BIN_DIR/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
        -max_total_time="$SECONDS_PER_TARGET" \
        -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || true
    took=$(( $(date +%s) - start ))
    # The last status line: executions, coverage, features, corpus.
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    findings=$(find "fuzz/artifacts/$t" -type f ! -name run.log | wc -l)
    echo "$(date -u +%FT%TZ) $t ${took}s findings=$findings $last" | tee -a fuzz/runs.log
done
