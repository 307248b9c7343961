//! The examples of every help page, as data: each is a command line exactly
//! as a user types it and a one-line comment saying what it does, with
//! hidden setup steps that make the files and state it needs.
//!
//! They are defined once here and rendered into `--help` (clap's after-help,
//! see `docs::with_examples`) and into each man page's EXAMPLES section, one
//! command per line, so no rendering can break one at a line wrap. The test
//! tests/cli/examples.rs includes this very file and runs every example
//! through `sh -c` in a throwaway keystore, so none of them can go stale.
//! This file therefore depends on nothing but `std`.
//!
//! The test's world: the current directory is a fresh temporary directory
//! (also `$HOME`); `SEALPOST_KEYSTORE` is a keystore in it holding alice's
//! identity (alice@example.org) and the accepted certificates of bob and
//! carol (@example.org), under the passphrase in `SEALPOST_PASSPHRASE`;
//! `$FIXTURES` is tests/data (alice, bob, carol … `.key.pem`/`.cert.pem`);
//! `sealpost` is on `PATH`; nothing is on stdin and there is no terminal.

/// One example on a help page.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// What the command does, one line: shown as a `#` comment above it.
    pub comment: &'static str,
    /// The command line, as typed at a shell (pipes and redirections included).
    pub command: &'static str,
    /// Shell commands run before it in the test's world, not shown.
    #[allow(dead_code)] // read by the test
    pub setup: &'static [&'static str],
    /// How the test runs it.
    #[allow(dead_code)] // read by the test
    pub check: Check,
}

/// How the test checks an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Run as it is; it must exit with this status (0 unless the comment says otherwise).
    Runs(i32),
    /// Run with a mail server on loopback started by the test, plain text:
    /// a submission server that takes every message (its URL in
    /// `$SMTP_SERVER`) and a POP3 server with one message to alice
    /// (`$POP3_SERVER`); it must exit 0, and mail must have gone through.
    WithMailServer,
    /// Run with a group server on loopback, made by [`GROUP_SERVER_STEPS`]
    /// and started by the test before the setup steps (which find its URL in
    /// `$GROUP_SERVER` and its CA in `$GROUP_CA`); it must exit 0.
    WithGroupServer,
    /// Cannot run as written, for the reason `why`: in the test it must fail
    /// with `status`, never a usage error, so that at least its command line
    /// is known to parse and to reach the work.
    Fails { status: i32, why: &'static str },
}

impl Example {
    /// An example that runs as it is and exits 0.
    pub const fn new(comment: &'static str, command: &'static str) -> Example {
        Example {
            comment,
            command,
            setup: &[],
            check: Check::Runs(0),
        }
    }

    pub const fn setup(self, setup: &'static [&'static str]) -> Example {
        Example { setup, ..self }
    }

    pub const fn check(self, check: Check) -> Example {
        Example { check, ..self }
    }
}

/// The examples of one help page: `command` is the subcommand's words after
/// `sealpost` ("" for the top page, "key generate" for a leaf).
pub struct Page {
    pub command: &'static str,
    pub examples: &'static [Example],
}

/// The heading of the examples in `--help`.
pub const HEADING: &str = "Examples:";

/// The widest a rendered command line may be, continuation included: with
/// the indent of `--help` (2) or of a man page (11) it fits in 80 columns,
/// so neither clap nor man ever wraps one.
pub const WIDTH: usize = 68;

/// The command as shown (and as the test runs it): words filled into lines
/// of at most [`WIDTH`], each but the last ending in ` \\` and the next
/// indented by four spaces. A line breaks only between shell words, never
/// inside quotes, so the text is the same command to `sh`; and it breaks
/// before an option, a pipe or a redirection rather than after, so that an
/// option stays with its value.
pub fn shell_lines(command: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for unit in shell_units(command) {
        let fits =
            |line: &str, more: &str| line.chars().count() + 1 + more.chars().count() + 2 <= WIDTH;
        if line.is_empty() {
            line = unit;
        } else if fits(&line, &unit) {
            line.push(' ');
            line.push_str(&unit);
        } else {
            line.push_str(" \\");
            lines.push(std::mem::replace(&mut line, format!("    {unit}")));
        }
    }
    lines.push(line);
    lines
}

