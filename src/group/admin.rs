//! Administering groups: creating a group (key pair, certificate, sealed
//! private key), rotating its key, adding and removing members, and reading times for the
//! audit listing. The CLI (`sealpost group …`) only wires these to I/O.

use rand_core::CryptoRngCore;

use super::store::{
    GroupRecord, KeyRotation, MemberRecord, MemberSelector, Role, SecretRecord, Store,
};
use super::token::{is_pkcs11_uri, module_path, PinSource, Pkcs11Uri, TokenKey};
use super::vault::{purpose, Vault};
use crate::error::{fail, fail_hint, Exit};
use crate::group::release::protocol::{is_group_name, MAX_GROUP_NAME};
use crate::smime::certs::{normalize_address, parse_bundle, UnixTime};
use crate::smime::identity::{generate, self_signed_external_rsa, KeyAlgorithm, NewIdentity};
use crate::smime::keyref::KEY_ID_LEN;

/// Longest group name.
const MAX_NAME: usize = MAX_GROUP_NAME;

/// A name the server will accept on the wire ([`is_group_name`]).
pub fn validate_name(name: &str) -> anyhow::Result<()> {
    if is_group_name(name) {
        Ok(())
    } else {
        Err(fail(
            Exit::Usage,
            format!(
                "invalid group name {name:?}: use 1 to {MAX_NAME} lower-case letters, digits, '.', '_' or '-'"
            ),
        ))
    }
}

/// A group that must exist.
pub fn existing_group(store: &dyn Store, name: &str) -> anyhow::Result<GroupRecord> {
    store.group(name)?.ok_or_else(|| {
        fail_hint(
            Exit::NoInput,
            format!("no group named {name}"),
            "create it with: sealpost group create NAME --email LIST_ADDR",
        )
    })
}

/// A valid name no group has yet.
pub fn check_new_group(store: &dyn Store, name: &str) -> anyhow::Result<()> {
    validate_name(name)?;
    if store.group(name)?.is_some() {
        return Err(fail(
            Exit::CantCreate,
            format!("group {name} already exists"),
        ));
    }
    Ok(())
}

/// What a new group is.
pub struct NewGroup<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub bits: usize,
    pub days: u32,
}

