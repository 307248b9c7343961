//! Membership passes, the member's side (issue #17): fetching one (the
//! public issuing key, a fresh pass key, the blinded message, the signed
//! issuance call, unblinding and checking), keeping it, and releasing a
//! message key with it.
//!
//! A pass is kept as `KEYSTORE/passes/GROUP/NOTBEFORE.pem`: the pass
//! (`SEALPOST MEMBERSHIP PASS`) and its private key (PKCS#8, sealed under
//! the keystore passphrase when the member's own key is), 0600, written
//! atomically. Passes whose period is over are deleted when the group's
//! passes are next read.
//!
//! A release with a pass opens its own TLS connection and sends nothing
//! that names the member: no certificate, and the pass was signed blind.
//! The server answers with an entry for the pass key; the content key is
//! then wrapped here to the member's own certificate, for `release` to add
//! to the message (a pass key is gone after its period).
//!
//! May use: the pass core, the protocol and client of [`super`], the
//! keystore's files.

use std::path::{Path, PathBuf};

use anyhow::Result;
use cms::enveloped_data::RecipientInfo;
use der::Decode;
use rand_core::CryptoRngCore;
use rsa::RsaPrivateKey;

use super::client::{post_with_failover, sign, ReleaseClient, ServerUrl};
use super::joined::{check_group_name, JoinedGroup};
use super::protocol::pass::{
    PassAnswer, PassKeyAnswer, PassKeyRequest, PassPayload, PassReleaseRequest, PASS_KEY_PATH,
    PASS_RELEASE_PATH,
};
use super::protocol::{RefusalCode, ReleaseGrant, MAX_CLOCK_SKEW, NONCE_LEN};
use super::{calls::Op, Released, DEFAULT_TIMEOUT};
use crate::error::{fail, fail_hint, Exit};
use crate::group::keys::wrap_for;
use crate::group::pass::{self, IssuerPublicKey, Pass, PassRequest, Period};
use crate::smime::certs::{pem_blocks, pem_encode};
use crate::smime::envelope::{ContentKey, Envelope};
use crate::smime::privkey::{self, PrivateKey};
use crate::store::fsutil;

/// The PEM label of a stored pass.
const PASS_LABEL: &str = "SEALPOST MEMBERSHIP PASS";
/// A stored pass file is a pass and a sealed key: a few KiB.
const MAX_PASS_FILE: u64 = 64 * 1024;

/// A pass held by this keystore, with its (still sealed) private key.
pub struct HeldPass {
    pub pass: Pass,
    key_pem: String,
    pub path: PathBuf,
}

impl HeldPass {
    /// The pass key, unsealed with `passphrase` if it is sealed.
    pub fn key(&self, passphrase: Option<&str>) -> Result<RsaPrivateKey> {
        privkey::open(&self.key_pem, passphrase, "the membership pass key")?.into_rsa("a pass key")
    }

    /// Whether the pass key is sealed under the keystore passphrase.
    pub fn sealed(&self) -> bool {
        self.key_pem.contains("ENCRYPTED PRIVATE KEY")
    }
}

/// The passes of one keystore.
pub struct PassStore {
    dir: PathBuf,
}

impl PassStore {
    pub fn new(keystore_root: &Path) -> Self {
        Self {
            dir: keystore_root.join("passes"),
        }
    }

    fn group_dir(&self, group: &str) -> Result<PathBuf> {
        check_group_name(group)?;
        Ok(self.dir.join(group))
    }

    /// Stores `pass` with its private key, sealed under `passphrase` if
    /// given; returns the file.
    pub fn save(
        &self,
        pass: &Pass,
        key: &RsaPrivateKey,
        passphrase: Option<&str>,
    ) -> Result<PathBuf> {
        let dir = self.group_dir(pass.group())?;
        let sealed = privkey::seal(&PrivateKey::Rsa(key.clone()), passphrase)?;
        let mut text = pem_encode(PASS_LABEL, pass.to_der());
        text.push_str(&sealed);
        fsutil::private_dir(&self.dir, "keystore")?;
        fsutil::private_dir(&dir, "keystore")?;
        let path = dir.join(format!("{}.pem", pass.window().0));
        fsutil::atomic_write(&path, text.as_bytes(), fsutil::PRIVATE_FILE)?;
        Ok(path)
    }

