#!/bin/sh
# The README's two commands, as a new user runs them: from a fresh clone of
# this checkout's HEAD (committed work only), with CARGO_TARGET_DIR pointing
# outside the clone. `sh tests/run.sh` runs this after the test binaries;
# alone: `sh tests/fresh_clone.sh`.
#
#   1. `sh tests/demo.sh` must pass and find the binary wherever cargo put it;
#   2. `sh tests/run.sh --fast` (the test command's tier that starts no
#      server: the whole command would run this check again, without end)
#      must pass;
#   3. nothing may be built into the clone's own ./target.
#
# The clone's target directory is a new one beside it, seeded with a copy of
# the suite's compiled dependencies (CARGO_TARGET_DIR, else ./target of this
# checkout) so that they are not built twice. A copy, not the suite's own
# directory: cargo names a workspace crate's artifacts by its path relative to
# the workspace, so the clone's build would replace this checkout's, and a
# later `cargo test` here would run the clone's binaries as up to date.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v git >/dev/null 2>&1 || ! git -C "$here" rev-parse --verify -q HEAD >/dev/null; then
    echo "fresh_clone.sh: not a git checkout (or no git): the fresh-clone check is skipped" >&2
    exit 0
fi
suite_target=${CARGO_TARGET_DIR:-$here/target}
case "$suite_target" in /*) ;; *) suite_target=$here/$suite_target ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/sealpost-clone.XXXXXX")
trap 'rm -rf "$work"' EXIT
target=$work/target
mkdir -p "$target/debug"
for part in deps build .fingerprint; do
    if [ -d "$suite_target/debug/$part" ]; then
        cp -a "$suite_target/debug/$part" "$target/debug/"
    fi
done
git clone --quiet --no-hardlinks "$here" "$work/sealpost"
cd "$work/sealpost"
echo "fresh_clone.sh: $(git log -1 --format='%h %s' | cut -c1-70) in $work/sealpost, CARGO_TARGET_DIR=$target"

if ! CARGO_TARGET_DIR=$target sh tests/demo.sh </dev/null >"$work/demo.log" 2>&1; then
    cat "$work/demo.log" >&2
    echo "fresh_clone.sh: FAILED: sh tests/demo.sh in a fresh clone" >&2
    exit 1
fi
if ! grep -q '^demo finished' "$work/demo.log"; then
    cat "$work/demo.log" >&2
    echo "fresh_clone.sh: FAILED: the demo did not finish" >&2
    exit 1
fi
echo "fresh_clone.sh: sh tests/demo.sh passed"

if ! CARGO_TARGET_DIR=$target sh tests/run.sh --fast </dev/null >"$work/fast.log" 2>&1; then
    # The failing tests' names and panics first: the tail alone may not hold them.
    grep -E -A12 '^test .* FAILED$|^---- .* ----$|panicked at' "$work/fast.log" | head -n 200 >&2
    tail -n 60 "$work/fast.log" >&2
    echo "fresh_clone.sh: FAILED: sh tests/run.sh --fast in a fresh clone" >&2
    exit 1
fi
echo "fresh_clone.sh: sh tests/run.sh --fast passed ($(grep -c '^test result: ok' "$work/fast.log") test binaries)"

if [ -e target ]; then
    echo "fresh_clone.sh: FAILED: the clone built into its own ./target although CARGO_TARGET_DIR=$target" >&2
    exit 1
fi
echo "fresh_clone.sh: passed"
