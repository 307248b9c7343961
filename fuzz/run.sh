#!/usr/bin/env bash
# Runs every fuzz target, one at a time:
#
#   fuzz/run.sh [SECONDS] [TARGET...]            SECONDS each (default 600)
#   fuzz/run.sh plateau [MINUTES] [TARGET...]    each until coverage stops
#                                                growing: a 5-minute round that
#                                                finds no new edge ends the
#                                                target (MINUTES caps it, 60)
#   fuzz/run.sh 0                                builds and writes the seeds only
#   fuzz/run.sh keep [TARGET...]                 minimizes each grown corpus into
#                                                fuzz/kept/TARGET.tar.xz
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Builds the targets (release, debug assertions and overflow checks on,
# AddressSanitizer), writes the seeds when fuzz/seeds is missing, and runs
# each target niced, in one worker that carries on past a finding (known
# ones would otherwise stop every run at once), with an allocation limit and
# a timeout so that over-allocations and hangs count as findings.
# Findings land in fuzz/artifacts/TARGET/, the grown corpus in
# fuzz/corpus/TARGET/ (both ignored by git); one summary line per run
# goes to fuzz/runs.log. Not part of CI.
#
# fuzz/kept/TARGET.tar.xz (in git) is the corpus as far as fuzzing got,
# minimized: a fresh checkout unpacks it into fuzz/corpus/TARGET/ before
# the first run, so fuzzing resumes where it stopped instead of starting
# again from the seeds. `keep` writes it (reproducibly: sorted, no owners
# or dates), after a run that is worth keeping.
set -euo pipefail
cd "$(dirname "$0")/.."

PLATEAU=
KEEP=
if [ "${1:-}" = plateau ]; then
    PLATEAU=1
    shift
elif [ "${1:-}" = keep ]; then
    KEEP=1
    shift
fi
if [ -n "$PLATEAU" ]; then
    CAP_MINUTES=${1:-60}
    ROUND_SECONDS=${ROUND_SECONDS:-300}
    shift || true
elif [ -z "$KEEP" ]; then
    SECONDS_PER_TARGET=${1:-600}
    shift || true
fi
ALL=(cms decrypt mime http release_json imap pop3 smtp bsmtp dns keys config)
TARGETS=("${@:-${ALL[@]}}")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-fuzz/target}
# The sanitized SQLite inside the main crate trips the ODR check (as in cargo fuzz).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0}
FUZZ_FLAGS=(-a)  # debug assertions: integer overflow is a finding too
# What counts as a finding, for fuzzing and for minimizing alike.
LIMITS=(-rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10)

nice -n 19 cargo +nightly fuzz build "${FUZZ_FLAGS[@]}"
TRIPLE=$(rustc +nightly -vV | sed -n 's/^host: //p')
BIN_DIR=$CARGO_TARGET_DIR/$TRIPLE/release
if [ ! -d fuzz/seeds ]; then
    "$BIN_DIR/gen_seeds"
fi
if [ -z "$PLATEAU$KEEP" ] && [ "$SECONDS_PER_TARGET" = 0 ]; then
    exit 0  # libFuzzer would read -max_total_time=0 as "no limit"
fi

if [ -n "$KEEP" ]; then
    mkdir -p fuzz/kept
    for t in "${TARGETS[@]}"; do
        minimal=$(mktemp -d "${TMPDIR:-/tmp}/sealpost-keep-$t.XXXXXX")
        mkdir "$minimal/$t"
        # The smallest subset of the corpus with the same coverage.
        nice -n 19 "$BIN_DIR/$t" -merge=1 "$minimal/$t" "fuzz/corpus/$t" \
            "${LIMITS[@]}" >"$minimal/merge.log" 2>&1 ||
            { tail -20 "$minimal/merge.log" >&2; echo "$t: merge failed" >&2; exit 1; }
        tar -C "$minimal" --sort=name --owner=0 --group=0 --numeric-owner \
            --mtime=@0 -cJf "fuzz/kept/$t.tar.xz" "$t"
        echo "$t: $(ls "$minimal/$t" | wc -l) of $(ls "fuzz/corpus/$t" | wc -l) inputs kept in fuzz/kept/$t.tar.xz ($(stat -c %s "fuzz/kept/$t.tar.xz") bytes)"
        rm -rf "$minimal"
    done
    exit 0
