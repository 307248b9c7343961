//! Examples of the commands that move mail: accounts, submit, the outbox,
//! fetch.

use super::setup::{
    DUE, MESSAGE, PASSWORD_FILE, QUEUED, SERVER_BACK, WORK_ACCOUNT, WORK_ACCOUNT_SERVED,
};
use super::{Check, Example, Page};

/// `account`, `submit`, `outbox`, `fetch` and their subcommands.
pub(super) const PAGES: &[Page] = &[
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
];