/// The command's words, each option, pipe or redirection joined to the words
/// after it up to the next one (`--to bob@example.org`, `> lunch.eml`).
fn shell_units(command: &str) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    for word in shell_words(command) {
        let starts_unit =
            word.starts_with('-') || word.starts_with(['|', '>', '<', '&']) || units.is_empty();
        match units.last_mut() {
            Some(unit)
                if !starts_unit && unit.chars().count() + 1 + word.chars().count() <= WIDTH - 6 =>
            {
                unit.push(' ');
                unit.push_str(&word);
            }
            _ => units.push(word),
        }
    }
    units
}

/// Splits a command line at the blanks outside quotes, keeping each word's
/// quotes and backslashes as written.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in command.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote != Some('\'') {
            escaped = true;
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote.is_none() && c.is_whitespace() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The examples as `--help` shows them: each comment and command on lines of
/// their own, a blank line between examples.
pub fn help_text(examples: &[Example]) -> String {
    let mut text = String::from(HEADING);
    for (i, ex) in examples.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!("\n  # {}", ex.comment));
        for line in shell_lines(ex.command) {
            text.push_str(&format!("\n  {line}"));
        }
    }
    text
}

/// The examples of the page for `command`, if it has any.
pub fn for_command(command: &str) -> Option<&'static [Example]> {
    PAGES
        .iter()
        .find(|p| p.command == command)
        .map(|p| p.examples)
}

// Setup steps several examples share.

/// A message from alice to bob, as compose writes it.
const MESSAGE: &str = "echo 'See you at noon.' | sealpost compose --from alice@example.org \
                       --to bob@example.org --subject Lunch > message.eml";
/// A message encrypted to alice (the reader in the test's world).
const ENCRYPTED_TO_ALICE: &str = "echo 'See you at noon.' | sealpost compose \
     --from alice@example.org --to alice@example.org --subject Lunch \
     | sealpost encrypt --eml --sign > message.eml";
const BOB_PEM: &str = "cp \"$FIXTURES/bob.cert.pem\" bob.pem";
/// A fresh keystore: for examples that create the first identity.
const NO_KEYSTORE: &str = "rm -r \"$SEALPOST_KEYSTORE\"";
/// Alice as the operator of the group crypto-list, with its certificate in list.pem.
const GROUP: &str =
    "sealpost group create crypto-list --email crypto-list@example.org --bits 2048 \
                     && sealpost group cert crypto-list > list.pem";
/// Alice joins crypto-list as a member (of the server started by the test).
const JOIN: &str = "sealpost group join crypto-list --cert list.pem --server \"$GROUP_SERVER\" \
                    --ca-file \"$GROUP_CA\"";
/// List mail: a message encrypted to the group certificate.
const LIST_MAIL: &str = "sealpost cert import list.pem && echo 'Minutes attached.' \
     | sealpost compose --from alice@example.org --to crypto-list@example.org --subject Minutes \
     | sealpost encrypt --eml --no-self > list-mail.eml";
/// The password file the account examples name.
const PASSWORD_FILE: &str = "mkdir -p ~/.config && echo secret > ~/.config/work-pass";
/// An account whose servers never answer (port 9 on loopback: nothing listens).
const WORK_ACCOUNT: &str = "mkdir -p ~/.config && echo secret > ~/.config/work-pass \
     && sealpost account add work --smtp smtps://127.0.0.1:9 --imap imaps://127.0.0.1:9 \
     --user alice@example.org --password-file ~/.config/work-pass";
/// A list re-encrypted by its exploder: the list's own key in the keystore,
/// joined as the group crypto-list without a release server.
const LIST_KEY: &str = "sealpost key generate --email crypto-list@example.org --bits 2048 \
     --no-passphrase && sealpost key export crypto-list@example.org > list.pem \
     && sealpost group join crypto-list --cert list.pem --as crypto-list@example.org";
/// List mail for [`LIST_KEY`]: encrypted to the list's own certificate.
const LIST_MAIL_TO_KEY: &str = "echo 'Minutes attached.' | sealpost compose \
     --from alice@example.org --to crypto-list@example.org --subject Minutes \
     | sealpost encrypt --eml --no-self > list-mail.eml";
/// The account work with the test's mail servers (plain text on loopback).
const WORK_ACCOUNT_SERVED: &str = "mkdir -p ~/.config && echo secret > ~/.config/work-pass \
     && sealpost account add work --smtp \"$SMTP_SERVER\" --pop3 \"$POP3_SERVER\" \
     --insecure-plaintext --user alice@example.org --password-file ~/.config/work-pass";
