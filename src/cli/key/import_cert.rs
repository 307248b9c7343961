//! `sealpost key import-cert`: install a certificate a CA issued for an own
//! key (after `key csr`), with its chain.

use std::path::PathBuf;

use clap::Args;
use sealpost::error::{fail_hint, Exit};
use sealpost::smime::certs;
use sealpost::store::keystore::not_for_own_key;
use serde_json::json;

use super::super::{printable, read_input, Context};
use super::report_identity;

/// Install a certificate a CA issued for one of your keys
///
/// FILE (- for stdin) holds the certificate, as PEM (with CA certificates,
/// in any order), DER, or PKCS#7 certs-only (.p7b, .p7c). It must carry the
/// public key of a key in this keystore, such as one `sealpost key csr` made
/// the request for; no passphrase is needed. It becomes the identity used
/// for its address from now on (a CA's certificate ranks above the key's
/// self-signed ones, even when the CA back-dated it), while the key's
/// earlier certificates stay, so mail sent to them remains readable. The CA
/// certificates in FILE are kept for building certification paths, and are
/// not trusted by that: trust the CA itself with `sealpost cert trust` if
/// you want to.
#[derive(Debug, Args)]
pub struct ImportCertArgs {
    /// The issued certificate, with its chain (- for stdin)
    pub file: PathBuf,
}

pub fn run(args: ImportCertArgs, ctx: &Context) -> anyhow::Result<()> {
    let certs = certs::parse_bundle(&read_input(&args.file)?)?;
    let ks = ctx.keystore()?;
    let (mut own, mut chain, mut strangers) = (Vec::new(), Vec::new(), Vec::new());
    for cert in certs {
        if cert.is_ca() {
            chain.push(cert);
        } else if ks.is_for_own_key(&cert)? {
            own.push(cert);
        } else {
            strangers.push(cert);
        }
    }
    if own.is_empty() {
        return Err(match strangers.first() {
            Some(cert) => not_for_own_key(cert),
            None => fail_hint(
                Exit::DataErr,
                format!("{} holds only CA certificates", args.file.display()),
                "give the file with the certificate the CA issued for you",
            ),
        });
    }
    for c in &strangers {
        ctx.warn(format!(
            "skipped {} ({}): not a CA certificate and not for a key of yours",
            printable(&c.subject),
            &c.fingerprint[..16]
        ));
    }
    let (mut installed, mut fresh) = (Vec::new(), Vec::new());
    for cert in &own {
        let done = ks.install_certificate(cert)?;
        if done.new {
            fresh.push(cert.fingerprint.clone());
        } else {
            ctx.note(format!(
                "{} is already installed",
                &done.identity.cert.fingerprint[..16]
            ));
        }
        installed.push(done.identity);
    }
    // The chain only once the certificate is in: a refused one leaves no
    // CA certificates behind.
    if !chain.is_empty() {
        ks.import_certificates(&chain)?;
        ctx.detail(format!(
            "kept {} CA certificate(s) for building paths (not trusted as anchors)",
            chain.len()
        ));
    }
    if ctx.global.json {
        return ctx.print_json(
            "key import-cert",
            json!({
                "identities": installed.iter().map(super::super::json::identity).collect::<Vec<_>>(),
                "chain": chain.iter().map(|c| &c.fingerprint).collect::<Vec<_>>(),
            }),
        );
    }
    for ident in installed
        .iter()
        .filter(|i| fresh.contains(&i.cert.fingerprint))
    {
        report_identity(ctx, ident, "installed", "key import-cert")?;
    }
    Ok(())
}
