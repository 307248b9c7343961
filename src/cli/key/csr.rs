//! `sealpost key csr`: a certificate request for a CA to sign.

use std::path::PathBuf;

use clap::Args;
use sealpost::error::{fail, Exit};
use sealpost::smime::certs::{self, pem_encode, CertInfo};
use sealpost::smime::identity::{certificate_request, NewRequest};
use serde_json::json;

use super::super::Context;
use super::{check_output_new, choose_identity, passphrase_for, write_output, Payload};

/// Make a certificate request (PKCS#10) for a certificate authority
///
/// The request carries the identity's public key and asks for the S/MIME
/// certificate peers expect: subject CN (--name, else the current
/// certificate's common name) and emailAddress, subjectAltName with the
/// address, keyUsage digitalSignature and keyEncipherment, extendedKeyUsage
/// emailProtection. It is signed with the identity's key (the keystore
/// passphrase is asked). Send it to the CA, then install the certificate it
/// issues with `sealpost key import-cert FILE`; the key stays in the
/// keystore.
#[derive(Debug, Args)]
pub struct CsrArgs {
    /// Address or fingerprint (at least 8 hex digits) of the identity
    pub who: String,
    /// The subject's common name [default: the current certificate's, else the address]
    #[arg(long)]
    pub name: Option<String>,
    /// DER instead of PEM
    #[arg(long)]
    pub der: bool,
    /// Write the request to a new FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: CsrArgs, ctx: &Context) -> anyhow::Result<()> {
    let out = args.output.clone().unwrap_or_else(|| PathBuf::from("-"));
    check_output_new(&out)?;
    if ctx.global.json && out.as_os_str() == "-" {
        return Err(fail(
            Exit::Usage,
            "--json prints its document on stdout: give -o FILE for the request",
        ));
    }
    let ks = ctx.keystore()?;
    // By address, the identity whose key signs (an Ed25519 identity's
    // X25519 key cannot sign a request).
    let ident = choose_identity(&ks, &args.who, |i| {
        i.cert.key_kind.as_ref().is_ok_and(|k| k.can_sign())
    })?;
    let email = match args.who.contains('@') {
        true => certs::validate_address(&args.who)?,
        false => ident.cert.emails.first().cloned().ok_or_else(|| {
            fail(
                Exit::NoUser,
                "this identity's certificate names no address to request a certificate for",
            )
        })?,
    };
    let name = args.name.clone().or_else(|| common_name(&ident.cert));
    let key = ks.unlock(&ident, passphrase_for(ctx, &ident)?)?;
    let der = certificate_request(
        &key,
        &NewRequest {
            email: &email,
            name: name.as_deref(),
        },
    )?;
    let data = match args.der {
        true => der,
        false => pem_encode("CERTIFICATE REQUEST", &der).into_bytes(),
    };
    write_output(&out, &data, Payload::Public { binary: args.der })?;
    if ctx.global.json {
        return ctx.print_json(
            "key csr",
            json!({
                "fingerprint": ident.cert.fingerprint,
                "email": email,
                "file": out,
            }),
        );
    }
    ctx.note(format!(
        "certificate request for {email} (key of {}); install the issued certificate with: \
         sealpost key import-cert FILE",
        &ident.cert.fingerprint[..16]
    ));
    Ok(())
}

/// The first common name in a certificate's subject, when it is text.
fn common_name(cert: &CertInfo) -> Option<String> {
    use const_oid::db::rfc4519::CN;
    cert.cert
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == CN)
        .find_map(|atv| {
            der::asn1::Utf8StringRef::try_from(&atv.value)
                .map(|s| s.as_str().to_string())
                .or_else(|_| {
                    der::asn1::PrintableStringRef::try_from(&atv.value)
                        .map(|s| s.as_str().to_string())
                })
                .ok()
        })
}