fi

# The last status line of a libFuzzer log ("#N: cov: …"), or nothing.
last_status_line() {
    grep -E '^#[0-9]+' "$1" | tail -1 || true
}

# Its coverage figure ("cov: N"), or nothing.
coverage_of() {
    last_status_line "$1" | sed -n 's/.*cov: \([0-9]*\).*/\1/p'
}

# Its executions ("#N"), or 0.
executions_of() {
    local n
    n=$(last_status_line "$1" | sed -n 's/^#\([0-9]*\).*/\1/p')
    echo "${n:-0}"
}

# One libFuzzer run of target $1 for $2 seconds; appends its log to $3.
# Each run gets a private TMPDIR, removed afterwards: a target that writes
# files (config) cannot clean up after workers libFuzzer kills. A target
# with fuzz/dicts/TARGET.dict gets it as a dictionary: the tokens its
# parser dispatches on, which mutation alone reaches only by luck.
fuzz_once() {
    local scratch dict=()
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/sealpost-fuzz-$1.XXXXXX")
    if [ -f "fuzz/dicts/$1.dict" ]; then
        dict=(-dict="fuzz/dicts/$1.dict")
    fi
    TMPDIR=$scratch nice -n 19 "$BIN_DIR/$1" "fuzz/corpus/$1" "fuzz/seeds/$1" \
        "${dict[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        "${LIMITS[@]}" -max_total_time="$2" \
        -artifact_prefix="fuzz/artifacts/$1/" >>"$3" 2>&1 || true
    rm -rf "$scratch"
}

for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    if [ -f "fuzz/kept/$t.tar.xz" ]; then
        tar -C fuzz/corpus --skip-old-files -xJf "fuzz/kept/$t.tar.xz" "$t"
    fi
    log="fuzz/artifacts/$t/run.log"
    : >"$log"
    start=$(date +%s)
    executions=0
    if [ -n "$PLATEAU" ]; then
        echo "== $t: until a ${ROUND_SECONDS} s round adds no coverage, at most $CAP_MINUTES min (log: $log)"
        before=-1
        rounds=0
        while :; do
            round_log="fuzz/artifacts/$t/round.log"
            : >"$round_log"
            fuzz_once "$t" "$ROUND_SECONDS" "$round_log"
            cat "$round_log" >>"$log"
            executions=$((executions + $(executions_of "$round_log")))
            rounds=$((rounds + 1))
            now=$(coverage_of "$round_log")
            echo "   round $rounds: cov ${now:-?} (was $before)"
            if [ -z "$now" ] || [ "$now" -le "$before" ]; then
                verdict="plateau after $rounds rounds"
                break
            fi
            before=$now
            if [ $(( $(date +%s) - start )) -ge $(( CAP_MINUTES * 60 )) ]; then
                verdict="still growing at the $CAP_MINUTES-minute cap"
                break
            fi
        done
        rm -f "$round_log"
    else
        echo "== $t: $SECONDS_PER_TARGET s (log: $log)"
        verdict="fixed time"
        fuzz_once "$t" "$SECONDS_PER_TARGET" "$log"
        executions=$(executions_of "$log")
    fi
    took=$(( $(date +%s) - start ))
    # The last status line: coverage, features, corpus (its "#N" counts
    # the last round only; executions= counts every round).
    last=$(last_status_line "$log")
    findings=$(find "fuzz/artifacts/$t" -type f ! -name run.log ! -name round.log | wc -l)
    echo "$(date -u +%FT%TZ) $t ${took}s ($verdict) findings=$findings executions=$executions $last" | tee -a fuzz/runs.log
done
