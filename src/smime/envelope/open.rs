//! Opening envelopes: parsing, describing recipients, matching our keys,
//! unwrapping the content key and decrypting.

use std::fmt;

use anyhow::Result;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, KekRecipientInfo, RecipientIdentifier, RecipientInfo,
};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use rand_core::CryptoRngCore;
use rsa::RsaPrivateKey;

use crate::smime::privkey::PrivateKey;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use super::ber;
use super::content::{self, ContentCipher, ContentKey};
use super::kari::{kari_entry_for, unwrap_kari};
use super::oids;
use super::received::{ReceivedAuthEnvelopedData, ReceivedEnvelopedData};
use super::recipient::{
    check_ktri_version, rid_matches, unwrap_ktri, RecipientKind, RecipientSummary,
};
use crate::error::{fail, Exit};

/// id-signedData, only to tell the user what they have.
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");

/// Which CMS structure carried the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnvelopeKind {
    /// `EnvelopedData` (RFC 5652 §6): CBC ciphers, no integrity protection.
    Enveloped,
    /// `AuthEnvelopedData` (RFC 5083): AES-GCM.
    AuthEnveloped,
}

impl fmt::Display for EnvelopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Enveloped => "envelopeddata",
            Self::AuthEnveloped => "authenvelopeddata",
        })
    }
}

/// One of our own identities: a certificate and its private key. The
/// caller guarantees they belong together.
#[derive(Clone, Copy)]
pub struct OwnKey<'a> {
    /// Our certificate, matched against recipient identifiers.
    pub cert: &'a Certificate,
    /// Its private key.
    pub key: &'a PrivateKey,
}

impl fmt::Debug for OwnKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnKey")
            .field("subject", &self.cert.tbs_certificate.subject.to_string())
            .finish_non_exhaustive()
    }
}

/// A recipient entry of the message that names one of our keys.
#[derive(Clone, Copy, Debug)]
pub struct KeyMatch<'a> {
    /// Index of the entry in [`Envelope::recipient_infos`].
    pub recipient: usize,
    /// The key it names.
    pub own: OwnKey<'a>,
}

/// A parsed `EnvelopedData` or `AuthEnvelopedData` message.
#[derive(Clone, Debug)]
pub struct Envelope {
    kind: EnvelopeKind,
    recipients: Vec<RecipientInfo>,
    content: EncryptedContentInfo,
    mac: Option<OctetString>,
    /// DER of the authenticated attributes as a SET OF (RFC 5083 §2.2); empty if none.
    aad: Vec<u8>,
}

fn malformed(what: &str, err: impl fmt::Display) -> anyhow::Error {
    fail(Exit::DataErr, format!("malformed {what}: {err}"))
}

impl Envelope {
    /// Parses a `ContentInfo` in DER or BER (e.g. `openssl cms -encrypt
    /// -stream`) holding `EnvelopedData` or `AuthEnvelopedData`.
    pub fn parse(input: &[u8]) -> Result<Self> {
        let der = ber::to_der(input)?;
        let info = ContentInfo::from_der(&der).map_err(|e| malformed("cms message", e))?;
        match info.content_type {
            oids::ID_ENVELOPED_DATA => {
                let ed: ReceivedEnvelopedData = info
                    .content
                    .decode_as()
                    .map_err(|e| malformed("envelopeddata", e))?;
                Ok(Self {
                    kind: EnvelopeKind::Enveloped,
                    recipients: ed.recip_infos.0,
                    content: ed.encrypted_content,
                    mac: None,
                    aad: Vec::new(),
                })
            }
            oids::ID_AUTH_ENVELOPED_DATA => {
                let aed: ReceivedAuthEnvelopedData = info
                    .content
                    .decode_as()
                    .map_err(|e| malformed("authenvelopeddata", e))?;
                if aed.version != CmsVersion::V0 {
                    return Err(fail(
                        Exit::DataErr,
                        format!(
                            "unsupported authenvelopeddata version {}",
                            aed.version as u8
                        ),
                    ));
                }
                let aad = match &aed.auth_attrs {
                    Some(attrs) => attrs
                        .to_der()
                        .map_err(|e| malformed("authenticated attributes", e))?,
                    None => Vec::new(),
                };
                Ok(Self {
                    kind: EnvelopeKind::AuthEnveloped,
                    recipients: aed.recip_infos.0,
                    content: aed.auth_encrypted_content,
                    mac: Some(aed.mac),
                    aad,
                })
            }
            ID_SIGNED_DATA => Err(fail(Exit::DataErr, "the message is signed, not encrypted")),
            other => Err(fail(
                Exit::DataErr,
                format!(
                    "not an encrypted message (content type {})",
                    oids::name(&other)
                ),
            )),
        }
    }

