//! Option C of issue #17: a member who holds the group's private key, to read
//! list mail with no group server (on a plane, say). The server's operator
//! exports the key to one member ([`export_key`]); the member imports it into
//! their keystore as one more identity ([`import_key`]), and `decrypt` then
//! opens mail to the group certificate like mail to themselves.
//!
//! What crosses: an S/MIME `AuthEnvelopedData` (AES-256-GCM; RSA-OAEP key
//! transport, or key agreement for an EC member key: the envelope builder
//! decides) addressed to the member's certificate alone, PEM-armoured
//! (`-----BEGIN CMS-----`, which `openssl cms -decrypt -inform PEM` also
//! reads). Its content is the group certificate and the group's PKCS#8
//! private key as PEM, so the member side, or OpenSSL, needs nothing but the
//! member's own key. NOTE: GCM rather than CBC because an import must not
//! take a key from an envelope someone altered: a CBC envelope decrypts
//! altered ciphertext to garbage that might still parse; the GCM tag refuses
//! any change. The plaintext lives only in zeroized memory on both sides; on
//! the member's disk the key is sealed under the keystore passphrase like
//! any imported key.
//!
//! The price, which the CLI states on every export: the member can read all
//! list mail encrypted to this key, without the server and without an audit
//! row, for as long as they keep it; removing them takes a new group key
//! (`group rotate-key`), after which the remaining members re-import. The
//! export itself leaves one audit row (`key_export`) on the server.
//!
//! May use: [`crate::error`], [`crate::smime`], [`crate::store`] (the
//! member's keystore) and the group server's store ([`super::store`],
//! [`super::admin`]).

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::admin::existing_group;
use super::store::{AuditRecord, GroupRecord, MemberRecord, Role, Store};
use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::{parse_bundle, pem_blocks, pem_encode, CertInfo, UnixTime};
use crate::smime::envelope::{
    seal_for, ContentCipher, ContentKey, Envelope, EnvelopeKind, KeyTransport, OwnKey,
    RecipientIdKind, RecipientOptions,
};
use crate::smime::privkey::{self, KeyKind, PrivateKey};
use crate::store::keystore::{Identity, Keystore};

/// The audit operation of an export.
pub const OP_KEY_EXPORT: &str = "key_export";

/// The audit outcome of an export.
pub const EXPORTED: &str = "exported";

/// The PEM label of an export (RFC 7468 §9).
pub const EXPORT_LABEL: &str = "CMS";

/// The largest export accepted on import: a 4096-bit key and its certificate
/// make about 8 KiB of PEM, wrapped to an RSA-4096 member about 12 KiB.
pub const MAX_EXPORT: usize = 64 << 10;

/// What the server keeps a group key as when it can be exported.
const SEALED_PKCS8: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";

/// One export: the armoured envelope, and whose key went to whom.
pub struct KeyExport {
    /// `-----BEGIN CMS-----` …: safe to write anywhere, only the member opens it.
    pub armored: String,
    /// The group certificate whose key is inside.
    pub group: CertInfo,
    /// The member it is addressed to.
    pub member: MemberRecord,
}