/// Creates a group: key pair, self-signed S/MIME group certificate, private
/// key sealed under `passphrase`. Every group of a server is sealed under
/// the same passphrase (the server opens them all with one), so an existing
/// group's key must open with it first.
pub fn create_group(
    store: &dyn Store,
    spec: &NewGroup<'_>,
    passphrase: &str,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<GroupRecord> {
    check_new_group(store, spec.name)?;
    check_server_passphrase(store, passphrase)?;
    // A group key is RSA: the server unwraps key-transport entries with it.
    let (key, cert) = generate(
        &NewIdentity {
            email: spec.email,
            name: Some(&format!("{} (sealpost group)", spec.name)),
            algorithm: KeyAlgorithm::Rsa(spec.bits),
            days: spec.days,
        },
        now,
        rng,
    )?
    .remove(0);
    let sealed = crate::smime::privkey::seal(&key, Some(passphrase))?;
    let record = GroupRecord {
        name: spec.name.to_string(),
        email: cert.emails.first().cloned().unwrap_or_default(),
        certificate: cert.der,
        sealed_key: sealed.to_string(),
        created: now,
    };
    store.create_group(&record)?;
    Ok(record)
}

/// Creates a group whose private key is in a PKCS#11 token: the
/// self-signed group certificate is signed by the token, and the store
/// holds the key's `pkcs11:` URI (`uri`), never the key.
pub fn create_group_in_token(
    store: &dyn Store,
    spec: &NewGroup<'_>,
    key: &TokenKey,
    uri: &str,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<GroupRecord> {
    check_new_group(store, spec.name)?;
    let bits = key.modulus_len() * 8;
    if !crate::smime::identity::ALLOWED_BITS.contains(&bits) {
        return Err(fail(
            Exit::DataErr,
            format!("the token's key has {bits} bits; a group key has 2048, 3072 or 4096"),
        ));
    }
    let cert = certificate_in_token(key, spec.name, spec.email, spec.days, now, rng)?;
    let record = GroupRecord {
        name: spec.name.to_string(),
        email: cert.emails.first().cloned().unwrap_or_default(),
        certificate: cert.der,
        sealed_key: uri.to_string(),
        created: now,
    };
    store.create_group(&record)?;
    Ok(record)
}

/// A group certificate for the token's key, signed in the token.
fn certificate_in_token(
    key: &TokenKey,
    group: &str,
    email: &str,
    days: u32,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<crate::smime::certs::CertInfo> {
    let sign = |message: &[u8]| key.sign_sha256(message);
    self_signed_external_rsa(
        &key.public_key()?,
        &sign,
        &NewIdentity {
            email,
            name: Some(&format!("{group} (sealpost group)")),
            algorithm: KeyAlgorithm::Rsa(key.modulus_len() * 8),
            days,
        },
        now,
        rng,
    )
}

/// Adds the certificate in `data` (PEM or DER, exactly one) in `role`;
/// its e-mail address is the member's. Returns the record and whether it
/// was new (a certificate already registered keeps its first role).
pub fn add_member(
    store: &dyn Store,
    group: &str,
    data: &[u8],
    role: Role,
    now: UnixTime,
) -> anyhow::Result<(MemberRecord, bool)> {
    existing_group(store, group)?;
    let mut certs = parse_bundle(data)?;
    if certs.len() != 1 {
        return Err(fail(
            Exit::DataErr,
            format!("expected one member certificate, found {}", certs.len()),
        ));
    }
    let cert = certs.remove(0);
    cert.check_addresses()?;
    let Some(address) = cert.emails.first().cloned() else {
        return Err(fail(
            Exit::DataErr,
            format!("certificate {} names no e-mail address", cert.fingerprint),
        ));
    };
    if cert.rsa_bits.is_none_or(|b| b < 2048) {
        return Err(fail(
            Exit::DataErr,
            format!(
                "certificate of {address} has no RSA key of 2048 bits or more (release signatures are RSASSA-PSS)"
            ),
        ));
    }
    let member = MemberRecord {
        fingerprint: cert.fingerprint.clone(),
        address,
        certificate: cert.der,
        added: now,
        role,
    };
    let added = store.add_member(group, &member)?;
    Ok((member, added))
}

/// Removes members by address or fingerprint; none matching is an error.
pub fn remove_members(
    store: &dyn Store,
    group: &str,
    which: &MemberSelector,
) -> anyhow::Result<Vec<MemberRecord>> {
    existing_group(store, group)?;
    let which = match which {
        MemberSelector::Address(a) => MemberSelector::Address(normalize_address(a)),
        MemberSelector::Fingerprint(f) => {
            MemberSelector::Fingerprint(f.replace(':', "").to_ascii_lowercase())
        }
    };
    let removed = store.remove_members(group, &which)?;
    if removed.is_empty() {
        let what = match &which {
            MemberSelector::Address(a) => a.clone(),
            MemberSelector::Fingerprint(f) => format!("fingerprint {f}"),
        };
        return Err(fail_hint(
            Exit::NoUser,
            format!("{what} is not a member of group {group}"),
            format!("list the members with: sealpost group members {group}"),
        ));
    }
    Ok(removed)
}

/// Reads a duration such as `90s`, `15m`, `1h`, `2d` as seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    match digits.parse::<i64>() {
        Ok(n) if !digits.is_empty() => Some(n.saturating_mul(scale)),
        _ => None,
    }
}

/// Reads `--since`: an RFC 3339 time, or a duration back from `now` such as
/// `90s`, `15m`, `1h`, `2d`.
pub fn parse_since(text: &str, now: UnixTime) -> anyhow::Result<UnixTime> {
    let text = text.trim();
    if let Ok(t) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return Ok(t.unix_timestamp());
    }
    match parse_duration(text) {
        Some(seconds) => Ok(now - seconds),
        None => Err(fail(
            Exit::Usage,
            format!(
                "cannot read --since {text:?}: give an RFC 3339 time (2026-01-31T12:00:00Z) or a duration (90s, 15m, 1h, 2d)"
            ),
        )),
    }
}

/// How long `group rotate-key` keeps the old key by default: 90 days, long
/// enough for mail in transit, queued, or read late from a mailbox.
pub const DEFAULT_KEEP_OLD: &str = "90d";