    /// `EnvelopedData` or `AuthEnvelopedData`.
    pub fn kind(&self) -> EnvelopeKind {
        self.kind
    }

    /// The content cipher, or a `DataErr` if it is unsupported or does not
    /// fit the envelope kind (CBC in `AuthEnvelopedData`, GCM in `EnvelopedData`).
    pub fn cipher(&self) -> Result<ContentCipher> {
        let oid = &self.content.content_enc_alg.oid;
        let cipher = ContentCipher::from_oid(oid).ok_or_else(|| {
            fail(
                Exit::DataErr,
                format!(
                    "unsupported content encryption algorithm {}",
                    oids::name(oid)
                ),
            )
        })?;
        if cipher.is_authenticated() != (self.kind == EnvelopeKind::AuthEnveloped) {
            return Err(fail(
                Exit::DataErr,
                format!("{cipher} is not allowed in {}", self.kind),
            ));
        }
        Ok(cipher)
    }

    /// The content encryption algorithm's name (e.g. `aes-256-gcm`), or its
    /// OID when unsupported; for display.
    pub fn content_algorithm(&self) -> String {
        let oid = &self.content.content_enc_alg.oid;
        ContentCipher::from_oid(oid)
            .map(|c| c.name().to_owned())
            .unwrap_or_else(|| oids::name(oid))
    }

    /// The type of the encrypted content (id-data for S/MIME).
    pub fn content_type(&self) -> ObjectIdentifier {
        self.content.content_type
    }

    /// The raw recipient entries, in DER order.
    pub fn recipient_infos(&self) -> &[RecipientInfo] {
        &self.recipients
    }

    /// A description of every recipient entry, in DER order.
    pub fn recipients(&self) -> Vec<RecipientSummary> {
        self.recipients.iter().map(RecipientSummary::of).collect()
    }

