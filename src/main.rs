//! The `sealpost` binary: argument parsing, secrets from the terminal or
//! files, printing. All logic lives in the `sealpost` library.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
