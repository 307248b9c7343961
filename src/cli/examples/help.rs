//! Examples of `sealpost` itself (the top help page) and of the commands
//! that document it: man pages and shell completions.

use super::setup::ENCRYPTED_TO_ALICE;
use super::{Example, Page};

/// The top page, `sealpost --help`.
pub(super) const TOP: &[Page] = &[
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
];

/// `man` and `completions`.
pub(super) const PAGES: &[Page] = &[
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
            Example::new(
                "For zsh (with ~/.zfunc in fpath)",
                "sealpost completions zsh > ~/.zfunc/_sealpost",
            )
            .setup(&["mkdir -p ~/.zfunc"]),
            Example::new(
                "For fish",
                "sealpost completions fish > ~/.config/fish/completions/sealpost.fish",
            )
            .setup(&["mkdir -p ~/.config/fish/completions"]),
        ],
    },
];
