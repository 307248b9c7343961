//! Setup steps several examples share: hidden shell commands that make the
//! files and state an example needs in the test's world (see the module doc
//! above).

/// A message from alice to bob, as compose writes it.
pub(super) const MESSAGE: &str =
    "echo 'See you at noon.' | sealpost compose --from alice@example.org \
                       --to bob@example.org --subject Lunch > message.eml";

/// A message encrypted to alice (the reader in the test's world).
pub(super) const ENCRYPTED_TO_ALICE: &str = "echo 'See you at noon.' | sealpost compose \
     --from alice@example.org --to alice@example.org --subject Lunch \
     | sealpost encrypt --eml --sign > message.eml";

pub(super) const BOB_PEM: &str = "cp \"$FIXTURES/bob.cert.pem\" bob.pem";

/// A fresh keystore: for examples that create the first identity.
pub(super) const NO_KEYSTORE: &str = "rm -r \"$SEALPOST_KEYSTORE\"";

/// Alice as the operator of the group crypto-list, with its certificate in list.pem.
pub(super) const GROUP: &str =
    "sealpost group create crypto-list --email crypto-list@example.org --bits 2048 \
                     && sealpost group cert crypto-list > list.pem";

/// Alice joins crypto-list as a member (of the server started by the test).
pub(super) const JOIN: &str =
    "sealpost group join crypto-list --cert list.pem --server \"$GROUP_SERVER\" \
                    --ca-file \"$GROUP_CA\"";

/// List mail: a message encrypted to the group certificate.
pub(super) const LIST_MAIL: &str = "sealpost cert import list.pem && echo 'Minutes attached.' \
     | sealpost compose --from alice@example.org --to crypto-list@example.org --subject Minutes \
     | sealpost encrypt --eml --no-self > list-mail.eml";

/// The password file the account examples name.
pub(super) const PASSWORD_FILE: &str = "mkdir -p ~/.config && echo secret > ~/.config/work-pass";

/// An account whose servers never answer (port 9 on loopback: nothing listens).
pub(super) const WORK_ACCOUNT: &str = "mkdir -p ~/.config && echo secret > ~/.config/work-pass \
     && sealpost account add work --smtp smtps://127.0.0.1:9 --imap imaps://127.0.0.1:9 \
     --user alice@example.org --password-file ~/.config/work-pass";

/// A list re-encrypted by its exploder: the list's own key in the keystore,
/// joined as the group crypto-list without a release server.
pub(super) const LIST_KEY: &str =
    "sealpost key generate --email crypto-list@example.org --bits 2048 \
     --no-passphrase && sealpost key export crypto-list@example.org > list.pem \
     && sealpost group join crypto-list --cert list.pem --as crypto-list@example.org";

/// List mail for [`LIST_KEY`]: encrypted to the list's own certificate.
pub(super) const LIST_MAIL_TO_KEY: &str = "echo 'Minutes attached.' | sealpost compose \
     --from alice@example.org --to crypto-list@example.org --subject Minutes \
     | sealpost encrypt --eml --no-self > list-mail.eml";

/// The account work with the test's mail servers (plain text on loopback).
pub(super) const WORK_ACCOUNT_SERVED: &str =
    "mkdir -p ~/.config && echo secret > ~/.config/work-pass \
     && sealpost account add work --smtp \"$SMTP_SERVER\" --pop3 \"$POP3_SERVER\" \
     --insecure-plaintext --user alice@example.org --password-file ~/.config/work-pass";

/// Something queued in the outbox: a submission whose server does not answer.
pub(super) const QUEUED: &str =
    "sealpost encrypt message.eml | sealpost submit --timeout 1 || true";

/// Time passes: the queued envelopes are due for their retry.
pub(super) const DUE: &str = "for f in \"$SEALPOST_KEYSTORE\"/outbox/queue/*.json; do \
     sed 's/\"next_attempt\": *[0-9]*/\"next_attempt\":0/' \"$f\" > due.json && cat due.json > \"$f\"; \
     done && grep -q '\"next_attempt\":0' \"$SEALPOST_KEYSTORE\"/outbox/queue/*.json";

/// Then the account's server answers again (the test's submission server).
pub(super) const SERVER_BACK: &str = "sealpost account add work --replace --smtp \"$SMTP_SERVER\" \
     --pop3 \"$POP3_SERVER\" --insecure-plaintext --user alice@example.org \
     --password-file ~/.config/work-pass";

/// What the test does (as alice, the list operator) before it starts the
/// group server for [`Check::WithGroupServer`](super::Check::WithGroupServer)
/// examples: the group crypto-list with alice as a member, its certificate
/// in list.pem.
#[allow(dead_code)] // read by the test
pub const GROUP_SERVER_STEPS: &[&str] = &[
    GROUP,
    "sealpost group add-member crypto-list \"$FIXTURES/alice.cert.pem\"",
];