/// Wraps `group`'s private key to the member whose certificate is `member_cert`
/// (PEM or DER, exactly one), after checking that it is a current member
/// (role `member`: a sender or the exploder reads nothing) and that the key
/// is a sealed PKCS#8 key, and appends the `key_export` audit row before the
/// envelope is handed out.
pub fn export_key(
    store: &dyn Store,
    group: &str,
    member_cert: &[u8],
    passphrase: &str,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<KeyExport> {
    let record = existing_group(store, group)?;
    let mut certs = parse_bundle(member_cert)?;
    if certs.len() != 1 {
        return Err(fail(
            Exit::DataErr,
            format!("expected one member certificate, found {}", certs.len()),
        ));
    }
    let cert = certs.remove(0);
    let member = store
        .member(group, &cert.fingerprint)?
        .ok_or_else(|| not_a_member(group, &cert))?;
    if member.role != Role::Member {
        return Err(fail(
            Exit::NoPerm,
            format!(
                "{} ({}) is registered with group {group} as {}, which reads no list mail: only a member may hold the group key",
                member.address,
                member.fingerprint,
                member.role.as_str()
            ),
        ));
    }
    let key = extractable_key(&record, passphrase)?;
    let group_cert = CertInfo::from_der(&record.certificate)?;
    let mut payload = Zeroizing::new(group_cert.to_pem());
    payload.push_str(&privkey::seal(&key, None)?);
    let cek = ContentKey::generate(ContentCipher::Aes256Gcm, rng)?;
    let content = cek.encrypt(payload.as_bytes(), rng)?;
    let options = RecipientOptions {
        transport: KeyTransport::RsaOaepSha256,
        rid: RecipientIdKind::IssuerAndSerial,
    };
    let envelope = seal_for(&content, &cek, &[&cert.cert], options, rng)?;
    // The row first: an export whose row failed must not leave.
    store.append_audit(&[AuditRecord {
        time: now,
        group: Some(group.to_string()),
        member_fingerprint: Some(member.fingerprint.clone()),
        member_address: Some(member.address.clone()),
        outcome: EXPORTED.to_string(),
        op: OP_KEY_EXPORT.to_string(),
        ..AuditRecord::default()
    }])?;
    Ok(KeyExport {
        armored: pem_encode(EXPORT_LABEL, &envelope),
        group: group_cert,
        member,
    })
}

/// Which of `fingerprints` the group key was exported to, by the audit log:
/// for `remove-member` to say that removing them takes a new key. Only as
/// good as the log: rows pruned (`group audit --prune`) are forgotten.
pub fn exported_to(
    store: &dyn Store,
    group: &str,
    fingerprints: &[&str],
) -> anyhow::Result<Vec<String>> {
    let mut holders: Vec<String> = store
        .audit(group, None)?
        .into_iter()
        .filter(|r| r.op == OP_KEY_EXPORT && r.outcome == EXPORTED)
        .filter_map(|r| r.member_fingerprint)
        .filter(|f| fingerprints.contains(&f.as_str()))
        .collect();
    holders.sort();
    holders.dedup();
    Ok(holders)
}

fn not_a_member(group: &str, cert: &CertInfo) -> anyhow::Error {
    fail_hint(
        Exit::NoUser,
        format!(
            "certificate {} is not a member of group {group}",
            cert.fingerprint
        ),
        format!("list the members with: sealpost group members {group}"),
    )
}

/// The group's private key, when the store holds it as a sealed PKCS#8 key;
/// anything else (a `pkcs11:` URI of a token that never lets the key out)
/// is refused without repeating it: such a URI may carry a PIN.
fn extractable_key(record: &GroupRecord, passphrase: &str) -> anyhow::Result<PrivateKey> {
    if !record.sealed_key.trim_start().starts_with(SEALED_PKCS8) {
        let scheme: String = record
            .sealed_key
            .split(':')
            .next()
            .filter(|s| s.len() <= 16 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(|s| format!(" (a {s}: key reference)"))
            .unwrap_or_default();
        return Err(fail(
            Exit::NoPerm,
            format!(
                "the private key of group {} is not extractable{scheme}: only a key the store holds as sealed PKCS#8 can be exported",
                record.name
            ),
        ));
    }
    privkey::open(
        &record.sealed_key,
        Some(passphrase),
        &format!("the private key of group {}", record.name),
    )
}

/// An export opened: the group's key and certificate.
pub struct GroupKey {
    pub key: PrivateKey,
    pub cert: CertInfo,
}

/// Parses an export (the armoured PEM, or its DER) for [`open_export`].
/// Only an authenticated envelope is accepted (see the module doc).
pub fn parse_export(data: &[u8]) -> anyhow::Result<Envelope> {
    if data.len() > MAX_EXPORT {
        return Err(not_an_export("it is larger than any group key export"));
    }
    let der = match std::str::from_utf8(data) {
        Ok(text) if text.contains("-----BEGIN ") => {
            let mut blocks = pem_blocks(text)?;
            match blocks.len() {
                1 if blocks[0].0 == EXPORT_LABEL => blocks.remove(0).1,
                _ => return Err(not_an_export("expected one CMS block")),
            }
        }
        _ => data.to_vec(),
    };
    let envelope = Envelope::parse(&der)?;
    if envelope.kind() != EnvelopeKind::AuthEnveloped {
        return Err(not_an_export(
            "it is not an authenticated envelope (AuthEnvelopedData)",
        ));
    }
    Ok(envelope)
}

fn not_an_export(why: &str) -> anyhow::Error {
    fail(
        Exit::DataErr,
        format!("not a group key export from `sealpost group key export`: {why}"),
    )
}

/// Opens `envelope` with the member's `own` key and checks what it holds:
/// one certificate with an RSA key (a group key is RSA), and the private key
/// that belongs to it.
pub fn open_export(
    envelope: &Envelope,
    own: OwnKey<'_>,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<GroupKey> {
    let plain = Zeroizing::new(envelope.open(&[own], rng)?);
    let text =
        std::str::from_utf8(&plain).map_err(|_| not_an_export("its content is not PEM text"))?;
    let mut certs = parse_bundle(text.as_bytes())?;
    if certs.len() != 1 {
        return Err(not_an_export("expected one group certificate inside"));
    }
    let cert = certs.remove(0);
    if !matches!(cert.key_kind, Ok(KeyKind::Rsa)) {
        return Err(not_an_export("the certificate inside has no RSA key"));
    }
    let key = privkey::open(text, None, "the exported group key")?;
    if !privkey::key_matches_cert(&key, &cert) {
        return Err(not_an_export(
            "the private key inside does not belong to its certificate",
        ));
    }
    Ok(GroupKey { key, cert })
}

/// The own identity an export is addressed to, among `ks`'s.
pub fn addressee(ks: &Keystore, envelope: &Envelope) -> anyhow::Result<Identity> {
    ks.identities()?
        .into_iter()
        .find(|i| envelope.recipient_for(&i.cert.cert).is_some())
        .ok_or_else(|| {
            fail_hint(
                Exit::NoUser,
                "this group key export is addressed to none of your keys",
                "ask the group's operator to export it to your certificate: sealpost group key export GROUP --to YOUR_CERT",
            )
        })
}

/// Opens an export with the keystore key it names (`unlock` gives that key)
/// and stores the group key as an identity, sealed under `passphrase`.
pub fn import_key(
    ks: &Keystore,
    data: &[u8],
    unlock: impl FnOnce(&Identity) -> anyhow::Result<PrivateKey>,
    passphrase: Option<&str>,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Identity> {
    let envelope = parse_export(data)?;
    let me = addressee(ks, &envelope)?;
    let own = unlock(&me)?;
    let group = open_export(
        &envelope,
        OwnKey {
            cert: &me.cert.cert,
            key: &own,
        },
        rng,
    )?;
    ks.add_identity(&group.key, &group.cert, passphrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOB_CERT: &str = include_str!("../../tests/data/bob.cert.pem");
    const BOB_KEY: &str = include_str!("../../tests/data/bob.key.pem");
    const ALICE_CERT: &str = include_str!("../../tests/data/alice.cert.pem");
    const ALICE_KEY: &str = include_str!("../../tests/data/alice.key.pem");
    const CAROL_KEY: &str = include_str!("../../tests/data/carol.key.pem");

    /// `payload` enveloped to bob with `cipher`, as PEM.
    fn to_bob(payload: &str, cipher: ContentCipher) -> String {
        let rng = &mut rand_core::OsRng;
        let bob = parse_bundle(BOB_CERT.as_bytes()).unwrap().remove(0);
        let cek = ContentKey::generate(cipher, rng).unwrap();
        let content = cek.encrypt(payload.as_bytes(), rng).unwrap();
        let der = seal_for(&content, &cek, &[&bob.cert], Default::default(), rng).unwrap();
        pem_encode(EXPORT_LABEL, &der)
    }

    /// Opens `export` as bob.
    fn open_as_bob(export: &str) -> anyhow::Result<GroupKey> {
        let bob = parse_bundle(BOB_CERT.as_bytes()).unwrap().remove(0);
        let key = privkey::open(BOB_KEY, None, "bob").unwrap();
        let own = OwnKey {
            cert: &bob.cert,
            key: &key,
        };
        open_export(
            &parse_export(export.as_bytes())?,
            own,
            &mut rand_core::OsRng,
        )
    }

    fn message(e: anyhow::Error) -> String {
        format!("{e:#}")
    }

    #[test]
    fn an_export_holds_one_rsa_certificate_and_its_own_key_in_an_authenticated_envelope() {
        let good = format!("{ALICE_CERT}{ALICE_KEY}");
        let opened = open_as_bob(&to_bob(&good, ContentCipher::Aes256Gcm)).unwrap();
        assert!(opened.cert.matches_address("alice@example.org"));
        // The same content in an EnvelopedData (CBC, no integrity) is refused
        // before any key is used: altered ciphertext could still parse.
        let cbc = to_bob(&good, ContentCipher::Aes256Cbc);
        let err = message(open_as_bob(&cbc).err().unwrap());
        assert!(err.contains("not an authenticated envelope"), "{err}");
        // A key that is not the certificate's.
        let wrong = to_bob(
            &format!("{ALICE_CERT}{CAROL_KEY}"),
            ContentCipher::Aes256Gcm,
        );
        let err = message(open_as_bob(&wrong).err().unwrap());
        assert!(err.contains("does not belong"), "{err}");
        // Two certificates, or none.
        let two = to_bob(
            &format!("{ALICE_CERT}{BOB_CERT}{ALICE_KEY}"),
            ContentCipher::Aes256Gcm,
        );
        assert!(message(open_as_bob(&two).err().unwrap()).contains("one group certificate"));
        let none = to_bob(ALICE_KEY, ContentCipher::Aes256Gcm);
        let err = open_as_bob(&none).err().unwrap();
        assert_eq!(crate::error::classify(&err).0, Exit::DataErr, "{err:#}");
        // Oversized input is refused before it is parsed.
        let big = "A".repeat(MAX_EXPORT + 1);
        assert!(message(parse_export(big.as_bytes()).err().unwrap()).contains("larger"));
    }
}
