//! Judging signatures for `decrypt` and `verify`: where trust comes from
//! (`--trust-anchor`, `--no-system-anchors`, the keystore), one verdict per
//! signature, its `--json` form and the exit status each status fails with,
//! reporting what the keystore learned from each signer, and the same
//! sources for `encrypt`'s recipients. CLI infrastructure (these
//! subcommands use it; tests/offline/architecture.rs).

use std::path::PathBuf;

use clap::Args;
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::smime::certs::{self, CertInfo};
use sealpost::smime::decrypt::SignatureOutcome;
use sealpost::smime::mime::Entity;
use sealpost::smime::trust::{
    self, Anchor, AnchorSource, RecipientRules, Revocation, SenderMatch, Status, Trust, Verdict,
};
use sealpost::store::keystore::{
    system_anchors, Keystore, SignerTrust, Standing, TrustSources, Vouched,
};
use serde_json::{json, Value};

use super::{json, printable, read_input, Context};

/// Where a signer's (or a recipient's) trust comes from.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Trust")]
pub struct TrustArgs {
    /// Trust the certificates in FILE as anchors for this command (PEM, DER or PKCS#7;
    /// repeatable). `cert trust` keeps anchors in the keystore
    #[arg(long = "trust-anchor", value_name = "FILE")]
    pub trust_anchors: Vec<PathBuf>,
    /// Do not use the system's CA store as trust anchors
    #[arg(long)]
    pub no_system_anchors: bool,
    /// Fail (exit 81) unless revocation was checked for the whole path, with
    /// the CRLs a signed message carries, `cert crl import` kept or (verify,
    /// decrypt) --online fetched
    #[arg(long)]
    pub require_revocation_check: bool,
}

/// Network access for revocation, for `verify` and `decrypt` (whose
/// signers' certificates name where their CRLs are).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Trust")]
pub struct OnlineArgs {
    /// Allow network access to check revocation: fetch the CRL from the
    /// http(s) CRL distribution point named by each certificate on the
    /// signer's path whose status is otherwise unknown, a host the
    /// message's certificates chose (at most 8 fetches, 10 s and 10 MiB each;
    /// ldap and other schemes are skipped); a CRL that settled the check is
    /// kept in the keystore until its next update. Off by default: without
    /// it no host is contacted
    #[arg(long)]
    pub online: bool,
}

impl TrustArgs {
    /// The anchors, accepted certificates and CRLs to judge with; without
    /// a keystore, only --trust-anchor and the system's.
    pub fn sources(&self, ks: Option<&Keystore>) -> anyhow::Result<TrustSources> {
        let extra = self.extra_anchors()?;
        let system = !self.no_system_anchors;
        let Some(ks) = ks else {
            let mut anchors: Vec<Anchor> = extra
                .into_iter()
                .map(|cert| Anchor {
                    cert,
                    source: AnchorSource::CommandLine,
                })
                .collect();
            if system {
                anchors.extend(system_anchors());
            }
            return Ok(TrustSources {
                anchors,
                ..TrustSources::default()
            });
        };
        ks.trust_sources(extra, system)
    }

    /// The rules `encrypt` judges recipients' certificates by at `time`
    /// (with `sources`, which [`Self::recipient_sources`] reads).
    pub fn recipient_rules<'a>(
        &self,
        sources: &'a TrustSources,
        require_path: bool,
        time: certs::UnixTime,
    ) -> RecipientRules<'a> {
        RecipientRules {
            inputs: sources.inputs(time),
            require_path,
            require_revocation_check: self.require_revocation_check,
        }
    }

    /// What recipients' certificates are judged with: paths are looked for
    /// when `require_path`, when revocation must be checked, or when the
    /// keystore holds CRLs.
    pub fn recipient_sources(
        &self,
        ks: &Keystore,
        require_path: bool,
    ) -> anyhow::Result<TrustSources> {
        ks.recipient_trust_sources(
            self.extra_anchors()?,
            !self.no_system_anchors,
            require_path || self.require_revocation_check,
        )
    }

    /// The certificates of --trust-anchor.
    fn extra_anchors(&self) -> anyhow::Result<Vec<CertInfo>> {
        let mut extra: Vec<CertInfo> = Vec::new();
        for file in &self.trust_anchors {
            extra.extend(certs::parse_bundle(&read_input(file)?).map_err(|e| {
                fail(
                    Exit::DataErr,
                    format!(
                        "--trust-anchor {}: {}",
                        file.display(),
                        sealpost::error::single_line(&e)
                    ),
                )
            })?);
        }
        Ok(extra)
    }
}

