//! Examples of `sealpost key` and its subcommands: your own identities.

use super::setup::NO_KEYSTORE;
use super::{Example, Page};

/// `key` and its subcommands.
pub(super) const PAGES: &[Page] = &[
    Page {
        command: "key",
        examples: &[
            Example::new(
                "Create your key and a self-signed certificate",
                "sealpost key generate --email alice@example.org --name 'Alice Liddell'",
            )
            .setup(&[NO_KEYSTORE]),
            Example::new("List your identities", "sealpost key list"),
            Example::new(
                "Write your certificate to a file to send to correspondents",
                "sealpost key export alice@example.org > alice.pem",
            ),
        ],
    },
    Page {
        command: "key generate",
        examples: &[
            Example::new(
                "Create a key and a self-signed certificate valid for two years",
                "sealpost key generate --email alice@example.org --name 'Alice Liddell'",
            )
            .setup(&[NO_KEYSTORE]),
            Example::new(
                "A smaller key valid for a year, unencrypted, for an unattended host",
                "sealpost key generate --email reports@example.org --bits 2048 --days 365 --no-passphrase",
            ),
        ],
    },
    Page {
        command: "key import",
        examples: &[
            Example::new(
                "Import a key and certificate exported by another program as PKCS#12",
                "sealpost key import alice.p12 --p12-password-file p12-password",
            )
            .setup(&[
                NO_KEYSTORE,
                "echo secret > p12-password && openssl pkcs12 -export -inkey \"$FIXTURES/alice.key.pem\" -in \"$FIXTURES/alice.cert.pem\" -passout file:p12-password -out alice.p12",
            ]),
            Example::new(
                "Import a PEM private key and its certificate",
                "sealpost key import alice.key.pem --cert alice.crt",
            )
            .setup(&[
                NO_KEYSTORE,
                "cp \"$FIXTURES/alice.key.pem\" alice.key.pem && cp \"$FIXTURES/alice.cert.pem\" alice.crt",
            ]),
        ],
    },
    Page {
        command: "key list",
        examples: &[
            Example::new("List your identities", "sealpost key list"),
            Example::new(
                "Only those for one address",
                "sealpost key list alice@example.org",
            ),
        ],
    },
    Page {
        command: "key export",
        examples: &[
            Example::new(
                "Write your certificate (PEM) to a file, to send to correspondents",
                "sealpost key export alice@example.org > alice.pem",
            ),
            Example::new(
                "The same as DER",
                "sealpost key export --der alice@example.org > alice.der",
            ),
        ],
    },
];
