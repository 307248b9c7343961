//! Examples of the group commands: a list's group key and its server
//! (`group`), a member's key release (`release`, `revoke`), the exploder
//! (`explode`).

use super::setup::{BOB_PEM, GROUP, JOIN, LIST_KEY, LIST_MAIL, LIST_MAIL_TO_KEY, MESSAGE};
use super::{Check, Example, Page};

/// Alice, a member of her own crypto-list, with its key exported to her in my-list.key.
const OWN_EXPORT: &str = "sealpost group add-member crypto-list \"$FIXTURES/alice.cert.pem\" \
     && sealpost group key export crypto-list --to \"$FIXTURES/alice.cert.pem\" -o my-list.key";

/// The operator makes crypto-list anonymous.
const ANONYMOUS: &str = "sealpost group set crypto-list anonymous=on";

/// `group` and its subcommands, `release`, `revoke`, `explode`.
pub(super) const PAGES: &[Page] = &[
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
        command: "group show",
        examples: &[Example::new(
            "The list's address, members, and key generations",
            "sealpost group show crypto-list",
        )
        .setup(&[GROUP])],
    },
    Page {
        command: "group rotate-key",
        examples: &[
            Example::new(
                "A new group key; mail to the old one is released for 90 more days",
                "sealpost group rotate-key crypto-list",
            )
            .setup(&[GROUP]),
            Example::new(
                "Keep the old key for a week only",
                "sealpost group rotate-key crypto-list --keep-old 7d",
            )
            .setup(&[GROUP]),
        ],
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
            Example::new(
                "In an anonymous list: and withdraw every membership pass at once",
                "sealpost group remove-member crypto-list bob@example.org --now",
            )
            .setup(&[GROUP, ANONYMOUS, "sealpost group add-member crypto-list \"$FIXTURES/bob.cert.pem\""]),
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
        command: "group migrate",
        examples: &[Example::new(
            "Copy an SQLite store into PostgreSQL, for replicas (stop the server first)",
            "sealpost group migrate --from sqlite:groups.sqlite3 --to postgres://sealpost@db.example.org/groups",
        )
        .setup(&[GROUP])
        .check(Check::Fails {
            status: 66,
            why: "the test has neither that SQLite file in its directory nor a database",
        })],
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
        }),
        Example::new(
            "From a config file (contrib/sealpost-group.toml), one setting overridden",
            "sealpost group serve --config group.toml --burst 40",
        )
        .setup(&[
            GROUP,
            "touch server.pem server.key",
            "printf 'listen = \"0.0.0.0:8443\"\\ntls_cert = \"server.pem\"\\ntls_key = \"server.key\"\\n' > group.toml",
        ])
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
        command: "group set",
        examples: &[
            Example::new(
                "Make crypto-list anonymous: members read with membership passes",
                "sealpost group set crypto-list anonymous=on",
            )
            .setup(&[GROUP]),
            Example::new(
                "Passes that last 6 hours instead of 24",
                "sealpost group set crypto-list anonymous=on pass-lifetime=6h",
            )
            .setup(&[GROUP]),
        ],
    },
    Page {
        command: "group pass",
        examples: &[
            Example::new(
                "Fetch this period's pass for an anonymous list (decrypt does it by itself)",
                "sealpost group pass fetch crypto-list",
            )
            .setup(&[JOIN, ANONYMOUS])
            .check(Check::WithGroupServer),
            Example::new("The pass held now, and until when", "sealpost group pass show crypto-list")
                .setup(&[JOIN, ANONYMOUS, "sealpost group pass fetch crypto-list"])
                .check(Check::WithGroupServer),
        ],
    },
    Page {
        command: "group pass fetch",
        examples: &[Example::new(
            "Fetch crypto-list's pass for this period (one per member and period)",
            "sealpost group pass fetch crypto-list",
        )
        .setup(&[JOIN, ANONYMOUS])
        .check(Check::WithGroupServer)],
    },
    Page {
        command: "group pass show",
        examples: &[Example::new(
            "The pass held for crypto-list, if one is valid now",
            "sealpost group pass show crypto-list",
        )
        .setup(&[JOIN, ANONYMOUS, "sealpost group pass fetch crypto-list"])
        .check(Check::WithGroupServer)],
    },
    Page {
        command: "group key",
        examples: &[
            Example::new(
                "Give member bob the group key, to read offline (read the warning)",
                "sealpost group key export crypto-list --to bob.pem -o bob-list.key",
            )
            .setup(&[GROUP, BOB_PEM, "sealpost group add-member crypto-list bob.pem"]),
            Example::new(
                "As the member: import it; list mail then opens with no server",
                "sealpost group key import my-list.key && sealpost decrypt --offline list-mail.eml",
            )
            .setup(&[GROUP, OWN_EXPORT, LIST_MAIL]),
        ],
    },
    Page {
        command: "group key export",
        examples: &[
            Example::new(
                "Wrap crypto-list's key to bob, a member, into bob-list.key",
                "sealpost group key export crypto-list --to bob.pem -o bob-list.key",
            )
            .setup(&[GROUP, BOB_PEM, "sealpost group add-member crypto-list bob.pem"]),
        ],
    },
    Page {
        command: "group key import",
        examples: &[
            Example::new(
                "Store the group key exported to you (sealed like your own key)",
                "sealpost group key import my-list.key",
            )
            .setup(&[GROUP, OWN_EXPORT]),
        ],
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
];
