//! Examples of `sealpost cert` and its subcommands: correspondents'
//! certificates.

use super::setup::BOB_PEM;
use super::{Example, Page};

/// `cert` and its subcommands.
pub(super) const PAGES: &[Page] = &[
    Page {
        command: "cert",
        examples: &[
            Example::new(
                "Import correspondents' certificates",
                "sealpost cert import bob.pem carol.der",
            )
            .setup(&[
                BOB_PEM,
                "openssl x509 -in \"$FIXTURES/carol.cert.pem\" -outform DER -out carol.der",
            ]),
            Example::new("List the certificates of one address", "sealpost cert list bob@example.org"),
            Example::new(
                "Remove every certificate of an address",
                "sealpost cert remove bob@example.org",
            ),
        ],
    },
    Page {
        command: "cert import",
        examples: &[
            Example::new(
                "Import certificates from PEM and DER files",
                "sealpost cert import bob.pem carol.der",
            )
            .setup(&[
                BOB_PEM,
                "openssl x509 -in \"$FIXTURES/carol.cert.pem\" -outform DER -out carol.der",
            ]),
            Example::new(
                "Import a PKCS#7 bundle from stdin",
                "sealpost cert import - < team.p7b",
            )
            .setup(&[
                "openssl crl2pkcs7 -nocrl -certfile \"$FIXTURES/dave.cert.pem\" -certfile \"$FIXTURES/erin.cert.pem\" -outform DER -out team.p7b",
            ]),
        ],
    },
    Page {
        command: "cert list",
        examples: &[
            Example::new("List every correspondent's certificate", "sealpost cert list"),
            Example::new("Only those of one address", "sealpost cert list bob@example.org"),
        ],
    },
    Page {
        command: "cert accept",
        examples: &[Example::new(
            "Accept the certificate learned from dave's signed mail (check it first)",
            "sealpost cert accept dave@example.org",
        )
        .setup(&[
            // dave's signed message to alice: decrypt learns his certificate.
            "mkdir dave && SEALPOST_KEYSTORE=dave sealpost key import --no-passphrase \"$FIXTURES/dave.key.pem\" --cert \"$FIXTURES/dave.cert.pem\" && SEALPOST_KEYSTORE=dave sealpost cert import \"$FIXTURES/alice.cert.pem\"",
            "echo Hello | sealpost compose --from dave@example.org --to alice@example.org | SEALPOST_KEYSTORE=dave sealpost encrypt --eml --sign --no-self > signed.eml",
            "sealpost decrypt signed.eml > /dev/null",
        ])],
    },
    Page {
        command: "cert remove",
        examples: &[
            Example::new(
                "Remove every certificate of an address",
                "sealpost cert remove bob@example.org",
            ),
        ],
    },
    Page {
        command: "cert prefer",
        examples: &[
            Example::new(
                "Bob's mail program reads only AES-CBC and PKCS#1 v1.5",
                "sealpost cert prefer bob@example.org compatible",
            ),
            Example::new(
                "Forget that again: use what his certificate or mail says",
                "sealpost cert prefer bob@example.org auto",
            ),
        ],
    },
];