/// Something queued in the outbox: a submission whose server does not answer.
const QUEUED: &str = "sealpost encrypt message.eml | sealpost submit --timeout 1 || true";
/// Time passes: the queued envelopes are due for their retry.
const DUE: &str = "for f in \"$SEALPOST_KEYSTORE\"/outbox/queue/*.json; do \
     sed 's/\"next_attempt\": *[0-9]*/\"next_attempt\":0/' \"$f\" > due.json && cat due.json > \"$f\"; \
     done && grep -q '\"next_attempt\":0' \"$SEALPOST_KEYSTORE\"/outbox/queue/*.json";
/// Then the account's server answers again (the test's submission server).
const SERVER_BACK: &str = "sealpost account add work --replace --smtp \"$SMTP_SERVER\" \
     --pop3 \"$POP3_SERVER\" --insecure-plaintext --user alice@example.org \
     --password-file ~/.config/work-pass";

// Setup steps of the trust examples (issue #14).

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

/// What the test does (as alice, the list operator) before it starts the
/// group server for [`Check::WithGroupServer`] examples: the group
/// crypto-list with alice as a member, its certificate in list.pem.
#[allow(dead_code)] // read by the test
pub const GROUP_SERVER_STEPS: &[&str] = &[
    GROUP,
    "sealpost group add-member crypto-list \"$FIXTURES/alice.cert.pem\"",
];

