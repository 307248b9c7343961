//! Examples of the commands that make and read messages: compose, encrypt,
//! decrypt, inspect.

use super::setup::{ENCRYPTED_TO_ALICE, MESSAGE};
use super::{Example, Page};

/// `compose`, `encrypt`, `decrypt`, `inspect`.
pub(super) const PAGES: &[Page] = &[
    Page {
        command: "compose",
        examples: &[
            Example::new(
                "A message with a blind copy, the body from stdin",
                "echo 'See you at noon.' | sealpost compose --from 'Alice <alice@example.org>' --to bob@example.org --bcc carol@example.org --subject Lunch > lunch.eml",
            ),
            Example::new(
                "A reply: the body from a file, two attachments (one named and typed)",
                "sealpost compose --from alice@example.org --to 'Bob <bob@example.org>, dave@example.org' --subject 'Grüße' --body-file note.txt --attach report.pdf --attach 'scan.dat;type=image/png;name=Scan 1.png' --header 'In-Reply-To: <123@example.org>' > reply.eml",
            )
            .setup(&["echo 'The figures.' > note.txt && echo '%PDF-1.4' > report.pdf && echo scan > scan.dat"]),
        ],
    },
    Page {
        command: "encrypt",
        examples: &[
            Example::new(
                "One envelope for To and Cc, one per Bcc recipient, as Batch SMTP",
                "echo 'See you at noon.' | sealpost compose --from alice@example.org --to bob@example.org --bcc carol@example.org | sealpost encrypt > out.bsmtp",
            ),
            Example::new(
                "One .eml file per envelope and a manifest.json instead",
                "sealpost encrypt --outdir outgoing/ message.eml",
            )
            .setup(&[MESSAGE]),
            Example::new(
                "Sign, then encrypt into a single S/MIME message",
                "sealpost encrypt --sign --eml message.eml > encrypted.eml",
            )
            .setup(&[MESSAGE]),
        ],
    },
    Page {
        command: "decrypt",
        examples: &[
            Example::new("Decrypt into a file", "sealpost decrypt message.eml > message.txt")
                .setup(&[ENCRYPTED_TO_ALICE]),
            Example::new(
                "From stdin, failing unless signed by a trusted sender",
                "sealpost decrypt --require-signature < message.eml",
            )
            .setup(&[ENCRYPTED_TO_ALICE]),
            Example::new(
                "The plaintext and a report as JSON",
                "sealpost --json decrypt message.eml > decrypted.json",
            )
            .setup(&[ENCRYPTED_TO_ALICE]),
        ],
    },
    Page {
        command: "inspect",
        examples: &[
            Example::new(
                "What an encrypted message reveals, without decrypting it",
                "sealpost inspect message.eml",
            )
            .setup(&[ENCRYPTED_TO_ALICE]),
            Example::new(
                "Every envelope encrypt made, as JSON",
                "sealpost encrypt message.eml | sealpost --json inspect -",
            )
            .setup(&[MESSAGE]),
        ],
    },
];