    /// The held pass of `group` valid at `now` (or beginning within the
    /// allowed clock skew), if any; passes whose period ended are deleted
    /// on the way.
    pub fn current(&self, group: &str, now: u64) -> Result<Option<HeldPass>> {
        let dir = self.group_dir(group)?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(fail(
                    Exit::IoErr,
                    format!("cannot read {}: {e}", dir.display()),
                ))
            }
        };
        let mut found = None;
        for entry in entries.flatten() {
            let path = entry.path();
            let is_pass = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".pem"))
                .is_some_and(|stem| stem.parse::<u64>().is_ok());
            if !is_pass {
                continue;
            }
            let Some(held) = read_pass(&path)? else {
                continue;
            };
            let (not_before, not_after) = held.pass.window();
            if now >= not_after {
                fsutil::durable_remove(&path)?;
            } else if now.saturating_add(MAX_CLOCK_SKEW) >= not_before {
                // Valid now, or (a clock a little behind the server's, at a
                // boundary) from within the allowed skew; the one valid now
                // is preferred.
                let better = found
                    .as_ref()
                    .is_none_or(|f: &HeldPass| f.pass.window().0 > now);
                if better {
                    found = Some(held);
                }
            }
        }
        Ok(found)
    }

    /// Deletes the held passes of `group` (withdrawn by the server).
    pub fn forget(&self, group: &str) -> Result<()> {
        let dir = self.group_dir(group)?;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                fsutil::durable_remove(&entry.path())?;
            }
        }
        Ok(())
    }
}

/// A stored pass; `None` for a file that is not one (left alone).
fn read_pass(path: &Path) -> Result<Option<HeldPass>> {
    fsutil::check_private_file(path, "a membership pass")?;
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_PASS_FILE {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(Exit::IoErr, format!("cannot read {}: {e}", path.display())))?;
    let Ok(blocks) = pem_blocks(&text) else {
        return Ok(None);
    };
    let Some((_, der)) = blocks.iter().find(|(label, _)| label == PASS_LABEL) else {
        return Ok(None);
    };
    let Ok(pass) = Pass::from_der(der) else {
        return Ok(None);
    };
    Ok(Some(HeldPass {
        pass,
        key_pem: text,
        path: path.to_owned(),
    }))
}

