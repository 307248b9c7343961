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
            Example::new(
                "Move your key, certificate and chain to Thunderbird or Outlook (PKCS#12)",
                "sealpost key export alice@example.org --p12 -o alice.p12 --export-password-file export-password",
            )
            .setup(&[EXPORT_PASSWORD]),
            Example::new(
                "The same for an importer that reads only 3DES (gpgsm 2.2, old Windows)",
                "sealpost key export alice@example.org --p12 --legacy -o alice-legacy.p12 --export-password-file export-password",
            )
            .setup(&[EXPORT_PASSWORD]),
            Example::new(
                "Only the private key, as encrypted PKCS#8 PEM",
                "sealpost key export alice@example.org --pkcs8 -o alice.key --export-password-file export-password",
            )
            .setup(&[EXPORT_PASSWORD]),
        ],
    },
    Page {
        command: "key csr",
        examples: &[
            Example::new(
                "Ask a certificate authority for a certificate for your key",
                "sealpost key csr alice@example.org -o alice.csr",
            ),
            Example::new(
                "With the name the CA should put in it, as DER",
                "sealpost key csr alice@example.org --name 'Alice Liddell' --der -o alice.der",
            ),
        ],
    },
    Page {
        command: "key import-cert",
        examples: &[Example::new(
            "Install the certificate the CA issued for your key (with its chain)",
            "sealpost key import-cert alice-issued.pem",
        )
        .setup(&[
            "sealpost key csr alice@example.org -o alice.csr",
            "openssl req -x509 -new -key \"$FIXTURES/carol.key.pem\" -subj /CN=CA -addext basicConstraints=critical,CA:TRUE -out ca.pem",
            "printf 'subjectAltName=email:copy\\nextendedKeyUsage=emailProtection\\n' > ext",
            "openssl x509 -req -in alice.csr -CA ca.pem -CAkey \"$FIXTURES/carol.key.pem\" -extfile ext -out issued.pem",
            "cat issued.pem ca.pem > alice-issued.pem",
        ])],
    },
];

/// The export password file the export examples read.
const EXPORT_PASSWORD: &str = "echo 'export secret' > export-password && chmod 600 export-password";