/// A group's key after a rotation.
pub struct Rotated {
    /// The group, with its new certificate and key.
    pub group: GroupRecord,
    /// The new key's generation (the group's first key is 1).
    pub generation: i64,
    /// Until when the replaced key is still used.
    pub keep_until: UnixTime,
}

/// Rotates `group`'s key: a new key pair of the same size and a new
/// certificate valid as long as the old one was, sealed under the same
/// `passphrase`; the old key is retired and still opens messages
/// encrypted to it for `keep_old` seconds. Senders must fetch the new
/// certificate (`sealpost group cert`).
pub fn rotate_key(
    store: &dyn Store,
    group: &str,
    passphrase: &str,
    keep_old: i64,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Rotated> {
    let record = existing_group(store, group)?;
    if is_pkcs11_uri(&record.sealed_key) {
        return Err(fail_hint(
            Exit::Usage,
            format!("group {group}'s key is in a PKCS#11 token, not sealed"),
            "rotate it with the token's PIN (group rotate-key --pin-file FILE)",
        ));
    }
    check_passphrase(&record, passphrase)?;
    let (bits, days) = key_shape(&record)?;
    let (key, cert) = generate(
        &NewIdentity {
            email: &record.email,
            name: Some(&format!("{} (sealpost group)", record.name)),
            algorithm: KeyAlgorithm::Rsa(bits),
            days,
        },
        now,
        rng,
    )?
    .remove(0);
    let sealed = crate::smime::privkey::seal(&key, Some(passphrase))?;
    retire(store, record, cert.der, sealed.to_string(), keep_old, now)
}

/// The old key's size in bits, and how many days its certificate was valid
/// (the new one's shape).
fn key_shape(record: &GroupRecord) -> anyhow::Result<(usize, u32)> {
    let old = crate::smime::certs::CertInfo::from_der(&record.certificate)?;
    let days = ((old.not_after - old.not_before) / 86_400).clamp(1, 36_500) as u32;
    Ok((old.rsa_bits.unwrap_or(3072), days))
}

/// Makes `certificate` and `key` (sealed, or a token URI) the group's
/// current key in the store, retiring `record`'s for `keep_old` seconds.
fn retire(
    store: &dyn Store,
    record: GroupRecord,
    certificate: Vec<u8>,
    key: String,
    keep_old: i64,
    now: UnixTime,
) -> anyhow::Result<Rotated> {
    let keep_until = now.saturating_add(keep_old);
    let rotation = KeyRotation {
        old_certificate: record.certificate.clone(),
        certificate,
        sealed_key: key,
        time: now,
        keep_until,
    };
    let generation = store.rotate_group_key(&record.name, &rotation)?;
    Ok(Rotated {
        group: GroupRecord {
            certificate: rotation.certificate,
            sealed_key: rotation.sealed_key,
            ..record
        },
        generation,
        keep_until,
    })
}

/// [`rotate_key`] for a group whose key is in a PKCS#11 token: the new key
/// pair is generated in the same token (sensitive, never extractable, the
/// old key's size), under a URI that differs from the old one only in
/// `object=` (the old label's stem, `-g` and the new generation: readable
/// in `pkcs11-tool --list-objects`) and `id=` (16 random bytes: unique even
/// when a rotation that failed after the generation left a key with the
/// same label behind). Its certificate is signed in the token. The retired
/// key keeps its URI in the store, so a server opens it, as before, while
/// its window lasts. `pins` gives the token's PIN, as for `group create`.
pub fn rotate_key_in_token(
    store: &dyn Store,
    group: &str,
    pins: &PinSource,
    keep_old: i64,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Rotated> {
    let record = existing_group(store, group)?;
    if !is_pkcs11_uri(&record.sealed_key) {
        return Err(fail(
            Exit::Usage,
            format!("group {group}'s key is sealed in the store, not in a PKCS#11 token"),
        ));
    }
    let old_uri = Pkcs11Uri::parse(&record.sealed_key)?;
    let (bits, days) = key_shape(&record)?;
    let generation = store.key_generation(group)? + 1;
    let label = format!("{}-g{generation}", label_stem(old_uri.object.as_deref()));
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let uri = old_uri.naming(&label, &id)?;
    let module = module_path(&uri, None)?;
    let pin = pins(&uri)?;
    let key = TokenKey::generate(&uri, &module, &pin, bits)?;
    let cert = certificate_in_token(&key, &record.name, &record.email, days, now, rng)?;
    let made = uri.text.clone();
    retire(store, record, cert.der, uri.text, keep_old, now).map_err(|e| {
        // The key was made but is not the group's: the operator may delete it.
        fail(
            crate::error::classify(&e).0,
            format!(
                "{}; the key made for it stays in the token, unused: {made}",
                crate::error::single_line(&e)
            ),
        )
    })
}

/// The label a rotated key's is made from: the first key's (`list-key`
/// for `list-key-g3`), or `sealpost-group` for a key named by id alone.
fn label_stem(label: Option<&str>) -> &str {
    let Some(label) = label else {
        return "sealpost-group";
    };
    match label.rsplit_once("-g") {
        Some((stem, n))
            if !stem.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            stem
        }
        _ => label,
    }
}

/// The vault purpose of a group secret.
pub fn secret_purpose(group: &str, id: &str) -> Vec<u8> {
    purpose("group-secret", group, id)
}

/// Issues a new group secret for `group`: 32 random bytes under a random
/// id, sealed by the store's vault (created on first use). From now on the
/// server re-wraps message keys under it; older secrets stay, so mail
/// wrapped under them stays readable to whoever holds them.
pub fn rotate_secret(
    store: &dyn Store,
    group: &str,
    passphrase: &str,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<SecretRecord> {
    existing_group(store, group)?;
    check_server_passphrase(store, passphrase)?;
    let vault = Vault::open_or_create(store, passphrase, rng)?;
    let mut id = [0u8; KEY_ID_LEN];
    rng.fill_bytes(&mut id);
    let id = hex::encode(id);
    let mut secret = zeroize::Zeroizing::new([0u8; crate::smime::envelope::KEK_LEN]);
    rng.fill_bytes(&mut secret[..]);
    let sealed = vault.seal(&secret_purpose(group, &id), &secret[..], rng)?;
    let record = SecretRecord {
        id,
        sealed,
        created: now,
    };
    store.add_secret(group, &record)?;
    Ok(record)
}

/// [`check_passphrase`] with the first group whose key is sealed (a key in
/// a token has no passphrase); nothing to check on a store without one.
pub(crate) fn check_server_passphrase(store: &dyn Store, passphrase: &str) -> anyhow::Result<()> {
    match store
        .groups()?
        .iter()
        .find(|g| !is_pkcs11_uri(&g.sealed_key))
    {
        Some(group) => check_passphrase(group, passphrase),
        None => Ok(()),
    }
}

/// Fails unless `passphrase` opens `group`'s private key: the one check
/// that the server passphrase is the right one before anything is sealed
/// under it.
fn check_passphrase(group: &GroupRecord, passphrase: &str) -> anyhow::Result<()> {
    crate::smime::privkey::open(
        &group.sealed_key,
        Some(passphrase),
        &format!("the private key of group {}", group.name),
    )
    .map(drop)
    .map_err(|_| {
        fail_hint(
            Exit::NoPerm,
            "wrong server passphrase: it does not open the existing groups' keys",
            "use the passphrase the group server was set up with",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_token_key_is_labelled_after_the_first_ones_stem() {
        assert_eq!(label_stem(Some("list-key")), "list-key");
        assert_eq!(label_stem(Some("list-key-g12")), "list-key");
        assert_eq!(label_stem(Some("big-gun")), "big-gun");
        assert_eq!(label_stem(Some("-g2")), "-g2");
        assert_eq!(label_stem(None), "sealpost-group");
    }

    #[test]
    fn names_and_times() {
        for good in ["list", "a", "dev-team.2", "x_y"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "List", "-x", ".x", "a/b", "a b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_since("1h", 10_000).unwrap(), 6_400);
        assert_eq!(parse_since("30m", 10_000).unwrap(), 8_200);
        assert_eq!(
            parse_since("2026-01-01T00:00:00Z", 0).unwrap(),
            1_767_225_600
        );
        for bad in ["", "h", "1w", "yesterday", "-1h"] {
            assert!(parse_since(bad, 0).is_err(), "{bad}");
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(parse_duration(DEFAULT_KEEP_OLD), Some(90 * 86_400));
    }
}