/// Asks `group`'s servers for a pass as the member `member_cert` with
/// `member_key`: the issuing key of the period containing `now` (fetched
/// with no identity), a fresh pass key, the blinded message, the signed
/// issuance call, and the pass unblinded and checked.
pub fn fetch_pass(
    group: &JoinedGroup,
    member_cert: &x509_cert::Certificate,
    member_key: &RsaPrivateKey,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<(Pass, RsaPrivateKey, ServerUrl)> {
    let client = ReleaseClient::new(group.ca_pem.as_deref(), DEFAULT_TIMEOUT)?;
    let lookup = serde_json::to_vec(&PassKeyRequest::new(&group.name))
        .map_err(|e| fail(Exit::Software, format!("cannot encode the request: {e}")))?;
    let (body, _) = post_with_failover(
        &client,
        &group.servers,
        "pass key lookup",
        &group.name,
        PASS_KEY_PATH,
        &mut || Ok(lookup.clone()),
        &|body| parse_pass_keys(body).map(|_| ()),
        &mut None,
    )?;
    let keys = parse_pass_keys(&body)?;
    // The period containing now, or (a clock a little behind the server's,
    // at a boundary) the one beginning within the allowed skew.
    let (period, published) = [now, now.saturating_add(MAX_CLOCK_SKEW)]
        .into_iter()
        .find_map(|t| {
            let period = Period::containing(t, keys.lifetime).ok()?;
            let key = keys
                .keys
                .iter()
                .find(|k| k.not_before == period.start() && k.not_after == period.end())?;
            Some((period, key))
        })
        .ok_or_else(|| {
            fail(
                Exit::DataErr,
                format!(
                    "the server of group {} publishes no issuing key for the current period",
                    group.name
                ),
            )
        })?;
    let issuer =
        IssuerPublicKey::from_pkcs1_der(&published.public_key).map_err(|e| e.into_error())?;
    if hex::encode(issuer.id()) != published.key_id {
        return Err(fail(
            Exit::DataErr,
            "the server's issuing key does not match its id",
        ));
    }
    let pass_key = pass::generate_pass_key(rng)?;
    let request = PassRequest::new(rng, &group.name, &issuer, period, pass_key.as_ref())
        .map_err(|e| e.into_error())?;
    let payload = PassPayload {
        key_id: published.key_id.clone(),
        blinded: request.blinded().to_vec(),
    };
    let (answer, server): (PassAnswer, ServerUrl) =
        super::call(group, Op::Pass, &payload, member_cert, member_key, now, rng)?;
    let pass = request
        .finish(&issuer, &answer.blind_signature)
        .map_err(|e| {
            fail(
                Exit::DataErr,
                format!("{server} answered with no valid pass: {e}"),
            )
        })?;
    Ok((pass, pass_key, server))
}

fn parse_pass_keys(body: &[u8]) -> Result<PassKeyAnswer> {
    serde_json::from_slice(body).map_err(|e| anyhow::anyhow!("bad answer: {e}"))
}

/// How a release with a pass ended, when it did not give the key.
pub enum PassRefusal {
    /// `pass_expired`: the pass was withdrawn or its period is over.
    Withdrawn,
    /// `not_anonymous`: the group releases to identities again.
    NotAnonymous,
}

/// Asks `group`'s servers for the content key in the message's entry at
/// `index` with the pass `held` (its key `pass_key`), and unwraps the
/// answer; the entry for `release` is re-wrapped to `member_cert` here.
/// `Ok(Err(_))` is a refusal the caller reacts to.
#[allow(clippy::too_many_arguments)]
pub fn obtain_with_pass(
    envelope: &Envelope,
    index: usize,
    group: &JoinedGroup,
    held: &Pass,
    pass_key: &RsaPrivateKey,
    member_cert: &x509_cert::Certificate,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<std::result::Result<(ContentKey, Released), PassRefusal>> {
    let entry = envelope.recipient_info_der(index)?;
    let client = ReleaseClient::new(group.ca_pem.as_deref(), DEFAULT_TIMEOUT)?;
    let mut refusal = None;
    let outcome = post_with_failover(
        &client,
        &group.servers,
        "key release with a membership pass",
        &group.name,
        PASS_RELEASE_PATH,
        &mut || {
            let mut nonce = [0u8; NONCE_LEN];
            rng.fill_bytes(&mut nonce);
            let mut request = PassReleaseRequest {
                group: group.name.clone(),
                recipient_info: entry.clone(),
                pass: held.to_der().to_vec(),
                timestamp: now,
                nonce,
                signature: Vec::new(),
            };
            request.signature = sign(pass_key, &request.signed_bytes(), &mut *rng)?;
            Ok(request.to_json())
        },
        &|body| {
            ReleaseGrant::from_json(body)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("bad answer: {e}"))
        },
        &mut refusal,
    );
    let (body, server) = match (outcome, refusal) {
        (Ok(answer), _) => answer,
        (Err(_), Some(RefusalCode::PassExpired)) => return Ok(Err(PassRefusal::Withdrawn)),
        (Err(_), Some(RefusalCode::NotAnonymous)) => return Ok(Err(PassRefusal::NotAnonymous)),
        (Err(e), _) => return Err(e),
    };
    let grant = ReleaseGrant::from_json(&body)
        .map_err(|e| fail(Exit::Software, format!("{server}: bad answer: {e}")))?;
    let granted = super::granted_entry(&grant.recipient_info, &server)?;
    let content_key = envelope
        .unwrap_granted_to_key(&granted, &held.id(), pass_key, rng)
        .map_err(|e| super::does_not_open(&server, &e))?;
    let own_entry = wrap_for(member_cert, content_key.bytes())?;
    let granted = RecipientInfo::from_der(&own_entry)
        .map_err(|_| fail(Exit::Software, "cannot re-wrap the content key"))?;
    Ok(Ok((
        content_key,
        Released {
            granted,
            server,
            key_hash: grant.key_hash,
        },
    )))
}

/// The one-line error for a group whose passes keep being withdrawn.
pub fn withdrawn_again(group: &str) -> anyhow::Error {
    fail_hint(
        Exit::NoPerm,
        format!("the server of group {group} refused a membership pass it had just issued"),
        format!("check your membership with the list's operator; then `sealpost group pass fetch {group}`"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::pass::Issuer;
    use rand_core::OsRng;

    /// A pass for the period of `lifetime` containing `at`, and its key.
    fn pass_at(issuer: &Issuer, key: &RsaPrivateKey, at: u64, lifetime: u64) -> Pass {
        let period = Period::containing(at, lifetime).unwrap();
        let request =
            PassRequest::new(&mut OsRng, "list", issuer.public(), period, key.as_ref()).unwrap();
        let signature = issuer.issue(request.blinded()).unwrap();
        request.finish(issuer.public(), &signature).unwrap()
    }

    #[test]
    fn the_pass_valid_now_is_found_and_ended_ones_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = PassStore::new(dir.path());
        let issuer = Issuer::new(&pass::generate_pass_key(&mut OsRng).unwrap()).unwrap();
        let key = pass::generate_pass_key(&mut OsRng).unwrap();
        let hour = 3600;
        let now = 1_800_000_000 - 1_800_000_000 % hour + hour - 60; // a minute before a boundary
        assert!(store.current("list", now).unwrap().is_none());
        let this = pass_at(&issuer, &key, now, hour);
        let next = pass_at(&issuer, &key, now + hour, hour);
        let old = pass_at(&issuer, &key, now - hour, hour);
        for p in [&this, &next, &old] {
            store.save(p, &key, None).unwrap();
        }
        let found = store.current("list", now).unwrap().unwrap();
        assert_eq!(found.pass.window(), this.window());
        assert!(!found.sealed());
        assert_eq!(found.key(None).unwrap(), key);
        let file = dir
            .path()
            .join(format!("passes/list/{}.pem", old.window().0));
        assert!(!file.exists(), "the ended pass is deleted");
        // Past the boundary by the clock, the next one; a minute before it,
        // with this one gone (withdrawn), the next one too: a clock behind
        // the server's by less than the allowed skew.
        assert_eq!(
            store
                .current("list", now + 120)
                .unwrap()
                .unwrap()
                .pass
                .window(),
            next.window()
        );
        let this_file = dir
            .path()
            .join(format!("passes/list/{}.pem", this.window().0));
        assert!(!this_file.exists());
        assert_eq!(
            store.current("list", now).unwrap().unwrap().pass.window(),
            next.window()
        );
        // A pass beginning beyond the skew is not offered.
        assert!(store.current("list", now - 2 * hour).unwrap().is_none());
        // Sealed under a passphrase, it needs it.
        store.forget("list").unwrap();
        store.save(&this, &key, Some("pw")).unwrap();
        let held = store.current("list", now).unwrap().unwrap();
        assert!(held.sealed());
        assert!(held.key(Some("wrong")).is_err());
        assert_eq!(held.key(Some("pw")).unwrap(), key);
    }
}
