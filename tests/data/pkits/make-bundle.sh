#!/bin/sh
# Builds smime.bundle.gz from the S/MIME messages of NIST PKITS (public
# domain; csrc.nist.gov, "PKI Testing", PKITS 2011 edition), given the
# directory holding its smime/ and certs/ folders:
#   sh make-bundle.sh /path/to/pkits
# The bundle is every smime/*.eml, each preceded by a line "=== NAME ===",
# gzipped: the messages share their certificates, so it is ~10x smaller
# than the files. tests/pkits.rs reads it.
set -eu
src=${1:?usage: make-bundle.sh PKITS_DIR}
here=$(dirname "$0")
for f in "$src"/smime/*.eml; do
    printf '=== %s ===\n' "$(basename "$f")"
    cat "$f"
    printf '\n'
done | gzip -9n > "$here/smime.bundle.gz"
cp "$src/certs/TrustAnchorRootCertificate.crt" "$here/TrustAnchorRootCertificate.crt"
