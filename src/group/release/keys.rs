//! The member's key source: the keystore's own keys, each unlocked only when
//! a message names it, and for mail to a joined group, the group secret this
//! keystore holds or the key the group server releases. This is the policy
//! of who asks the server and when; the caller supplies only what it alone
//! has ([`Caller`]: the passphrase, a place for progress lines).

use rsa::RsaPrivateKey;

use crate::error::{fail, fail_hint, Exit};
use crate::smime::certs::CertInfo;
use crate::smime::decrypt::KeySource;
use crate::smime::envelope::{ContentKey, Envelope};
use crate::store::keystore::{Identity, Keystore};

use super::joined::{JoinedGroup, Memberships};
use super::passes::{
    fetch_pass, obtain_with_pass, withdrawn_again, HeldPass, PassRefusal, PassStore,
};
use super::protocol::RefusalCode;
use super::secrets::{open_secret, SecretStore};
use super::{obtain, Released};
use crate::smime::keyref::{KeyRef, KeyRefKind};
use crate::smime::privkey::PrivateKey;

/// What only the caller can provide.
pub trait Caller {
    /// The keystore passphrase, asked for when a locked key is needed.
    fn passphrase(&self) -> anyhow::Result<&str>;
    /// A line saying what is being done (shown with `-v`).
    fn progress(&self, line: &str);
}

/// Own keys from the keystore, each unlocked only when a message names it;
/// and, for mail to a joined group, the key released by the group server.
pub struct KeystoreKeys<'a> {
    ks: &'a Keystore,
    caller: &'a dyn Caller,
    pub identities: Vec<Identity>,
    /// Forbid key release requests.
    pub offline: bool,
    /// Key releases made, for the report.
    pub released: Vec<(String, Released)>,
}

impl<'a> KeystoreKeys<'a> {
    pub fn new(ks: &'a Keystore, caller: &'a dyn Caller, offline: bool) -> anyhow::Result<Self> {
        Ok(Self {
            ks,
            caller,
            identities: ks.identities()?,
            offline,
            released: Vec::new(),
        })
    }

    /// Fails unless the keystore holds an own key to decrypt with.
    pub fn require_own_key(&self) -> anyhow::Result<()> {
        if self.identities.is_empty() {
            return Err(fail_hint(
                Exit::NoUser,
                "the keystore holds no own key to decrypt with",
                "import yours with `sealpost key import`, or create one with `sealpost key generate`",
            ));
        }
        Ok(())
    }
}

impl KeySource for KeystoreKeys<'_> {
    fn certificates(&self) -> Vec<CertInfo> {
        self.identities.iter().map(|i| i.cert.clone()).collect()
    }

    fn correspondents(&self) -> Vec<CertInfo> {
        // Only for naming whom a message is for: an unreadable store names
        // them by issuer and serial instead.
        self.ks.certificates().unwrap_or_default()
    }

    fn unlock(&mut self, fingerprint: &str) -> anyhow::Result<PrivateKey> {
        let ident = self
            .identities
            .iter()
            .find(|i| i.cert.fingerprint == fingerprint)
            .ok_or_else(|| fail(Exit::Software, "unknown identity"))?;
        let pass = if ident.encrypted {
            Some(self.caller.passphrase()?)
        } else {
            None
        };
        self.ks.unlock(ident, pass)
    }

    /// Mail to a joined group: with a group secret this keystore holds
    /// (offline), else released by the group server, for the group's own
    /// entry or a key deposit.
    fn content_key_elsewhere(&mut self, envelope: &Envelope) -> anyhow::Result<Option<ContentKey>> {
        let groups = Memberships::new(self.ks.root()).list()?;
        let joined = |name: &str| groups.iter().find(|g| g.name == name);
        let mut missing_secret = None;
        let mut deposit = None;
        for (index, kekri) in envelope.kek_entries() {
            let Some(keyref) = KeyRef::from_der(kekri.kek_id.kek_identifier.as_bytes()) else {
                continue;
            };
            let Some(group) = joined(&keyref.group) else {
                continue;
            };
            match keyref.kind {
                KeyRefKind::GroupSecret => {
                    let store = SecretStore::new(self.ks.root());
                    match store.get(&group.name, &keyref.id_hex())? {
                        Some(entry) => {
                            let secret = self.open_group_secret(group, &entry)?;
                            self.caller.progress(&format!(
                                "opened with the secret {} of group {}",
                                keyref.id_hex(),
                                group.name
                            ));
                            return envelope.unwrap_kek(index, &secret).map(Some);
                        }
                        None => missing_secret = Some((group.name.clone(), keyref.id_hex())),
                    }
                }
                KeyRefKind::Deposit => deposit = deposit.or(Some((group.clone(), index))),
            }
        }
        let group_entry = groups.iter().find_map(|g| {
            g.certs()
                .find_map(|c| envelope.recipient_for(&c.cert))
                .map(|i| (g.clone(), i))
        });
        let Some((group, index)) = group_entry.or(deposit) else {
            if let Some((group, id)) = missing_secret {
                return Err(fail_hint(
                    Exit::NoUser,
                    format!("the message is wrapped under secret {id} of group {group:?}, which this keystore does not hold"),
                    format!("fetch the group's secrets with `sealpost group secret fetch {group}`"),
                ));
            }
            return Ok(None);
        };
        if self.offline {
            let hint = match &missing_secret {
                Some((g, _)) => format!(
                    "fetch the group's secrets with `sealpost group secret fetch {g}`, or run without --offline"
                ),
                None => "run without --offline once, or `sealpost release` it while online to read it offline later".into(),
            };
            return Err(fail_hint(
                Exit::Unavailable,
                format!(
                    "the message is for group {:?}; its key must be released by the group server, and --offline forbids network requests",
                    group.name
                ),
                hint,
            ));
        }
        self.release_from_server(envelope, index, group).map(Some)
    }
}