/// The sender (the address in From) of a message, if it has one.
pub fn sender(message: &[u8]) -> Option<String> {
    let entity = Entity::parse(message)?;
    let from = entity.field("From")?;
    sealpost::smime::message::Mailbox::parse(from.trim())
        .ok()
        .map(|m| m.address)
}

/// A verdict for each signature; the trust sources (the system store
/// among them) are read only when there is a signature to judge.
pub fn judge_all(
    signatures: &[SignatureOutcome],
    from: Option<&str>,
    ks: Option<&Keystore>,
    args: &TrustArgs,
    online: &OnlineArgs,
) -> anyhow::Result<Vec<Verdict>> {
    if signatures.is_empty() {
        return Ok(Vec::new());
    }
    let mut sources = args.sources(ks)?;
    if online.online {
        let (verdicts, fetched) = sealpost::mail::crl_fetch::judge_online(
            signatures,
            from,
            &mut sources,
            ks,
            certs::now(),
        );
        for url in &fetched.fetched {
            let kept = if fetched.kept.contains(url) {
                " (kept in the keystore until its next update)"
            } else {
                ""
            };
            super::note(format!(
                "revocation: fetched a CRL from {}{kept}",
                printable(url)
            ));
        }
        for why in fetched.failed {
            super::warn(format!("revocation: {why}"));
        }
        return Ok(verdicts);
    }
    let inputs = sources.inputs(certs::now());
    Ok(signatures
        .iter()
        .map(|s| trust::judge_outcome(s, from, &inputs))
        .collect())
}

/// The signer of a signature for people: its addresses (or subject) and
/// the start of its fingerprint.
pub fn signer_text(s: &SignatureOutcome) -> String {
    let Some(c) = &s.signer else {
        return "unknown signer".into();
    };
    let who = if c.emails.is_empty() {
        printable(&c.subject)
    } else {
        printable(&c.emails.join(", "))
    };
    match &s.algorithm {
        Some(alg) => format!("{who} ({}, {alg})", &c.fingerprint[..16]),
        None => format!("{who} ({})", &c.fingerprint[..16]),
    }
}

/// The error a verdict fails a command with when a good, trusted signature
/// is required, or `None` when it passes.
pub fn refusal(verdict: &Verdict, args: &TrustArgs) -> Option<anyhow::Error> {
    let exit = match verdict.status {
        Status::BadSignature => Exit::DataErr,
        Status::Untrusted => Exit::Untrusted,
        Status::SenderMismatch => Exit::SenderMismatch,
        Status::Trusted
            if args.require_revocation_check && verdict.revocation() == Revocation::Unknown =>
        {
            return Some(fail_hint(
                Exit::RevocationUnknown,
                "the signer's revocation status is unknown",
                "import the issuer's current CRL with `sealpost cert crl import FILE`, \
                 or let --online fetch it from the certificate's distribution point",
            ));
        }
        Status::Trusted => return None,
    };
    let hint = match verdict.status {
        Status::Untrusted => Some(
            "if you trust the issuer, add its CA certificate with `sealpost cert trust FILE` \
             (or --trust-anchor FILE); for a self-signed correspondent, check the fingerprint \
             with its holder and `sealpost cert import` it",
        ),
        _ => None,
    };
    Some(match hint {
        Some(h) => fail_hint(exit, verdict.explain(), h),
        None => fail(exit, verdict.explain()),
    })
}

/// A verdict in `--json` (the `VERDICT` definition of json_schema.rs).
pub fn verdict_json(v: &Verdict) -> Value {
    let trusted_by = match v.trust() {
        Some(Trust::Path {
            anchor,
            source,
            length,
        }) => json!({
            "kind": "path",
            "anchor": anchor,
            "anchor_source": source.name(),
            "path_length": length,
        }),
        Some(Trust::Explicit) => json!({
            "kind": "accepted_certificate",
            "anchor": null,
            "anchor_source": null,
            "path_length": null,
        }),
        None => Value::Null,
    };
    json!({
        "status": v.status.name(),
        "message": v.explain(),
        "trusted_by": trusted_by,
        "untrusted_reason": v.distrust().map(|d| json!({
            "code": d.name(),
            "message": d.to_string(),
        })),
        "revocation": v.revocation().name(),
        "revocation_fetched_from": v.fetched_crls,
        "sender": v.sender.name(),
        "sender_address": match &v.sender {
            SenderMatch::Mismatch { from } => Some(from.clone()),
            _ => None,
        },
        "checked_at": json::time(certs::now()),
    })
}

