//! A group private key held in a PKCS#11 token (an HSM; SoftHSM2 in the
//! tests): found by its RFC 7512 URI ([`uri`]), logged in once with the
//! PIN, and used through sessions kept open for the server's life. The key
//! never leaves the token: sealpost refuses a key the token would let out
//! (CKA_SENSITIVE false or CKA_EXTRACTABLE true), and `--generate` makes one
//! with both set so.
//!
//! Where the key then is depends on the token: a hardware token or HSM (or
//! a module reached through p11-kit's remoting) keeps it outside this
//! process; SoftHSM2, which the tests use, is a library loaded into it, so
//! there the key is in the server's memory after all (and encrypted under
//! the PIN in its token directory at rest): it shows the protocol, not the
//! isolation.
//!
//! # The unwrap, and why no padding oracle comes back with the token
//!
//! The token is asked only for the raw RSA operation (CKM_RSA_X_509,
//! `c^d mod n`); the padding (PKCS#1 v1.5, OAEP SHA-1 or SHA-256) is removed
//! here, in constant time ([`crate::smime::envelope::unpad`]). The token's
//! own CKM_RSA_PKCS and CKM_RSA_PKCS_OAEP are not used on purpose: they
//! answer a bad padding with another return code (CKR_ENCRYPTED_DATA_INVALID
//! and friends) after another amount of work, in code sealpost cannot audit
//! for every token, which is the Bleichenbacher / Manger oracle the
//! in-memory path closed. The raw operation depends only on the ciphertext,
//! which the requester knows anyway, and fails only for a ciphertext not
//! below the modulus, which is checked here first against the public
//! modulus. What reaches the requester is then, as for a key in memory, a
//! key or the one [`super::keys::UnwrapFailed`]. A token that fails for
//! any other reason (unplugged, session lost) gives an internal error, the
//! same for every ciphertext.
//!
//! Tokens may return the raw block without its leading zero bytes (the
//! integer, not the octet string); it is put back to the modulus length
//! without a branch on the bytes.
//!
//! # Sessions
//!
//! One PKCS#11 context per module (C_Initialize once per process), one
//! login per token (login state is per application in PKCS#11, so the
//! sessions opened afterwards share it), and a few sessions per key, each
//! behind a mutex (a session is one operation at a time), taken in turn.
//! `GET /health` asks the token on one of them whether the key is still
//! there ([`TokenKey::probe`]: a search, no private operation).
//!
//! `group rotate-key` makes the next key in the same token
//! ([`TokenKey::generate`] under [`Pkcs11Uri::naming`]); the retired key
//! stays there, named by its own URI in the store, for its window.
//!
//! NOTE: the `cryptoki` crate 0.12 (Parsec's, maintained, Apache-2.0): safe
//! wrappers over the C API loaded at run time with libloading, so sealpost
//! builds and runs without any token library installed; its `AuthPin` is a
//! `secrecy` string, wiped when dropped.
//!
//! May use: [`crate::error`], [`crate::smime`] (padding removal, certificate
//! building).

pub mod uri;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as P11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::{fail, fail_hint, Exit};
pub use uri::{is_pkcs11_uri, Pkcs11Uri};

/// Where the module is looked for when neither the URI nor the command
/// line names one: SoftHSM2's, then p11-kit's proxy (Debian paths).
pub const DEFAULT_MODULES: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so",
];

/// Sessions kept per key: concurrent unwraps up to this many.
const SESSIONS: usize = 4;

/// Longest PIN read (PKCS#11 PINs are short).
pub const MAX_PIN: usize = 256;

/// Where a token's PIN comes from, asked once per token and URI.
pub type PinSource = dyn Fn(&Pkcs11Uri) -> anyhow::Result<Zeroizing<String>> + Send + Sync;

/// The environment variable a token PIN may come from (unattended use).
pub const PIN_ENV: &str = "SEALPOST_PKCS11_PIN";

/// The PIN from the URI's `pin-source` file, else from [`PIN_ENV`].
pub fn default_pin(uri: &Pkcs11Uri) -> anyhow::Result<Zeroizing<String>> {
    if let Some(path) = &uri.pin_source {
        return read_pin_file(path);
    }
    match std::env::var(PIN_ENV) {
        Ok(pin) if !pin.is_empty() => Ok(Zeroizing::new(pin)),
        _ => Err(fail_hint(
            Exit::Config,
            format!("no PIN for the token of {uri}"),
            format!(
                "add pin-source=file:/path to the URI, or give --pin-file, --pin-fd or {PIN_ENV}"
            ),
        )),
    }
}