impl KeystoreKeys<'_> {
    /// The content key of the message's entry at `index`, released by
    /// `group`'s server: to a membership pass when the group is anonymous
    /// (known from the joined record, or from the server's
    /// `pass_required`), else to the member's identity.
    fn release_from_server(
        &mut self,
        envelope: &Envelope,
        index: usize,
        mut group: JoinedGroup,
    ) -> anyhow::Result<ContentKey> {
        let now = crate::smime::certs::now() as u64;
        if group.anonymous {
            if let Some(cek) = self.release_with_pass(envelope, index, &group, now)? {
                return Ok(cek);
            }
            // The group releases to identities again.
            group.anonymous = false;
            Memberships::new(self.ks.root()).join(&group)?;
        }
        let (member, key) = self.member_of(&group)?;
        self.caller.progress(&format!(
            "asking the server of group {} to release the key",
            group.name
        ));
        let mut refusal = None;
        let outcome = obtain(
            envelope,
            index,
            &group,
            &member.cert.cert,
            &key,
            now,
            &mut rand_core::OsRng,
            &mut refusal,
        );
        match outcome {
            Ok((cek, released)) => {
                self.released.push((group.name, released));
                Ok(cek)
            }
            Err(e) if refusal == Some(RefusalCode::PassRequired) => {
                self.caller.progress(&format!(
                    "group {} is anonymous: using a membership pass",
                    group.name
                ));
                group.anonymous = true;
                Memberships::new(self.ks.root()).join(&group)?;
                self.release_with_pass(envelope, index, &group, now)?
                    .ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// A release with the current pass (fetched first when none is held,
    /// and once more when the server withdrew it); `None` when the group is
    /// not anonymous any more.
    fn release_with_pass(
        &mut self,
        envelope: &Envelope,
        index: usize,
        group: &JoinedGroup,
        now: u64,
    ) -> anyhow::Result<Option<ContentKey>> {
        let store = PassStore::new(self.ks.root());
        for attempt in 0..2 {
            let held = match store.current(&group.name, now)? {
                Some(held) => held,
                None => self.fetch_pass(group, now)?,
            };
            let passphrase = if held.sealed() {
                Some(self.caller.passphrase()?)
            } else {
                None
            };
            let pass_key = held.key(passphrase)?;
            let member = self.member_identity(group)?;
            self.caller.progress(&format!(
                "asking the server of group {} to release the key to a membership pass",
                group.name
            ));
            let outcome = obtain_with_pass(
                envelope,
                index,
                group,
                &held.pass,
                &pass_key,
                &member.cert.cert,
                now,
                &mut rand_core::OsRng,
            )?;
            match outcome {
                Ok((cek, released)) => {
                    self.released.push((group.name.clone(), released));
                    return Ok(Some(cek));
                }
                Err(PassRefusal::NotAnonymous) => return Ok(None),
                Err(PassRefusal::Withdrawn) if attempt == 0 => store.forget(&group.name)?,
                Err(PassRefusal::Withdrawn) => return Err(withdrawn_again(&group.name)),
            }
        }
        Err(withdrawn_again(&group.name))
    }

    /// Fetches a pass for `group` as its member and stores it (its key
    /// sealed as the member's own key is); marks the group anonymous.
    pub fn fetch_pass(&mut self, group: &JoinedGroup, now: u64) -> anyhow::Result<HeldPass> {
        let (member, key) = self.member_of(group)?;
        self.caller.progress(&format!(
            "fetching a membership pass for group {}",
            group.name
        ));
        let (pass, pass_key, _) =
            fetch_pass(group, &member.cert.cert, &key, now, &mut rand_core::OsRng)?;
        let passphrase = if member.encrypted {
            Some(self.caller.passphrase()?)
        } else {
            None
        };
        let store = PassStore::new(self.ks.root());
        store.save(&pass, &pass_key, passphrase)?;
        if !group.anonymous {
            let mut marked = group.clone();
            marked.anonymous = true;
            Memberships::new(self.ks.root()).join(&marked)?;
        }
        store
            .current(&group.name, now)?
            .ok_or_else(|| fail(Exit::Software, "the pass just stored is not current"))
    }

    /// The own identity recorded as `group`'s member (not unlocked).
    fn member_identity(&self, group: &JoinedGroup) -> anyhow::Result<Identity> {
        self.identities
            .iter()
            .find(|i| i.cert.fingerprint == group.member)
            .cloned()
            .ok_or_else(|| {
                fail_hint(
                    Exit::Config,
                    format!(
                        "the member identity of group {:?} is no longer in the keystore",
                        group.name
                    ),
                    "join the group again with `sealpost group join ... --as ADDR`",
                )
            })
    }

    /// The own identity recorded as `group`'s member, and its unlocked key.
    pub fn member_of(&mut self, group: &JoinedGroup) -> anyhow::Result<(Identity, RsaPrivateKey)> {
        let member = self.member_identity(group)?;
        // A group re-wraps to its members by key transport: RSA only.
        let key = self
            .unlock(&member.cert.fingerprint)?
            .into_rsa("group membership")?;
        Ok((member, key))
    }

    /// A stored group secret (an entry wrapping it to the member), unwrapped.
    fn open_group_secret(
        &mut self,
        group: &JoinedGroup,
        entry_der: &[u8],
    ) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
        let (member, key) = self.member_of(group)?;
        open_secret(entry_der, &member.cert.cert, &key)
    }
}