/// What the keystore says about each signature's signer (`None` for a bad
/// signature), learning from each what its verdict allows when `learn`
/// (see [`Keystore::learn_signer`]).
pub fn signer_trust(
    ks: &Keystore,
    signatures: &[SignatureOutcome],
    verdicts: &[Verdict],
    learn: bool,
) -> anyhow::Result<Vec<Option<SignerTrust>>> {
    signatures
        .iter()
        .zip(verdicts)
        .map(|(sig, verdict)| match (&sig.signer, &sig.result) {
            (Some(signer), Ok(())) if learn => ks
                .learn_signer(
                    signer,
                    &sig.certificates,
                    &sig.capabilities,
                    Vouched::of(verdict),
                    certs::now(),
                )
                .map(Some),
            (Some(signer), Ok(())) => ks.assess_signer(signer).map(Some),
            _ => Ok(None),
        })
        .collect()
}

/// Reports what was learned from a good signature, and why a trusted
/// signer's certificate was not made usable.
pub fn report_learning(ctx: &Context, s: &SignatureOutcome, trust: &SignerTrust) {
    let Some(signer) = &s.signer else { return };
    let fp = &signer.fingerprint;
    if !trust.held_back_by.is_empty() {
        let mut replace: Vec<String> = Vec::new();
        let mut held: Vec<String> = Vec::new();
        for (addr, old) in &trust.held_back_by {
            held.push(format!("{} {}", printable(addr), &old[..16]));
            let remove = format!("sealpost cert remove {old}");
            if !replace.contains(&remove) {
                replace.push(remove);
            }
        }
        replace.push(format!("sealpost cert accept {fp}"));
        ctx.warn(format!(
            "the signer's certificate {} is trusted, but encrypt already uses another one ({}): it was NOT imported; if its holder confirms the change, replace it: {}",
            &fp[..16],
            held.join(", "),
            replace.join(" && ")
        ));
    } else if trust.standing == Standing::Validated && trust.learned_now {
        ctx.note(format!(
            "learned its certificate {} (validated through its certification path): encrypt now uses it for {}",
            &fp[..16],
            printable(&signer.emails.join(", "))
        ));
    } else if trust.standing == Standing::Learned {
        ctx.note(format!(
            "{} its certificate; to encrypt to it, check the fingerprint with its holder, then: sealpost cert accept {fp}",
            if trust.learned_now { "learned" } else { "learned earlier" },
        ));
    }
    if trust.capabilities_recorded {
        ctx.note("recorded the algorithms its software announced (SMIMECapabilities): encrypt chooses by them");
    }
}

/// A signature's signer in `--json` (the `SIGNER` definition of
/// json_schema.rs), with what the keystore says about it.
pub fn signer_json(s: &SignatureOutcome, trust: Option<&SignerTrust>) -> Value {
    let pairs = |list: &[(String, String)]| {
        list.iter()
            .map(|(addr, fp)| json!({"address": addr, "fingerprint": fp}))
            .collect::<Vec<_>>()
    };
    let Some(c) = &s.signer else {
        return Value::Null;
    };
    json!({
        "fingerprint": c.fingerprint,
        "emails": c.emails,
        "subject": c.subject,
        // Whether the certificate is own or accepted: `valid` with
        // `verified: false` means some key signed, not that the address it
        // names did (the verdict says whether a path vouches for it).
        "verified": trust.is_some_and(SignerTrust::verified),
        "certificate": trust.map_or("unknown", |t| t.standing.name()),
        "learned": trust.is_some_and(|t| t.learned_now),
        "capabilities_recorded": trust.is_some_and(|t| t.capabilities_recorded),
        "other_certificates": trust.map(|t| pairs(&t.others)).unwrap_or_default(),
        "held_back_by": trust.map(|t| pairs(&t.held_back_by)).unwrap_or_default(),
        "signature_algorithm": s.algorithm,
    })
}
