//! The help examples that send or fetch mail, run with a plain-text SMTP
//! and POP3 server on loopback ([`MailSink`]), and those for a list's key
//! release, run with a real `sealpost group serve`. The runner and the rest
//! of the examples are the offline binary's (tests/support/examples.rs,
//! tests/offline/cli/examples.rs).

use std::path::Path;
use std::sync::OnceLock;

use super::mail_sink::MailSink;
use crate::group::server;
use crate::help_examples::data::{self, Check, Example};
use crate::help_examples::{
    assert_ran, failure, new_world, run_all, shell, Started, Vars, PASSPHRASE,
};

#[test]
fn examples_that_send_or_fetch_mail_run_with_a_mail_server() {
    run_all(|ex| ex.check == Check::WithMailServer, mail_servers);
}

#[test]
fn examples_that_need_a_group_server_run_with_one() {
    run_all(|ex| ex.check == Check::WithGroupServer, group_server);
}

/// A submission server in `$SMTP_SERVER` and a POP3 server with one message
/// to alice in `$POP3_SERVER`.
fn mail_servers(_: &str, _: &Example, _: &Path, vars: &mut Vars) -> Result<Started, String> {
    let smtp = MailSink::smtp();
    let pop3 = MailSink::pop3(mailbox_message());
    vars.push(("SMTP_SERVER", smtp.url("smtp")));
    vars.push(("POP3_SERVER", pop3.url("pop3")));
    Ok(Started {
        _running: Vec::new(),
        moved: Some(Box::new(move || smtp.moved() + pop3.moved())),
    })
}

/// The group made by [`data::GROUP_SERVER_STEPS`] in the example's keystore,
/// served on loopback: its URL in `$GROUP_SERVER`, its CA in `$GROUP_CA`.
fn group_server(page: &str, ex: &Example, dir: &Path, vars: &mut Vars) -> Result<Started, String> {
    for step in data::GROUP_SERVER_STEPS {
        let out = shell(dir, vars, step);
        if !out.status.success() {
            return Err(failure(page, ex, "group server step", step, &out));
        }
    }
    let tls = server::tls_files(&dir.join("tls"));
    let served = server::Served::start(server::serve_command(
        &dir.join("keystore"),
        PASSPHRASE,
        &tls,
        &[],
    ));
    vars.push(("GROUP_SERVER", served.url()));
    vars.push(("GROUP_CA", tls.ca.display().to_string()));
    Ok(Started {
        _running: vec![Box::new(served)],
        moved: None,
    })
}

/// The message in the POP3 mailbox: one to alice, encrypted and signed by
/// her (so that `fetch --exec 'sealpost decrypt'` has something to decrypt).
fn mailbox_message() -> &'static str {
    static MESSAGE: OnceLock<String> = OnceLock::new();
    MESSAGE.get_or_init(|| {
        let world = new_world();
        let script = "echo 'Fetched.' | sealpost compose --from alice@example.org --to alice@example.org | sealpost encrypt --eml --sign";
        let out = shell(world.path(), &[], script);
        assert_ran(&out, script, 0);
        String::from_utf8(out.stdout).unwrap()
    })
}