/// The first line of a PIN file, read bounded.
pub fn read_pin_file(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    let file = std::fs::File::open(path).map_err(|e| {
        fail(
            Exit::NoInput,
            format!("cannot read the token PIN from {}: {e}", path.display()),
        )
    })?;
    pin_from_reader(file, &path.display().to_string())
}

/// The first line of at most [`MAX_PIN`] bytes from `reader`.
pub fn pin_from_reader(
    reader: impl std::io::Read,
    from: &str,
) -> anyhow::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::new());
    reader
        .take(MAX_PIN as u64 + 2)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            fail(
                Exit::IoErr,
                format!("cannot read the token PIN from {from}: {e}"),
            )
        })?;
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() || line.len() > MAX_PIN {
        return Err(fail(
            Exit::Config,
            format!("the token PIN in {from} is empty or longer than {MAX_PIN} bytes"),
        ));
    }
    let pin = std::str::from_utf8(line).map_err(|_| {
        fail(
            Exit::Config,
            format!("the token PIN in {from} is not UTF-8"),
        )
    })?;
    Ok(Zeroizing::new(pin.to_string()))
}

/// A PKCS#11 error as one short line: the function and the return code,
/// never any data.
fn p11(what: &str, e: P11Error) -> anyhow::Error {
    let exit = match &e {
        P11Error::Pkcs11(RvError::PinIncorrect | RvError::PinLocked | RvError::PinInvalid, _) => {
            Exit::NoPerm
        }
        P11Error::LibraryLoading(_) => Exit::Config,
        _ => Exit::Unavailable,
    };
    let detail = match &e {
        P11Error::Pkcs11(rv, function) => format!("{function:?} returned {rv:?}"),
        P11Error::LibraryLoading(err) => format!("cannot load the module: {err}"),
        other => format!("{other:?}"),
    };
    let detail = crate::error::single_line(&anyhow::anyhow!(detail));
    match &e {
        P11Error::Pkcs11(RvError::PinIncorrect, _) => fail_hint(
            exit,
            format!("{what}: wrong PIN ({detail})"),
            "check the PIN source: pin-source= in the URI, --pin-file, --pin-fd or SEALPOST_PKCS11_PIN",
        ),
        _ => fail(exit, format!("{what}: {detail}")),
    }
}

/// The module to load: the URI's `module-path`, else `given`, else the
/// first default that exists.
pub fn module_path(uri: &Pkcs11Uri, given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = uri.module_path.as_deref().or(given) {
        return Ok(p.to_path_buf());
    }
    DEFAULT_MODULES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| {
            fail_hint(
                Exit::Config,
                "no PKCS#11 module found",
                "name one with module-path= in the URI or --pkcs11-module (SoftHSM2: apt install softhsm2)",
            )
        })
}

/// `uri` with `module-path=` added (percent-encoded), for the store.
pub fn with_module_path(uri: &Pkcs11Uri, module: &Path) -> String {
    let mut text = uri.text.clone();
    text.push(if text.contains('?') { '&' } else { '?' });
    text.push_str("module-path=");
    text.push_str(&uri::encode(module.as_os_str().as_encoded_bytes()));
    text
}

/// The process's context for `module`, initialized once.
fn context(module: &Path) -> anyhow::Result<Pkcs11> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut map = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(c) = map.get(module) {
        return Ok(c.clone());
    }
    let what = format!("PKCS#11 module {}", module.display());
    let ctx = Pkcs11::new(module).map_err(|e| p11(&what, e))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(p11(&what, e)),
    }
    map.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// The one slot whose token the URI names.
fn find_slot(ctx: &Pkcs11, uri: &Pkcs11Uri) -> anyhow::Result<Slot> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| p11("listing the PKCS#11 slots", e))?;
    let mut found = Vec::new();
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| p11("reading a PKCS#11 token", e))?;
        let matches = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w == have.trim_end())
        };
        if matches(&uri.token, info.label())
            && matches(&uri.manufacturer, info.manufacturer_id())
            && matches(&uri.serial, info.serial_number())
            && matches(&uri.model, info.model())
        {
            found.push(slot);
        }
    }
    match found.len() {
        1 => Ok(found[0]),
        0 => Err(fail_hint(
            Exit::NoInput,
            format!("no PKCS#11 token matches {uri}"),
            "list the tokens with: pkcs11-tool --module MODULE --list-token-slots",
        )),
        n => Err(fail(
            Exit::Usage,
            format!("{n} PKCS#11 tokens match {uri}: add token= or serial= to the URI"),
        )),
    }
}

