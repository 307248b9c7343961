#!/bin/sh
# The whole test suite, from a fresh machine: installs the Debian packages the
# tests talk to (when it can), then runs every test binary.
#
#   sh tests/run.sh            every test: unit and doc tests, the offline binary's
#                              (tests/offline) and the live binary's (tests/live:
#                              real Postfix, Dovecot, dnsmasq, group server)
#   sh tests/run.sh --fast     unit and doc tests and the offline binary's, which need
#                              no mail or group server: keys, compose, encrypt, decrypt,
#                              OpenSSL/gpgsm interop (under a minute warm)
#   sh tests/run.sh [--fast] [FILTER…]   test-name filters, as `cargo test -- FILTER`
#
# The whole suite (no --fast, no filter) ends with tests/fresh_clone.sh: the
# README's two commands from a fresh clone of HEAD, CARGO_TARGET_DIR elsewhere
# (SEALPOST_SKIP_FRESH_CLONE=1 skips it while iterating).
#
# Packages are checked once, up front. As root (CI, containers) the missing ones
# are installed with apt-get; otherwise the script stops at once with one line
# naming them, before anything is built. `.ci/run` calls exactly this script.
set -eu
cd "$(dirname "$0")/.."

tier=all
if [ "${1:-}" = "--fast" ]; then
    tier=fast
    shift
fi

# What each tier needs: a command or file that proves a package is there.
missing=""
need() { # need PACKAGE PATH-OR-COMMAND
    case "$2" in
        /*) [ -e "$2" ] || missing="$missing $1" ;;
        *) command -v "$2" >/dev/null 2>&1 || missing="$missing $1" ;;
    esac
}
need openssl openssl
need gpgsm gpgsm
need gpg-agent gpg-agent
need libnss3-tools pk12util
need gnutls-bin certtool
if [ "$tier" = all ]; then
    need postfix /usr/sbin/postfix
    need dovecot-core /usr/sbin/dovecot
    need dovecot-imapd /usr/lib/dovecot/imap
    need dovecot-pop3d /usr/lib/dovecot/pop3
    need dovecot-lmtpd /usr/lib/dovecot/lmtp
    need dnsmasq-base /usr/sbin/dnsmasq
    # The group server's replica tests start a private cluster (initdb, pg_ctl).
    need postgresql /usr/lib/postgresql
    need util-linux runuser
    # Group keys in a PKCS#11 token (tests/live/group/hsm.rs); pkcs11-tool
    # comes with opensc, for reading the key's attributes as an operator would.
    need softhsm2 /usr/lib/softhsm/libsofthsm2.so
    need opensc pkcs11-tool
fi

if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "tests/run.sh: installing:$missing"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
        # shellcheck disable=SC2086 # one word per package
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing </dev/null
    else
        echo "tests/run.sh: missing Debian packages:$missing — install them with: sudo apt-get install$missing (or run this script as root)" >&2
        exit 69
    fi
fi

if [ "$tier" = fast ]; then
    # The library's unit and doc tests and the test binary that starts no
    # server (cargo runs doc tests in a call of their own).
    status=0
    cargo test --locked --no-fail-fast --lib --test offline -- "$@" || status=$?
    cargo test --locked --doc -- "$@" || status=$?
    exit "$status"
fi
# --no-fail-fast: one failing binary does not hide the results of the others.
status=0
cargo test --locked --no-fail-fast -- "$@" || status=$?
if [ $# -eq 0 ] && [ -z "${SEALPOST_SKIP_FRESH_CLONE:-}" ]; then
    sh tests/fresh_clone.sh || status=$?
fi
exit "$status"