/// Every help page's examples, parents included.
pub const PAGES: &[Page] = &[
    Page {
        command: "",
        examples: &[
            Example::new(
                "Write a message to bob and encrypt it (Batch SMTP, ready for submit)",
                "echo 'See you at noon.' | sealpost compose --from alice@example.org --to bob@example.org --subject Lunch | sealpost encrypt > lunch.bsmtp",
            ),
            Example::new("Read a message sent to you", "sealpost decrypt message.eml")
                .setup(&[ENCRYPTED_TO_ALICE]),
            Example::new("Show the help of a subcommand", "sealpost help key generate"),
        ],
    },
    // key
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
    // cert
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
    // compose, encrypt, decrypt, inspect
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
    // accounts, sending and fetching
    Page {
        command: "account",
        examples: &[
            Example::new(
                "An account with a submission and an IMAP server",
                "sealpost account add work --smtp smtps://mail.example.org --imap imaps://mail.example.org --user alice@example.org --password-file ~/.config/work-pass",
            )
            .setup(&[PASSWORD_FILE]),
            Example::new("List the accounts", "sealpost account list"),
            Example::new("Remove one", "sealpost account remove work").setup(&[WORK_ACCOUNT]),
        ],
    },
    Page {
        command: "account add",
        examples: &[
            Example::new(
                "Submission and IMAP servers, the password read from a file at each run",
                "sealpost account add work --smtp smtps://mail.example.org --imap imaps://mail.example.org --user alice@example.org --password-file ~/.config/work-pass",
            )
            .setup(&[PASSWORD_FILE]),
            Example::new(
                "Two submission servers tried in order, POP3, and the password stored",
                "sealpost account add home --smtp smtp://a.example:587,smtps://b.example --pop3 pop3s://pop.example --user alice --store-password --password-file pass.txt",
            )
            .setup(&["echo secret > pass.txt"]),
            Example::new(
                "Every server from the domain's DNS SRV records",
                "sealpost account add mine --domain example.net --user alice@example.net",
            ),
            Example::new(
                "From DNS SRV too, but fetching with POP3",
                "sealpost account add mine --domain example.net --pop3 srv --user alice@example.net",
            ),
            Example::new(
                "A send-only account, e.g. for reports from cron",
                "sealpost account add reports --smtp smtps://mail.example.org --user cron@example.org",
            ),
        ],
    },
    Page {
        command: "account list",
        examples: &[
            Example::new("List the accounts and their servers", "sealpost account list")
                .setup(&[WORK_ACCOUNT]),
            Example::new("The same as JSON", "sealpost --json account list").setup(&[WORK_ACCOUNT]),
        ],
    },
    Page {
        command: "account remove",
        examples: &[Example::new("Remove the account work", "sealpost account remove work")
            .setup(&[WORK_ACCOUNT])],
    },
    Page {
        command: "submit",
        examples: &[
            Example::new(
                "Encrypt a message and send it with the account work",
                "sealpost encrypt message.eml | sealpost submit --account work",
            )
            .setup(&[MESSAGE, WORK_ACCOUNT_SERVED])
            .check(Check::WithMailServer),
            Example::new(
                "Send a plain message (recipients from To, Cc and Bcc)",
                "sealpost submit --account work message.eml",
            )
            .setup(&[MESSAGE, WORK_ACCOUNT_SERVED])
            .check(Check::WithMailServer),
            Example::new(
                "From cron: send what is queued and due for a retry",
                "sealpost submit --outbox",
            )
            .setup(&[MESSAGE, WORK_ACCOUNT, QUEUED, DUE, SERVER_BACK])
            .check(Check::WithMailServer),
        ],
    },
    Page {
        command: "outbox",
        examples: &[
            Example::new("What waits in the outbox, and why", "sealpost outbox list")
                .setup(&[MESSAGE, WORK_ACCOUNT, QUEUED]),
            Example::new(
                "Retry everything queued now, ignoring retry times",
                "sealpost outbox flush",
            )
            .setup(&[MESSAGE, WORK_ACCOUNT, QUEUED, SERVER_BACK])
            .check(Check::WithMailServer),
            Example::new(
                "The same from cron, for what is due (retry times kept)",
                "sealpost submit --outbox",
            )
            .setup(&[MESSAGE, WORK_ACCOUNT, QUEUED, DUE, SERVER_BACK])
            .check(Check::WithMailServer),
            Example::new(
                "Remove the records of every sent envelope",
                "sealpost outbox prune --older-than 0",
            ),
        ],
    },
    Page {
        command: "outbox list",
        examples: &[
            Example::new("Queued and failed envelopes", "sealpost outbox list")
                .setup(&[MESSAGE, WORK_ACCOUNT, QUEUED]),
            Example::new("The same as JSON", "sealpost --json outbox list")
                .setup(&[MESSAGE, WORK_ACCOUNT, QUEUED]),
        ],
    },
    Page {
        command: "outbox flush",
        examples: &[
            Example::new(
                "Retry every queued envelope now (e.g. after a server came back)",
                "sealpost outbox flush",
            )
            .setup(&[MESSAGE, WORK_ACCOUNT, QUEUED, SERVER_BACK])
            .check(Check::WithMailServer),
            Example::new(
                "Only the account work's, waiting at most 10 seconds for a server",
                "sealpost outbox flush --account work --timeout 10",
            )
            .setup(&[MESSAGE, WORK_ACCOUNT, QUEUED, SERVER_BACK])
            .check(Check::WithMailServer),
        ],
    },
    Page {
        command: "outbox drop",
        examples: &[Example::new(
            "Remove the envelope whose id begins with 3f0c9a (see outbox list)",
            "sealpost outbox drop 3f0c9a",
        )
        .setup(&[MESSAGE, WORK_ACCOUNT, QUEUED])
        .check(Check::Fails {
            status: 66,
            why: "envelope ids are random: the test's queued envelope has another one",
        })],
    },
    Page {
        command: "outbox prune",
        examples: &[
            Example::new(
                "Remove the records older than [outbox] keep_sent (default 30d)",
                "sealpost outbox prune",
            ),
            Example::new(
                "Remove every record with nothing left in the queue",
                "sealpost outbox prune --older-than 0",
            ),
        ],
    },
    Page {
        command: "fetch",
        examples: &[
            Example::new("Fetch the only account's new mail", "sealpost fetch")
                .setup(&[WORK_ACCOUNT_SERVED])
                .check(Check::WithMailServer),
            Example::new(
                "Fetch the account work, deleting what was stored from the server",
                "sealpost fetch work --delete",
            )
            .setup(&[WORK_ACCOUNT_SERVED])
            .check(Check::WithMailServer),
            Example::new("Fetch every account", "sealpost fetch --all")
                .setup(&[WORK_ACCOUNT_SERVED])
                .check(Check::WithMailServer),
            Example::new(
                "Store each new message decrypted",
                "sealpost fetch --exec 'sealpost decrypt'",
            )
            .setup(&[WORK_ACCOUNT_SERVED])
            .check(Check::WithMailServer),
        ],
    },
    // group keys
    Page {
        command: "group",
        examples: &[
            Example::new(
                "Create a list's group key and certificate",
                "sealpost group create crypto-list --email crypto-list@example.org",
            ),
            Example::new(
                "Add bob as a member",
                "sealpost group add-member crypto-list bob.pem",
            )
            .setup(&[GROUP, BOB_PEM]),
            Example::new(
                "As a member: record the group and its release server",
                "sealpost group join crypto-list --cert list.pem --server https://keys.example.org",
            )
            .setup(&[GROUP]),
        ],
    },
    Page {
        command: "group create",
        examples: &[
            Example::new(
                "A group for the list crypto-list@example.org",
                "sealpost group create crypto-list --email crypto-list@example.org",
            ),
            Example::new(
                "In another store, with a certificate valid for a year",
                "sealpost group create crypto-list --email crypto-list@example.org --days 365 --store ~/lists.sqlite3",
            ),
        ],
    },
    Page {
        command: "group cert",
        examples: &[Example::new(
            "The group certificate, for senders (cert import) and members (group join)",
            "sealpost group cert crypto-list > list.pem",
        )
        .setup(&[GROUP])],
    },
    Page {
        command: "group add-member",
        examples: &[
            Example::new("Add bob as a member", "sealpost group add-member crypto-list bob.pem")
                .setup(&[GROUP, BOB_PEM]),
            Example::new(
                "Let carol deposit keys for the list without reading it",
                "sealpost group add-member crypto-list --role sender carol.pem",
            )
            .setup(&[GROUP, "cp \"$FIXTURES/carol.cert.pem\" carol.pem"]),
        ],
    },
    Page {
        command: "group remove-member",
        examples: &[
            Example::new(
                "Remove bob (all his certificates)",
                "sealpost group remove-member crypto-list bob@example.org",
            )
            .setup(&[GROUP, "sealpost group add-member crypto-list \"$FIXTURES/bob.cert.pem\""]),
        ],
    },
    Page {
        command: "group members",
        examples: &[
            Example::new("List the members", "sealpost group members crypto-list")
                .setup(&[GROUP, "sealpost group add-member crypto-list \"$FIXTURES/bob.cert.pem\""]),
        ],
    },
    Page {
        command: "group audit",
        examples: &[
            Example::new("The last day's audit rows", "sealpost group audit crypto-list --since 1d")
                .setup(&[GROUP]),
            Example::new(
                "Delete the rows older than 90 days, of every group",
                "sealpost group audit --prune 90d",
            )
            .setup(&[GROUP]),
        ],
    },
    Page {
        command: "group rotate-secret",
        examples: &[Example::new(
            "Issue a new group secret (members then run `group secret fetch`)",
            "sealpost group rotate-secret crypto-list",
        )
        .setup(&[GROUP])],
    },
    Page {
        command: "group serve",
        examples: &[Example::new(
            "Serve key releases on port 8443 (runs until stopped)",
            "sealpost group serve --listen 0.0.0.0:8443 --tls-cert server.pem --tls-key server.key",
        )
        .setup(&[GROUP, "touch server.pem server.key"])
        .check(Check::Fails {
            status: 65,
            why: "a server runs until stopped: the test gives it empty TLS files, so it stops at once",
        })],
    },
    Page {
        command: "group join",
        examples: &[
            Example::new(
                "Join crypto-list with two release servers, the second for failover",
                "sealpost group join crypto-list --cert list.pem --server https://keys1.example.org --server https://keys2.example.org --as alice@example.org",
            )
            .setup(&[GROUP]),
        ],
    },
    Page {
        command: "group secret",
        examples: &[
            Example::new(
                "Fetch the secrets of a joined group",
                "sealpost group secret fetch crypto-list",
            )
            .setup(&[JOIN, "sealpost group rotate-secret crypto-list"])
            .check(Check::WithGroupServer),
            Example::new("Which ones this keystore holds", "sealpost group secret list crypto-list")
                .setup(&[JOIN, "sealpost group rotate-secret crypto-list", "sealpost group secret fetch crypto-list"])
                .check(Check::WithGroupServer),
        ],
    },
    Page {
        command: "group secret fetch",
        examples: &[Example::new(
            "Fetch crypto-list's secrets (again after each rotate-secret)",
            "sealpost group secret fetch crypto-list",
        )
        .setup(&[JOIN, "sealpost group rotate-secret crypto-list"])
        .check(Check::WithGroupServer)],
    },
    Page {
        command: "group secret list",
        examples: &[Example::new(
            "The ids of crypto-list's secrets this keystore holds",
            "sealpost group secret list crypto-list",
        )
        .setup(&[JOIN, "sealpost group rotate-secret crypto-list", "sealpost group secret fetch crypto-list"])
        .check(Check::WithGroupServer)],
    },
    Page {
        command: "release",
        examples: &[
            Example::new(
                "Add an entry for your own key to list mail, in place",
                "sealpost release list-mail.eml -o list-mail.eml",
            )
            .setup(&[JOIN, LIST_MAIL])
            .check(Check::WithGroupServer),
            Example::new(
                "From stdin into another file, with a JSON report",
                "sealpost --json release -o released.eml < list-mail.eml",
            )
            .setup(&[JOIN, LIST_MAIL])
            .check(Check::WithGroupServer),
        ],
    },
    Page {
        command: "revoke",
        examples: &[Example::new(
            "Delete the key a message deposited (encrypt --deposit): nobody can read it",
            "sealpost revoke '<20261202.1234@example.org>'",
        )
        .setup(&[
            JOIN,
            MESSAGE,
            "sed 's/^Message-ID: .*/Message-ID: <20261202.1234@example.org>/' message.eml > lunch.eml",
            "grep -q '^Message-ID: <20261202.1234@example.org>' lunch.eml",
            "sealpost encrypt --deposit crypto-list lunch.eml > lunch.bsmtp",
        ])
        .check(Check::WithGroupServer)],
    },
    Page {
        command: "explode",
        examples: &[
            Example::new(
                "One copy of list mail per member the group server names, as Batch SMTP",
                "sealpost explode --group crypto-list < list-mail.eml > copies.bsmtp",
            )
            .setup(&[
                "sealpost key import --no-passphrase \"$FIXTURES/frank.key.pem\" --cert \"$FIXTURES/frank.cert.pem\"",
                "sealpost group add-member crypto-list --role exploder \"$FIXTURES/frank.cert.pem\"",
                "sealpost group join crypto-list --cert list.pem --server \"$GROUP_SERVER\" --ca-file \"$GROUP_CA\" --as frank@example.org",
                LIST_MAIL,
            ])
            .check(Check::WithGroupServer),
            Example::new(
                "Re-encrypt list mail for each member named in a file, as Batch SMTP",
                "sealpost explode --group crypto-list --reencrypt --members members.txt < list-mail.eml > copies.bsmtp",
            )
            .setup(&[LIST_KEY, "echo bob@example.org > members.txt", LIST_MAIL_TO_KEY]),
            Example::new(
                "Queue the copies in the outbox and send them with the account relay",
                "sealpost explode --group crypto-list --reencrypt --members members.txt --submit relay list-mail.eml",
            )
            .setup(&[
                LIST_KEY,
                "echo bob@example.org > members.txt && echo carol@example.org >> members.txt",
                LIST_MAIL_TO_KEY,
                "echo secret > relay-pass && sealpost account add relay --smtp \"$SMTP_SERVER\" --insecure-plaintext --user crypto-list@example.org --password-file relay-pass",
            ])
            .check(Check::WithMailServer),
        ],
    },
    // ---- trust (issue #14): verify, cert trust/untrust, cert crl ----
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
    // ---- end of trust ----
    // documentation
    Page {
        command: "man",
        examples: &[
            Example::new(
                "Install every page where man finds them (then: man sealpost-key-generate)",
                "sealpost man --out ~/.local/share/man/man1",
            ),
            Example::new(
                "One subcommand's page, to read with man -l",
                "sealpost man key-generate > sealpost-key-generate.1",
            ),
        ],
    },
    Page {
        command: "completions",
        examples: &[
            Example::new(
                "Completion for bash",
                "sealpost completions bash > ~/.local/share/bash-completion/completions/sealpost",
            )
            .setup(&["mkdir -p ~/.local/share/bash-completion/completions"]),
            Example::new("For zsh (with ~/.zfunc in fpath)", "sealpost completions zsh > ~/.zfunc/_sealpost")
                .setup(&["mkdir -p ~/.zfunc"]),
            Example::new(
                "For fish",
                "sealpost completions fish > ~/.config/fish/completions/sealpost.fish",
            )
            .setup(&["mkdir -p ~/.config/fish/completions"]),
        ],
    },
];