    /// The first key-transport or key-agreement entry that names one of
    /// `keys` (by issuer and serial number, or by subject key identifier),
    /// or `None`.
    ///
    /// This is the seam for other key sources: when it returns `None`, a
    /// caller may obtain the content key elsewhere and go on with
    /// [`Envelope::decrypt`].
    pub fn find_key<'a>(&self, keys: &[OwnKey<'a>]) -> Option<KeyMatch<'a>> {
        self.recipients
            .iter()
            .enumerate()
            .find_map(|(recipient, ri)| match ri {
                RecipientInfo::Ktri(k) => keys
                    .iter()
                    .find(|own| rid_matches(&k.rid, own.cert))
                    .map(|own| KeyMatch {
                        recipient,
                        own: *own,
                    }),
                RecipientInfo::Kari(k) => keys
                    .iter()
                    .find(|own| kari_entry_for(k, own.cert).is_some())
                    .map(|own| KeyMatch {
                        recipient,
                        own: *own,
                    }),
                _ => None,
            })
    }

    /// The index of the first key-transport or key-agreement entry naming
    /// `cert`, if any.
    /// Lets a caller find *which* of its certificates the message is for
    /// before unlocking any private key (each unlock costs a passphrase KDF).
    pub fn recipient_for(&self, cert: &Certificate) -> Option<usize> {
        self.recipients.iter().position(|ri| match ri {
            RecipientInfo::Ktri(k) => rid_matches(&k.rid, cert),
            RecipientInfo::Kari(k) => kari_entry_for(k, cert).is_some(),
            _ => false,
        })
    }

    /// The key-encryption-key entries (`KEKRecipientInfo`) with their index:
    /// group secrets, key deposits, or keys shared by other means.
    pub fn kek_entries(&self) -> impl Iterator<Item = (usize, &KekRecipientInfo)> {
        self.recipients
            .iter()
            .enumerate()
            .filter_map(|(i, ri)| match ri {
                RecipientInfo::Kekri(k) => Some((i, k)),
                _ => None,
            })
    }

    /// Recovers the content key from the KEK entry at `index` with `kek`.
    pub fn unwrap_kek(&self, index: usize, kek: &[u8]) -> Result<ContentKey> {
        let Some(RecipientInfo::Kekri(kekri)) = self.recipients.get(index) else {
            return Err(fail(
                Exit::Software,
                "no key-encryption-key entry at that index",
            ));
        };
        super::kek::unwrap_kekri(kekri, kek, self.cipher()?)
    }

    /// The DER of the recipient entry at `index`: what a key release request
    /// carries to the group server.
    pub fn recipient_info_der(&self, index: usize) -> Result<Vec<u8>> {
        let ri = self
            .recipients
            .get(index)
            .ok_or_else(|| fail(Exit::Software, "no recipient entry at that index"))?;
        ri.to_der().map_err(|e| malformed("recipient info", e))
    }

    /// Recovers the content key from a key-transport entry obtained
    /// elsewhere (a group server's release grant) that names `cert`, with
    /// its private `key`. The entry is checked like one of the message's own.
    pub fn unwrap_granted(
        &self,
        granted: &RecipientInfo,
        cert: &Certificate,
        key: &RsaPrivateKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<ContentKey> {
        self.unwrap_granted_named(
            granted,
            &|rid| rid_matches(rid, cert),
            "our certificate",
            key,
            rng,
        )
    }

    /// [`Self::unwrap_granted`] for an entry made for a bare key (a
    /// membership pass's), named by the subject key identifier `ski`.
    pub fn unwrap_granted_to_key(
        &self,
        granted: &RecipientInfo,
        ski: &[u8],
        key: &RsaPrivateKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<ContentKey> {
        let names_ski = |rid: &RecipientIdentifier| matches!(rid, RecipientIdentifier::SubjectKeyIdentifier(id) if id.0.as_bytes() == ski);
        self.unwrap_granted_named(granted, &names_ski, "our pass", key, rng)
    }

    /// A granted key-transport entry whose identifier `names` accepts
    /// (`whom` says whose, for the error), opened with `key`.
    fn unwrap_granted_named(
        &self,
        granted: &RecipientInfo,
        names: &dyn Fn(&RecipientIdentifier) -> bool,
        whom: &str,
        key: &RsaPrivateKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<ContentKey> {
        let RecipientInfo::Ktri(ktri) = granted else {
            return Err(fail(
                Exit::DataErr,
                "the release answer is not a key transport entry",
            ));
        };
        if !names(&ktri.rid) {
            return Err(fail(
                Exit::DataErr,
                format!("the release answer is not addressed to {whom}"),
            ));
        }
        let cipher = self.cipher()?;
        check_ktri_version(ktri)?;
        unwrap_ktri(ktri, key, cipher, rng)
    }

    /// The `NoUser` error for a message none of our keys opens, naming the
    /// recipients it is for.
    pub fn no_key_error(&self) -> anyhow::Error {
        self.no_key_error_naming(&|_| None)
    }

    /// As [`Self::no_key_error`], naming a recipient entry by `name(index)`
    /// where the caller knows whose certificate it is (an address reads
    /// better than an issuer and a serial number).
    pub fn no_key_error_naming(&self, name: &dyn Fn(usize) -> Option<String>) -> anyhow::Error {
        let names: Vec<String> = self
            .recipients()
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                if let Some(known) = name(i) {
                    vec![known]
                } else if s.ids.is_empty() {
                    vec![format!("a {} recipient", s.kind)]
                } else if s.kind == RecipientKind::KeyTransport {
                    s.ids.iter().map(ToString::to_string).collect()
                } else {
                    // Say what kind of entry it is: a key agreement or a
                    // shared key needs another kind of key than an RSA one.
                    let how = match s.kind {
                        RecipientKind::KeyAgreement => "key agreement (ECDH)",
                        RecipientKind::Kek => "a previously shared key (KEK)",
                        _ => "another kind of entry",
                    };
                    s.ids.iter().map(|id| format!("{id} by {how}")).collect()
                }
            })
            .collect();
        fail(
            Exit::NoUser,
            format!(
                "none of the available keys can open this message; it is for: {}",
                names.join("; ")
            ),
        )
    }

    /// Recovers the content key from the matched entry with our private key.
    pub fn unwrap_key(&self, m: &KeyMatch<'_>, rng: &mut impl CryptoRngCore) -> Result<ContentKey> {
        let cipher = self.cipher()?;
        match self.recipients.get(m.recipient) {
            Some(RecipientInfo::Ktri(ktri)) => {
                check_ktri_version(ktri)?;
                unwrap_ktri(ktri, m.own.key.rsa("key transport")?, cipher, rng)
            }
            Some(RecipientInfo::Kari(kari)) => unwrap_kari(kari, m.own.cert, m.own.key, cipher),
            _ => Err(fail(
                Exit::Software,
                "key match does not point at a key transport or key agreement entry",
            )),
        }
    }

    /// Checks that `cek` can decrypt this envelope's content (supported
    /// cipher fitting the envelope kind, id-data content, a key for that
    /// cipher); returns the cipher.
    pub fn check_key(&self, cek: &ContentKey) -> Result<ContentCipher> {
        let cipher = self.cipher()?;
        if self.content.content_type != oids::ID_DATA {
            return Err(fail(
                Exit::DataErr,
                format!(
                    "unsupported encrypted content type {}",
                    oids::name(&self.content.content_type)
                ),
            ));
        }
        if cek.cipher() != cipher {
            return Err(fail(
                Exit::DataErr,
                format!(
                    "content key is for {}, the message uses {cipher}",
                    cek.cipher()
                ),
            ));
        }
        Ok(cipher)
    }

    /// The content-encryption algorithm with its parameters (IV or nonce).
    pub fn content_encryption_algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.content.content_enc_alg
    }

    /// The authentication tag (`AuthEnvelopedData` only).
    pub fn mac(&self) -> Option<&[u8]> {
        self.mac.as_ref().map(OctetString::as_bytes)
    }

    /// DER of the authenticated attributes (the GCM AAD); empty if none.
    pub fn authenticated_attributes(&self) -> &[u8] {
        &self.aad
    }

    /// Decrypts the content with `cek` and returns the plaintext (the MIME
    /// entity, byte for byte). For GCM the tag is verified first.
    pub fn decrypt(&self, cek: &ContentKey) -> Result<Vec<u8>> {
        self.check_key(cek)?;
        let ciphertext = self.content.encrypted_content.as_ref().ok_or_else(|| {
            fail(
                Exit::DataErr,
                "the message has no encrypted content (detached content is not supported)",
            )
        })?;
        content::decrypt(
            cek,
            &self.content.content_enc_alg,
            ciphertext.as_bytes(),
            self.mac.as_ref().map(OctetString::as_bytes),
            &self.aad,
        )
    }

    /// Finds our key among `keys`, unwraps the content key and decrypts:
    /// [`find_key`](Self::find_key), [`unwrap_key`](Self::unwrap_key),
    /// [`decrypt`](Self::decrypt). `NoUser` if no entry names one of `keys`.
    pub fn open(&self, keys: &[OwnKey<'_>], rng: &mut impl CryptoRngCore) -> Result<Vec<u8>> {
        let m = self.find_key(keys).ok_or_else(|| self.no_key_error())?;
        let cek = self.unwrap_key(&m, rng)?;
        self.decrypt(&cek)
    }
}

/// Parses `input` (DER or BER) and opens it with one of `keys`.
pub fn open(input: &[u8], keys: &[OwnKey<'_>], rng: &mut impl CryptoRngCore) -> Result<Vec<u8>> {
    Envelope::parse(input)?.open(keys, rng)
}
