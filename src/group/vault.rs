//! Symmetric secrets of the group server at rest: group secrets and the
//! key-encryption keys of deposits.
//!
//! One random 256-bit vault key per store seals them all with AES-256-GCM,
//! each under its own nonce and with its purpose (kind, group, id) as
//! associated data, so a sealed value cannot be moved to another row. The
//! vault key itself is sealed under the server passphrase with PBES2
//! (scrypt, AES-256-CBC), as the group private keys are. Per-value scrypt
//! would cost tens of milliseconds per deposit and per release; this way
//! the passphrase KDF runs once per process.

use aes_gcm::aead::{self, AeadInPlace, KeyInit};
use aes_gcm::Aes256Gcm;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::store::Store;
use crate::error::{fail, fail_hint, Exit};

const VAULT_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// A value sealed at creation, opened to check the passphrase.
const CHECK_PURPOSE: &[u8] = b"sealpost vault check";
const CHECK_VALUE: &[u8] = b"the server passphrase opens this vault";

/// The opened vault key.
pub struct Vault {
    cipher: Aes256Gcm,
}

fn wrong_passphrase() -> anyhow::Error {
    fail_hint(
        Exit::NoPerm,
        "wrong server passphrase: it does not open the group store's vault",
        "use the passphrase the group server was set up with",
    )
}

fn seal_vault_key(
    key: &[u8],
    passphrase: &str,
    rng: &mut impl CryptoRngCore,
) -> anyhow::Result<Vec<u8>> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    let scrypt = pkcs5::scrypt::Params::new(14, 8, 1, 32)
        .map_err(|e| fail(Exit::Software, format!("scrypt parameters: {e}")))?;
    let params = pkcs5::pbes2::Parameters::scrypt_aes256cbc(scrypt, &salt, &iv)
        .map_err(|e| fail(Exit::Software, format!("PBES2 parameters: {e}")))?;
    let scheme = pkcs5::EncryptionScheme::from(params);
    let ciphertext = scheme
        .encrypt(passphrase.as_bytes(), key)
        .map_err(|e| fail(Exit::Software, format!("cannot seal the vault key: {e}")))?;
    let alg = der::Encode::to_der(&scheme)
        .map_err(|e| fail(Exit::Software, format!("cannot encode the vault key: {e}")))?;
    // The scheme's DER, then the ciphertext: the scheme is self-delimiting.
    Ok([alg, ciphertext].concat())
}

fn open_vault_key(sealed: &[u8], passphrase: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let malformed = || fail(Exit::DataErr, "the group store's vault key is malformed");
    let mut reader = der::SliceReader::new(sealed).map_err(|_| malformed())?;
    let scheme: pkcs5::EncryptionScheme<'_> =
        der::Decode::decode(&mut reader).map_err(|_| malformed())?;
    let used = u32::from(der::Reader::position(&reader)) as usize;
    let key = scheme
        .decrypt(passphrase.as_bytes(), &sealed[used..])
        .map(Zeroizing::new)
        .map_err(|_| wrong_passphrase())?;
    if key.len() != VAULT_KEY_LEN {
        return Err(wrong_passphrase());
    }
    Ok(key)
}

impl Vault {
    fn from_key(key: &[u8]) -> anyhow::Result<Vault> {
        let cipher = Aes256Gcm::new_from_slice(key)
            .map_err(|_| fail(Exit::Software, "bad vault key length"))?;
        Ok(Vault { cipher })
    }

    /// Opens the store's vault with `passphrase`; `None` when it has none yet.
    pub fn open(store: &dyn Store, passphrase: &str) -> anyhow::Result<Option<Vault>> {
        let Some((sealed_key, check)) = store.vault()? else {
            return Ok(None);
        };
        let key = open_vault_key(&sealed_key, passphrase)?;
        let vault = Vault::from_key(&key)?;
        // CBC may "decrypt" under a wrong passphrase; the GCM check cannot.
        match vault.unseal(CHECK_PURPOSE, &check) {
            Ok(v) if v.as_slice() == CHECK_VALUE => Ok(Some(vault)),
            _ => Err(wrong_passphrase()),
        }
    }

    /// Opens the vault, creating it first if the store has none. Another
    /// process creating it at the same moment is fine: one of the two is
    /// stored, and both then open that one.
    pub fn open_or_create(
        store: &dyn Store,
        passphrase: &str,
        rng: &mut impl CryptoRngCore,
    ) -> anyhow::Result<Vault> {
        if let Some(v) = Vault::open(store, passphrase)? {
            return Ok(v);
        }
        let mut key = Zeroizing::new([0u8; VAULT_KEY_LEN]);
        rng.fill_bytes(&mut key[..]);
        let vault = Vault::from_key(&key[..])?;
        let check = vault.seal(CHECK_PURPOSE, CHECK_VALUE, rng)?;
        store.create_vault(&seal_vault_key(&key[..], passphrase, rng)?, &check)?;
        Vault::open(store, passphrase)?
            .ok_or_else(|| fail(Exit::Software, "the vault vanished after its creation"))
    }

    /// Seals `plaintext` for `purpose`: nonce ‖ ciphertext ‖ tag.
    pub fn seal(
        &self,
        purpose: &[u8],
        plaintext: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let mut buf = plaintext.to_vec();
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce.into(), purpose, &mut buf)
            .map_err(|_| fail(Exit::Software, "cannot seal a secret"))?;
        Ok([&nonce[..], &buf, &tag[..]].concat())
    }

    /// Opens what [`Self::seal`] sealed for the same `purpose`.
    pub fn unseal(&self, purpose: &[u8], sealed: &[u8]) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let damaged = || {
            fail(
                Exit::DataErr,
                "a sealed secret in the group store is damaged",
            )
        };
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(damaged());
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        let nonce =
            aead::Nonce::<Aes256Gcm>::from_exact_iter(nonce.iter().copied()).ok_or_else(damaged)?;
        let tag =
            aead::Tag::<Aes256Gcm>::from_exact_iter(tag.iter().copied()).ok_or_else(damaged)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        self.cipher
            .decrypt_in_place_detached(&nonce, purpose, &mut buf, &tag)
            .map_err(|_| damaged())?;
        Ok(buf)
    }
}

/// The associated data naming what a sealed value is.
pub fn purpose(kind: &str, group: &str, id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(kind.len() + group.len() + id.len() + 2);
    for (i, part) in [kind, group, id].iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::store::SqliteStore;
    use rand_core::OsRng;

    #[test]
    fn one_vault_per_store_opened_only_by_its_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("g.sqlite3")).unwrap();
        assert!(Vault::open(&store, "pw").unwrap().is_none());
        let vault = Vault::open_or_create(&store, "pw", &mut OsRng).unwrap();
        let sealed = vault
            .seal(b"deposit\0list\0a", b"secret bytes", &mut OsRng)
            .unwrap();
        // Created once: a second open_or_create opens the same vault.
        let again = Vault::open_or_create(&store, "pw", &mut OsRng).unwrap();
        assert_eq!(
            &again.unseal(b"deposit\0list\0a", &sealed).unwrap()[..],
            b"secret bytes"
        );
        // Bound to its purpose, and to the key.
        assert!(again.unseal(b"deposit\0list\0b", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(again.unseal(b"deposit\0list\0a", &flipped).is_err());
        let err = Vault::open(&store, "other").err().unwrap();
        assert_eq!(crate::error::classify(&err).0, Exit::NoPerm);
        assert!(Vault::open_or_create(&store, "other", &mut OsRng).is_err());
        assert_eq!(purpose("a", "b", "c"), b"a\0b\0c");
    }
}
