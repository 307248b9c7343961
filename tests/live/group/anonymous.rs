//! Issue 17 on replicas: an anonymous group served by two `group serve`
//! replicas on one PostgreSQL database. Both derive the same issuing key
//! (nothing per period is stored), a pass issued by one is honoured by the
//! other, the one-pass-per-period count is kept in the database (the
//! other replica refuses a second), and `remove-member --now` through an
//! admin command withdraws the pass on both at their next request.

use sealpost::error::{classify, Exit};
use sealpost::group::release::client::{post_with_failover, sign, ServerUrl};
use sealpost::group::release::joined::JoinedGroup;
use sealpost::group::release::passes::fetch_pass;
use sealpost::group::release::protocol::pass::{PassReleaseRequest, PASS_RELEASE_PATH};
use sealpost::group::release::protocol::{RefusalCode, ReleaseGrant};
use sealpost::smime::certs::CertInfo;
use sealpost::smime::envelope::KeyTransport;

use super::harness::{member, now, seal, Member, Operator, LIST, UNLIMITED};
use super::server::Served;
use crate::postgres::Postgres;

fn joined(op: &Operator, server: &Served) -> JoinedGroup {
    let cert = op.group_cert(LIST);
    JoinedGroup {
        name: LIST.into(),
        cert: CertInfo::from_der(&der::Encode::to_der(&cert).unwrap()).unwrap(),
        servers: vec![server.url().parse().unwrap()],
        ca_pem: Some(std::fs::read(&op.tls.ca).unwrap()),
        member: String::new(),
        older: Vec::new(),
        anonymous: true,
    }
}

/// A release with `pass` on `server`: the content key's entry, or the refusal.
fn release_with_pass(
    op: &Operator,
    server: &Served,
    pass: &sealpost::group::pass::Pass,
    key: &rsa::RsaPrivateKey,
    entry: &[u8],
) -> Result<ReleaseGrant, Option<RefusalCode>> {
    let servers: Vec<ServerUrl> = vec![server.url().parse().unwrap()];
    let mut refusal = None;
    let outcome = post_with_failover(
        &op.client(),
        &servers,
        "pass release",
        LIST,
        PASS_RELEASE_PATH,
        &mut || {
            let mut req = PassReleaseRequest {
                group: LIST.into(),
                recipient_info: entry.to_vec(),
                pass: pass.to_der().to_vec(),
                timestamp: now(),
                nonce: rand::random(),
                signature: Vec::new(),
            };
            req.signature = sign(key, &req.signed_bytes(), &mut rand_core::OsRng)?;
            Ok(req.to_json())
        },
        &|_| Ok(()),
        &mut refusal,
    );
    match outcome {
        Ok((body, _)) => Ok(ReleaseGrant::from_json(&body).unwrap()),
        Err(_) => Err(refusal),
    }
}

fn fetch(
    op: &Operator,
    server: &Served,
    m: &Member,
) -> anyhow::Result<(sealpost::group::pass::Pass, rsa::RsaPrivateKey)> {
    let (pass, key, _) = fetch_pass(
        &joined(op, server),
        &m.cert,
        &m.key,
        now(),
        &mut rand_core::OsRng,
    )?;
    Ok((pass, key))
}

#[test]
fn passes_are_counted_and_withdrawn_across_replicas() {
    let Some(pg) = Postgres::start("passes_are_counted_and_withdrawn_across_replicas") else {
        return;
    };
    let op = Operator::on_store(&pg.database("groups"));
    op.create_group(LIST);
    for name in ["bob", "carol"] {
        op.add_member(LIST, &member(name));
    }
    op.run(&["group", "set", LIST, "anonymous=on"]);
    let (a, b) = (op.serve(UNLIMITED), op.serve(UNLIMITED));
    let (bob, carol) = (member("bob"), member("carol"));
    let sealed = seal(&op.group_cert(LIST), KeyTransport::RsaOaepSha256);

    // Issued by a, honoured by b: the same derived issuing key.
    let (pass, key) = fetch(&op, &a, &bob).unwrap();
    assert!(release_with_pass(&op, &b, &pass, &key, &sealed.entry).is_ok());
    // A second pass this period, from the other replica: refused there.
    let err = fetch(&op, &b, &bob).unwrap_err();
    assert_eq!(classify(&err).0, Exit::TempFail, "{err:#}");
    assert!(format!("{err:#}").contains("already issued"), "{err:#}");
    let (carols, carol_key) = fetch(&op, &b, &carol).unwrap();

    // Withdrawn through an admin command: both replicas refuse at once.
    op.run(&["group", "remove-member", LIST, &carol.address, "--now"]);
    for server in [&a, &b] {
        for (p, k) in [(&pass, &key), (&carols, &carol_key)] {
            assert_eq!(
                release_with_pass(&op, server, p, k, &sealed.entry).unwrap_err(),
                Some(RefusalCode::PassExpired)
            );
        }
    }
    // bob renews on either replica; carol cannot.
    let (renewed, renewed_key) = fetch(&op, &b, &bob).unwrap();
    assert!(release_with_pass(&op, &a, &renewed, &renewed_key, &sealed.entry).is_ok());
    let err = fetch(&op, &a, &carol).unwrap_err();
    assert_eq!(classify(&err).0, Exit::NoPerm, "{err:#}");
    // The release rows name passes only.
    for row in op.audit(LIST) {
        if row["op"] == "pass-release" {
            assert!(row["member"].is_null(), "{row}");
            assert!(
                row["fingerprint"].as_str().unwrap().starts_with("pass:"),
                "{row}"
            );
        }
    }
}
