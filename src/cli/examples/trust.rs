//! Examples of the trust commands (issue #14): `verify`, and `cert trust`,
//! `cert untrust`, `cert crl` with their setup steps: a message alice (the
//! keystore's own identity) signs, one dave signs, a CA made with erin's
//! key and an empty CRL from it.

use super::{Example, Page};

/// `verify`, `cert trust`, `cert untrust`, `cert crl`, `cert crl import`.
pub(super) const PAGES: &[Page] = &[
    Page {
        command: "verify",
        examples: &[
            Example::new(
                "Check a signed message and write its content if the signer is trusted",
                "sealpost verify signed.eml > content.txt",
            )
            .setup(&[SIGNED_BY_ALICE]),
            Example::new(
                "Trust a CA for this one command",
                "sealpost verify --trust-anchor dave.pem signed-by-dave.eml",
            )
            .setup(&[SIGNED_BY_DAVE]),
            Example::new(
                "A detached signature over a file; the verdict as JSON",
                "sealpost --json verify --content report.txt report.p7s > verdict.json",
            )
            .setup(&[
                "echo 'Q3 figures' > report.txt",
                "openssl cms -sign -binary -outform DER -in report.txt -signer \"$FIXTURES/alice.cert.pem\" -inkey \"$FIXTURES/alice.key.pem\" -out report.p7s",
            ]),
        ],
    },
    Page {
        command: "cert trust",
        examples: &[Example::new(
            "Trust signers certified by your organisation's CA",
            "sealpost cert trust example-ca.pem",
        )
        .setup(&[EXAMPLE_CA])],
    },
    Page {
        command: "cert untrust",
        examples: &[Example::new(
            "Stop trusting an anchor (or give its fingerprint)",
            "sealpost cert untrust example-ca.pem",
        )
        .setup(&[EXAMPLE_CA, "sealpost cert trust example-ca.pem"])],
    },
    Page {
        command: "cert crl",
        examples: &[Example::new(
            "Keep a CA's current CRL to check revocation offline",
            "sealpost cert crl import example-ca.crl",
        )
        .setup(&[EXAMPLE_CA, EXAMPLE_CRL])],
    },
    Page {
        command: "cert crl import",
        examples: &[Example::new(
            "Keep a CA's current CRL to check revocation offline",
            "sealpost cert crl import example-ca.crl",
        )
        .setup(&[EXAMPLE_CA, EXAMPLE_CRL])],
    },
];

/// A signed-only message by alice (the keystore's own identity).
const SIGNED_BY_ALICE: &str =
    "printf 'Content-Type: text/plain\\r\\n\\r\\nhello\\r\\n' > content.txt \
     && openssl cms -sign -in content.txt -signer \"$FIXTURES/alice.cert.pem\" \
     -inkey \"$FIXTURES/alice.key.pem\" -out signed.eml";
/// A message signed by dave, whose (self-signed) certificate is in dave.pem.
const SIGNED_BY_DAVE: &str = "cp \"$FIXTURES/dave.cert.pem\" dave.pem \
     && printf 'Content-Type: text/plain\\r\\n\\r\\nhello\\r\\n' > content.txt \
     && openssl cms -sign -in content.txt -signer dave.pem \
     -inkey \"$FIXTURES/dave.key.pem\" -out signed-by-dave.eml";
/// A CA certificate (erin's key stands in for the CA's).
const EXAMPLE_CA: &str = "openssl req -x509 -new -key \"$FIXTURES/erin.key.pem\" \
     -subj '/CN=Example CA' -days 30 -addext basicConstraints=critical,CA:TRUE \
     -addext keyUsage=critical,keyCertSign,cRLSign -out example-ca.pem";
/// An empty CRL from that CA.
const EXAMPLE_CRL: &str = "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\n\
     crlnumber=crlnumber\\ndefault_md=sha256\\ndefault_crl_days=30\\n' > ca.cnf \
     && touch index.txt && echo 01 > crlnumber \
     && openssl ca -gencrl -config ca.cnf -keyfile \"$FIXTURES/erin.key.pem\" \
     -cert example-ca.pem -out example-ca.crl 2>/dev/null";
