#!/bin/sh
# sealpost end to end on throwaway keystores: four people get keys, alice
# writes to bob (To), carol (Cc) and dave (Bcc), encrypts into Bcc-private
# envelopes, and each recipient decrypts their own copy. Nothing outside a
# temporary directory is touched.
#
#   sh tests/demo.sh            (builds sealpost with cargo first)
#   SEALPOST=/path/to/sealpost sh tests/demo.sh
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SEALPOST:-}" ]; then
    # Ask cargo where it put the binary: CARGO_TARGET_DIR, a config's
    # build.target-dir or the default ./target are all its business.
    SEALPOST=$(cargo build --quiet --locked --bin sealpost --message-format=json-render-diagnostics \
        --manifest-path "$here/Cargo.toml" |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    if [ -z "$SEALPOST" ] || [ ! -x "$SEALPOST" ]; then
        echo "demo: cargo built no sealpost binary" >&2
        exit 70
    fi
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/sealpost-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
sp() { who=$1; shift; SEALPOST_KEYSTORE="$work/$who" "$SEALPOST" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "each person creates a key and a self-signed S/MIME certificate"
for who in alice bob carol dave; do
    sp "$who" key generate --no-passphrase --bits 2048 --email "$who@example.org" --name "$who" -q
    sp "$who" key export "$who@example.org" > "$work/$who.pem"
done
sp alice cert import "$work/bob.pem" "$work/carol.pem" "$work/dave.pem"

step "alice composes a message: To bob, Cc carol, Bcc dave"
printf 'Hello Bob and Carol.\nThe meeting moves to Thursday.\n' |
    sp alice compose --from "Alice <alice@example.org>" --to bob@example.org \
        --cc carol@example.org --bcc dave@example.org --subject "Meeting" > "$work/message.eml"
cat "$work/message.eml"

step "alice encrypts it into envelopes (Batch SMTP, one transaction per envelope)"
sp alice encrypt "$work/message.eml" > "$work/outgoing.bsmtp"
grep -E '^(MAIL FROM|RCPT TO)' "$work/outgoing.bsmtp"

step "what each copy reveals to its readers (bob's copy must not mention dave)"
sp alice inspect "$work/outgoing.bsmtp"

step "each recipient decrypts their own copy"
sp alice encrypt -q --outdir "$work/out" "$work/message.eml"
cat "$work/out/manifest.json"
for pair in bob:001-to-cc carol:001-to-cc dave:002-bcc; do
    who=${pair%%:*}
    echo "-- $who reads ${pair#*:}.eml:"
    sp "$who" decrypt "$work/out/${pair#*:}.eml"
done

step "bob cannot open dave's copy (the error names whom it is for)"
if sp bob decrypt "$work/out/002-bcc.eml" > /dev/null; then echo "unexpected: bob opened dave's copy"; exit 1; fi
echo "demo finished: every recipient read the message, and no copy revealed dave"