/// Opens a session on `slot` and logs the user in, unless this process
/// already is (login is per application and token).
fn logged_in_session(ctx: &Pkcs11, slot: Slot, pin: &str, rw: bool) -> anyhow::Result<Session> {
    let session = if rw {
        ctx.open_rw_session(slot)
    } else {
        ctx.open_ro_session(slot)
    }
    .map_err(|e| p11("opening a PKCS#11 session", e))?;
    let pin = AuthPin::from(pin.to_string());
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(P11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(p11("logging in to the PKCS#11 token", e)),
    }
}

/// What a search for the RSA private key the URI names matches.
fn key_template(uri: &Pkcs11Uri) -> Vec<Attribute> {
    let mut template = vec![
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(KeyType::RSA),
    ];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

/// The RSA private key the URI names, exactly one.
fn find_key(session: &Session, uri: &Pkcs11Uri) -> anyhow::Result<ObjectHandle> {
    let keys = session
        .find_objects(&key_template(uri))
        .map_err(|e| p11("searching the PKCS#11 token", e))?;
    match keys.len() {
        1 => Ok(keys[0]),
        0 => Err(fail_hint(
            Exit::NoUser,
            format!("no RSA private key in the token matches {uri}"),
            "generate one in the token with --generate, or check object= and id=",
        )),
        n => Err(fail(
            Exit::Usage,
            format!("{n} RSA private keys match {uri}: add id= to the URI"),
        )),
    }
}

/// The public half and the protection flags of a key object.
struct KeyFacts {
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    sensitive: bool,
    extractable: bool,
}

fn key_facts(session: &Session, key: ObjectHandle) -> anyhow::Result<KeyFacts> {
    let attrs = session
        .get_attributes(
            key,
            &[
                AttributeType::Modulus,
                AttributeType::PublicExponent,
                AttributeType::Sensitive,
                AttributeType::Extractable,
            ],
        )
        .map_err(|e| p11("reading the key's attributes", e))?;
    let mut facts = KeyFacts {
        modulus: Vec::new(),
        exponent: Vec::new(),
        sensitive: false,
        extractable: true,
    };
    for a in attrs {
        match a {
            Attribute::Modulus(m) => facts.modulus = m,
            Attribute::PublicExponent(e) => facts.exponent = e,
            Attribute::Sensitive(s) => facts.sensitive = s,
            Attribute::Extractable(x) => facts.extractable = x,
            _ => {}
        }
    }
    // Leading zero octets are not part of the integer.
    let first = facts.modulus.iter().position(|b| *b != 0).unwrap_or(0);
    facts.modulus.drain(..first);
    if facts.modulus.len() < 256 || facts.modulus.len() > 1024 || facts.exponent.is_empty() {
        return Err(fail(
            Exit::DataErr,
            "the token's key is no RSA key of 2048 to 8192 bits",
        ));
    }
    Ok(facts)
}

/// A group's private key in a token, with sessions kept open.
pub struct TokenKey {
    uri: String,
    key: ObjectHandle,
    /// The search that found `key` (the URI's label and id), repeated by
    /// [`TokenKey::probe`].
    template: Vec<Attribute>,
    /// Big-endian, without leading zeros: its length is the block length.
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
}

/// The token failed (not the ciphertext): an internal error.
#[derive(Debug)]
pub struct TokenFailed(pub String);

impl TokenKey {
    /// Finds the key `uri` names (through `module`), logs in with `pin`, and
    /// opens the sessions. Refuses a key the token would let out.
    pub fn open(uri: &Pkcs11Uri, module: &Path, pin: &str) -> anyhow::Result<TokenKey> {
        let ctx = context(module)?;
        let slot = find_slot(&ctx, uri)?;
        let mut sessions = Vec::with_capacity(SESSIONS);
        for _ in 0..SESSIONS {
            sessions.push(logged_in_session(&ctx, slot, pin, false)?);
        }
        let key = find_key(&sessions[0], uri)?;
        let facts = key_facts(&sessions[0], key)?;
        if !facts.sensitive || facts.extractable {
            return Err(fail_hint(
                Exit::NoPerm,
                format!("the key {uri} can leave the token (CKA_SENSITIVE false or CKA_EXTRACTABLE true)"),
                "use a key with CKA_SENSITIVE=true and CKA_EXTRACTABLE=false, or make one with --generate",
            ));
        }
        Ok(TokenKey {
            uri: uri.text.clone(),
            key,
            template: key_template(uri),
            modulus: facts.modulus,
            exponent: facts.exponent,
            sessions: sessions.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// Makes a new RSA key pair of `bits` in the token, labelled and
    /// identified as the URI says, sensitive and never extractable, and
    /// opens it.
    pub fn generate(
        uri: &Pkcs11Uri,
        module: &Path,
        pin: &str,
        bits: usize,
    ) -> anyhow::Result<TokenKey> {
        let ctx = context(module)?;
        let slot = find_slot(&ctx, uri)?;
        let session = logged_in_session(&ctx, slot, pin, true)?;
        if find_key(&session, uri).is_ok() {
            return Err(fail(
                Exit::CantCreate,
                format!(
                    "the token already holds a key matching {uri}: leave out --generate to use it"
                ),
            ));
        }
        let mut common = Vec::new();
        if let Some(label) = &uri.object {
            common.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            common.push(Attribute::Id(id.clone()));
        }
        let mut public = vec![
            Attribute::Token(true),
            Attribute::ModulusBits((bits as u64).into()),
            Attribute::PublicExponent(vec![1, 0, 1]),
            Attribute::Encrypt(true),
            Attribute::Verify(true),
        ];
        public.extend(common.iter().cloned());
        let mut private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Decrypt(true),
            Attribute::Sign(true),
        ];
        private.extend(common);
        session
            .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private)
            .map_err(|e| p11("generating the key in the PKCS#11 token", e))?;
        drop(session);
        TokenKey::open(uri, module, pin)
    }

    /// The URI the key was opened with.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The public key as the `rsa` crate's, for certificates.
    pub fn public_key(&self) -> anyhow::Result<rsa::RsaPublicKey> {
        rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&self.modulus),
            rsa::BigUint::from_bytes_be(&self.exponent),
        )
        .map_err(|e| fail(Exit::DataErr, format!("the token's public key: {e}")))
    }

    /// The modulus length in bytes: every block's length.
    pub fn modulus_len(&self) -> usize {
        self.modulus.len()
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.sessions.len();
        self.sessions[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the token still answers and still holds this key: the
    /// search that found it, run again on one of the key's sessions
    /// (C_FindObjects: no private operation, no PIN, no key material;
    /// the token reads its object store as it would for a new session),
    /// must still find the same object. For `GET /health`; the error is
    /// the operator's log line.
    pub fn probe(&self) -> Result<(), String> {
        let found = self
            .session()
            .find_objects(&self.template)
            .map_err(|e| p11(&format!("probing {}", self.uri), e).to_string())?;
        if found.contains(&self.key) {
            Ok(())
        } else {
            Err(format!("the key {} is no longer in the token", self.uri))
        }
    }

    /// A PKCS#1 v1.5 SHA-256 signature over `message`, made in the token.
    pub fn sign_sha256(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.session()
            .sign(&Mechanism::Sha256RsaPkcs, self.key, message)
            .map_err(|e| p11("signing in the PKCS#11 token", e))
    }

    /// `enc^d mod n` as a block of the modulus length, or `Ok(None)` when
    /// `enc` is no RSA ciphertext for this key (its length, or not below
    /// the modulus: public facts). Err only when the token fails.
    pub fn raw_decrypt(&self, enc: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, TokenFailed> {
        let k = self.modulus.len();
        if enc.len() != k || enc >= self.modulus.as_slice() {
            return Ok(None);
        }
        let out = self
            .session()
            .decrypt(&Mechanism::RsaX509, self.key, enc)
            .map_err(|e| {
                let e = p11(&format!("unwrapping with {}", self.uri), e);
                TokenFailed(e.to_string())
            })?;
        let out = Zeroizing::new(out);
        if out.len() > k {
            return Err(TokenFailed(format!(
                "unwrapping with {}: the token returned {} bytes for a {k}-byte key",
                self.uri,
                out.len()
            )));
        }
        Ok(Some(left_pad(&out, k)))
    }
}

/// `value` right-aligned in `k` bytes, without a branch or an index that
/// depends on its bytes (its length is the token's, data-dependent only
/// where the token strips leading zeros, so it is treated as secret too).
fn left_pad(value: &[u8], k: usize) -> Zeroizing<Vec<u8>> {
    let shift = (k - value.len()) as u64;
    let mut out = Zeroizing::new(vec![0u8; k]);
    // out[i] = value[i - shift]: every value byte is offered to every
    // position, selected where the shift matches.
    let mut padded = Zeroizing::new(vec![0u8; k]);
    padded[..value.len()].copy_from_slice(value);
    for s in 0..k as u64 {
        let this = s.ct_eq(&shift);
        for i in (s as usize)..k {
            out[i].conditional_assign(&padded[i - s as usize], this);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_pad_restores_stripped_leading_zeros() {
        assert_eq!(*left_pad(&[1, 2, 3], 5), [0, 0, 1, 2, 3]);
        assert_eq!(*left_pad(&[9, 8], 2), [9, 8]);
        assert_eq!(*left_pad(&[], 3), [0, 0, 0]);
    }
}
