//! TLS to the PostgreSQL store (issue 16): a private cluster with `ssl=on`
//! and a certificate from a CA the test makes (tests/support/postgres.rs,
//! SCRAM over TLS so that the password and the channel binding are in
//! play). `verify-full` with the right root serves releases; a wrong root,
//! a name the certificate does not hold, and `require` against a server
//! without TLS are each refused before anything is read, in one line with
//! the store-unreachable exit code (75), never showing the password.

use std::path::Path;

use sealpost::smime::envelope::KeyTransport;

use super::harness::{
    assert_granted, member, now, request, seal, Operator, LIST, PASSPHRASE, UNLIMITED,
};
use super::server::{sealpost, tls_files};
use crate::postgres::{Postgres, TLS_PASSWORD};

/// `sealpost group show LIST --store URL`: whether it succeeded, its exit
/// code and its stderr.
fn show(op: &Operator, url: &str) -> (bool, Option<i32>, String) {
    let out = sealpost(&op.keystore(), PASSPHRASE)
        .args(["group", "show", LIST, "--store", url])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), out.status.code(), stderr)
}

fn served(op: &Operator, url: &str) {
    let (ok, _, stderr) = show(op, url);
    assert!(ok, "{url}: {stderr}");
}

/// [`show`], expected to fail: its exit code and its stderr.
fn refused(op: &Operator, url: &str) -> (Option<i32>, String) {
    let (ok, code, stderr) = show(op, url);
    assert!(!ok, "{url}: should be refused");
    eprintln!("refused as expected: {stderr}");
    assert!(
        !stderr.contains(TLS_PASSWORD),
        "the password shown: {stderr}"
    );
    (code, stderr)
}

#[test]
fn postgres_over_tls_checks_the_server_as_sslmode_says() {
    let dir = tempfile::tempdir().unwrap();
    let pki = tls_files(&dir.path().join("pg-tls"));
    let Some(pg) = Postgres::start_tls("postgres_over_tls", &pki.cert, &pki.key) else {
        return;
    };
    pg.database("groups");
    let root = |ca: &Path| format!("sslrootcert={}", ca.display());
    let full = pg.tls_url(
        "localhost",
        "groups",
        &format!("sslmode=verify-full&{}", root(&pki.ca)),
    );

    // verify-full with the right root: the store works, releases included.
    let op = Operator::on_store(&full);
    op.create_group(LIST);
    op.add_member(LIST, &member("bob"));
    let server = op.serve(UNLIMITED);
    let bob = member("bob");
    let sealed = seal(&op.group_cert(LIST), KeyTransport::RsaOaepSha256);
    let req = request(&bob, LIST, &sealed.entry, now());
    assert_granted(&op.connect(&server).release(&req).unwrap(), &bob, &sealed);

    // The connections really are TLS (the plain ones are trusted without
    // a password, so a plain connection would prove nothing).
    let mut check = postgres::Client::connect(&pg.url("groups"), postgres::NoTls).unwrap();
    let tls_backends: i64 = check
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE ssl AND application_name = 'sealpost group server'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(tls_backends >= 1, "no TLS connection from the server");

    // Another CA (the operator's own, for HTTPS): the certificate is refused.
    let wrong_root = pg.tls_url(
        "localhost",
        "groups",
        &format!("sslmode=verify-full&{}", root(&op.tls.ca)),
    );
    let (code, stderr) = refused(&op, &wrong_root);
    assert_eq!(code, Some(75), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("TLS") && stderr.contains("certificate"),
        "{stderr}"
    );

    // The right CA, but a host name the certificate does not name: verify-full
    // refuses it, verify-ca (the chain only) accepts it.
    let other_name = |mode: &str| {
        pg.tls_url(
            "db.invalid",
            "groups",
            &format!("sslmode={mode}&{}", root(&pki.ca)),
        )
    };
    let (code, stderr) = refused(&op, &other_name("verify-full"));
    assert_eq!(code, Some(75), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    served(&op, &other_name("verify-ca"));

    // The default (prefer, as in libpq): TLS, the certificate unchecked.
    served(&op, &pg.tls_url("db.invalid", "groups", ""));

    // sslmode=require against a server without TLS: refused.
    let Some(plain) = Postgres::start("postgres_over_tls (plain)") else {
        return;
    };
    let url = format!("{}?sslmode=require", plain.database("groups"));
    let (code, stderr) = refused(&op, &url);
    assert_eq!(code, Some(75), "{stderr}");
    assert!(stderr.contains("server does not support TLS"), "{stderr}");
    // The default goes on without TLS where there is none: over TCP, and
    // over a Unix socket (where PostgreSQL never offers it).
    let op = Operator::on_store(&plain.url("groups"));
    op.create_group(LIST);
    served(&op, &plain.socket_url("groups"));
}
