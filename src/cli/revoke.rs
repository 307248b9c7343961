//! `sealpost revoke`: delete the deposited keys of a message sent with
//! `encrypt --deposit`.

use clap::Args;
use serde_json::json;

use super::decrypt::{unix_now, KeystoreKeys};
use super::Context;
use sealpost::error::{fail_hint, Exit};
use sealpost::group::release::calls::{Op, RevokeAnswer, RevokePayload};
use sealpost::group::release::joined::Memberships;
use sealpost::group::release::secrets::DepositNotes;

/// Delete a message's deposited key at the group server: nobody can read it afterwards
///
/// Takes the Message-ID of a message encrypted with `encrypt --deposit`
/// (with or without angle brackets), or a deposit id as `encrypt` printed
/// it. Every deposit recorded for the message is revoked, as the identity
/// that made it. From then on the server refuses every release of those
/// keys, to every reader, the sender included. A reader who already
/// decrypted the message keeps what they saved: revocation stops future
/// reading, not the past.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The message's Message-ID, or a deposit id
    pub what: String,
}

pub fn run(args: RevokeArgs, ctx: &Context) -> anyhow::Result<()> {
    let ks = ctx.keystore()?;
    let notes = DepositNotes::new(ks.root()).find(&args.what)?;
    if notes.is_empty() {
        return Err(fail_hint(
            Exit::NoInput,
            format!("no key deposit of this keystore matches {:?}", args.what),
            "give the Message-ID of a message sent with `encrypt --deposit`, or the deposit id it printed",
        ));
    }
    let memberships = Memberships::new(ks.root());
    let mut keys = KeystoreKeys::new(&ks, ctx, false)?;
    let mut results = Vec::new();
    for note in &notes {
        let group = memberships.get(&note.group)?;
        let (identity, key) = keys.member_of(&group)?;
        let (answer, server): (RevokeAnswer, _) = sealpost::group::release::call(
            &group,
            Op::Revoke,
            &RevokePayload {
                deposit_id: note.id.clone(),
            },
            &identity.cert.cert,
            &key,
            unix_now(),
            &mut rand_core::OsRng,
        )?;
        if answer.revoked {
            ctx.note(format!("revoked deposit {} at {server}", note.id));
        } else {
            ctx.note(format!(
                "deposit {} at {server} was already revoked or expired",
                note.id
            ));
        }
        results.push(
            json!({"deposit_id": note.id, "server": server.to_string(), "revoked": answer.revoked}),
        );
    }
    if ctx.global.json {
        ctx.print_json("revoke", json!({ "deposits": results }))?;
    }
    Ok(())
}
