//! `sealpost decrypt`: an S/MIME message to its plaintext MIME entity.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use rsa::RsaPrivateKey;
use sealpost::error::{fail, fail_hint, Exit};
use sealpost::group::release::joined::{JoinedGroup, Memberships};
use sealpost::group::release::secrets::SecretStore;
use sealpost::group::release::{self, Released};
use sealpost::smime::certs::{self, CertInfo};
use sealpost::smime::decrypt::{self, KeySource, Opened, SignatureOutcome, Streamed};
use sealpost::smime::envelope::{ContentKey, Envelope};
use sealpost::smime::keyref::{KeyRef, KeyRefKind};
use sealpost::store::keystore::{Identity, Keystore, SignerTrust, Standing};
use serde_json::json;

use super::{printable, read_input, Ask, Context};

/// Decrypt an S/MIME message
///
/// Reads an S/MIME message (application/pkcs7-mime or x-pkcs7-mime, base64 or
/// binary), or bare CMS data (DER, BER such as `openssl cms -stream` writes,
/// or PEM), and writes the decrypted MIME entity byte for byte. Every own key
/// the keystore ever held is tried, so old mail stays readable.
///
/// An opaque signature (inside the encryption or around it) is verified and
/// removed; a multipart/signed result is verified and written as it is. The
/// signer and the result are reported on stderr (and in --json).
///
/// A good signature proves only that the key of the certificate it carries
/// signed; anyone can make a certificate naming any address. The signer is
/// called "known certificate" only when its certificate is your own or one
/// you accepted (`cert import`, `cert accept`); otherwise the report says
/// "certificate NOT verified". A new correspondent's certificate is learned
/// (shown by `cert list`) but used to encrypt only after `cert accept`, and
/// only when no other certificate names its address; the algorithms a
/// signer's software reads are recorded only for accepted certificates
/// (--no-learn to skip both).
///
/// On any failure nothing at all is written to stdout.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The message (- for stdin)
    #[arg(default_value = "-")]
    pub file: PathBuf,
    /// Fail unless the message carries a valid signature (by any certificate,
    /// verified or not: see the report, or `verified` in --json)
    #[arg(long)]
    pub require_signature: bool,
    /// Do not record the signer's certificate (as learned) and capabilities
    #[arg(long)]
    pub no_learn: bool,
    /// Write the plaintext to FILE (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE of --output if it exists
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Make no network request: a message that needs a group key release fails instead
    #[arg(long)]
    pub offline: bool,
}

/// Own keys from the keystore, each unlocked only when a message names it;
/// and, for mail to a joined group, the key released by the group server.
pub(super) struct KeystoreKeys<'a> {
    pub ks: &'a Keystore,
    pub ctx: &'a Context,
    pub identities: Vec<Identity>,
    /// Forbid key release requests.
    pub offline: bool,
    /// Key releases made, for the report.
    pub released: Vec<(String, Released)>,
}

impl<'a> KeystoreKeys<'a> {
    pub fn new(ks: &'a Keystore, ctx: &'a Context, offline: bool) -> anyhow::Result<Self> {
        Ok(Self {
            ks,
            ctx,
            identities: ks.identities()?,
            offline,
            released: Vec::new(),
        })
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

    fn unlock(&mut self, fingerprint: &str) -> anyhow::Result<RsaPrivateKey> {
        let ident = self
            .identities
            .iter()
            .find(|i| i.cert.fingerprint == fingerprint)
            .ok_or_else(|| fail(Exit::Software, "unknown identity"))?;
        let pass = if ident.encrypted {
            Some(self.ctx.passphrase(Ask::Existing)?)
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
                            self.ctx.detail(format!(
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
        let group_entry = groups
            .iter()
            .find_map(|g| envelope.recipient_for(&g.cert.cert).map(|i| (g.clone(), i)));
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
        let (member, key) = self.member_of(&group)?;
        self.ctx.detail(format!(
            "asking the server of group {} to release the key",
            group.name
        ));
        let (cek, released) = release::obtain(
            envelope,
            index,
            &group,
            &member.cert.cert,
            &key,
            unix_now(),
            &mut rand_core::OsRng,
        )?;
        self.released.push((group.name, released));
        Ok(Some(cek))
    }
}

impl KeystoreKeys<'_> {
    /// The own identity recorded as `group`'s member, and its unlocked key.
    pub fn member_of(&mut self, group: &JoinedGroup) -> anyhow::Result<(Identity, RsaPrivateKey)> {
        let member = self
            .identities
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
            })?;
        let key = self.unlock(&member.cert.fingerprint)?;
        Ok((member, key))
    }

    /// A stored group secret (an entry wrapping it to the member), unwrapped.
    fn open_group_secret(
        &mut self,
        group: &JoinedGroup,
        entry_der: &[u8],
    ) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
        let (member, key) = self.member_of(group)?;
        sealpost::group::release::secrets::open_secret(entry_der, &member.cert.cert, &key)
    }
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn run(args: DecryptArgs, ctx: &Context) -> anyhow::Result<()> {
    super::check_output_free(args.output.as_deref(), args.force)?;
    // --json without -o puts the content into the JSON: that needs it in memory.
    let input = if ctx.global.json && args.output.is_none() {
        read_input(&args.file)?
    } else {
        match open_input(&args.file)? {
            Input::Whole(data) => data,
            Input::Large(mut file) => match run_streaming(&args, ctx, &mut file)? {
                true => return Ok(()),
                false => read_whole(&mut file)?,
            },
        }
    };
    let ks = ctx.keystore()?;
    let mut keys = KeystoreKeys::new(&ks, ctx, args.offline)?;
    if keys.identities.is_empty() {
        return Err(fail_hint(
            Exit::NoUser,
            "the keystore holds no own key to decrypt with",
            "import yours with `sealpost key import`, or create one with `sealpost key generate`",
        ));
    }
    let opened = decrypt::open(&input, &mut keys, true, &mut rand_core::OsRng)?;
    let good_signature = opened.signatures.iter().any(|s| s.result.is_ok());
    if args.require_signature && !good_signature {
        let why = opened
            .signatures
            .iter()
            .find_map(|s| s.result.as_ref().err().cloned())
            .unwrap_or_else(|| "the message is not signed".into());
        return Err(fail(Exit::DataErr, format!("signature required: {why}")));
    }
    let trust = signer_trust(&ks, &opened.signatures, !args.no_learn)?;
    // Every check passed: only now does plaintext leave the process.
    if let Some(path) = &args.output {
        sealpost::store::fsutil::atomic_write(path, &opened.plaintext, 0o600)?;
    }
    if ctx.global.json {
        return ctx.print_json(
            "decrypt",
            summary(&opened, &trust, args.output.as_deref(), &keys.released),
        );
    }
    if args.output.is_none() {
        super::write_stdout(&opened.plaintext, false)?;
    }
    report(ctx, &opened, &trust, &keys.released);
    Ok(())
}

/// What the keystore says about each signature's signer (`None` for a bad
/// signature), learning from good ones when `learn`.
fn signer_trust(
    ks: &Keystore,
    signatures: &[SignatureOutcome],
    learn: bool,
) -> anyhow::Result<Vec<Option<SignerTrust>>> {
    signatures
        .iter()
        .map(|sig| match (&sig.signer, &sig.result) {
            (Some(signer), Ok(())) if learn => ks
                .learn_signer(signer, &sig.capabilities, certs::now())
                .map(Some),
            (Some(signer), Ok(())) => ks.assess_signer(signer).map(Some),
            _ => Ok(None),
        })
        .collect()
}

fn signer_text(s: &SignatureOutcome) -> String {
    match &s.signer {
        Some(c) if c.emails.is_empty() => {
            format!("{} ({})", printable(&c.subject), &c.fingerprint[..16])
        }
        Some(c) => format!(
            "{} ({})",
            printable(&c.emails.join(", ")),
            &c.fingerprint[..16]
        ),
        None => "unknown signer".into(),
    }
}

/// Reports a good signature: whose certificate it is, as far as the user
/// vouched for it, and what was learned.
fn report_good_signature(ctx: &Context, s: &SignatureOutcome, trust: &SignerTrust) {
    let who = signer_text(s);
    match trust.standing {
        Standing::Own => ctx.note(format!("good signature (your own certificate) from {who}")),
        Standing::Accepted => ctx.note(format!("good signature (known certificate) from {who}")),
        Standing::Learned | Standing::Unknown if !trust.others.is_empty() => {
            let others: Vec<String> = trust
                .others
                .iter()
                .map(|(addr, fp)| format!("{} {}", printable(addr), &fp[..16]))
                .collect();
            ctx.warn(format!(
                "good signature (certificate NOT verified) from {who}, which is NOT the certificate you have ({}); it was not learned",
                others.join(", ")
            ));
        }
        Standing::Learned | Standing::Unknown => {
            ctx.note(format!(
                "good signature (certificate NOT verified) from {who}"
            ));
            if let (Standing::Learned, Some(signer)) = (trust.standing, &s.signer) {
                ctx.note(format!(
                    "{} its certificate; to encrypt to it, check the fingerprint with its holder, then: sealpost cert accept {}",
                    if trust.learned_now { "learned" } else { "learned earlier" },
                    signer.fingerprint
                ));
            }
        }
    }
}

fn report(
    ctx: &Context,
    opened: &Opened,
    trust: &[Option<SignerTrust>],
    released: &[(String, Released)],
) {
    for (group, r) in released {
        ctx.note(format!("key of group {group} released by {}", r.server));
    }
    for (cipher, by) in &opened.decryptions {
        match by {
            Some(c) => ctx.note(format!(
                "decrypted ({cipher}) with the key of {}",
                printable(&c.emails.join(", "))
            )),
            None => ctx.note(format!("decrypted ({cipher})")),
        }
    }
    if opened.signatures.is_empty() {
        ctx.note("not signed");
    }
    for (s, trust) in opened.signatures.iter().zip(trust) {
        match (&s.result, trust) {
            (Ok(()), Some(trust)) => report_good_signature(ctx, s, trust),
            // A good signature without a certificate to show: not produced today.
            (Ok(()), None) => ctx.note("good signature (certificate NOT verified)"),
            (Err(why), _) => ctx.warn(format!("BAD signature from {}: {why}", signer_text(s))),
        }
    }
}

/// The `--json` document; the plaintext is in it unless it went to `file`.
fn summary(
    opened: &Opened,
    trust: &[Option<SignerTrust>],
    file: Option<&Path>,
    released: &[(String, Released)],
) -> serde_json::Value {
    let mut v = json!({
        "released": released.iter().map(|(group, r)| json!({
            "group": group,
            "server": r.server.to_string(),
            "key_hash": r.key_hash,
        })).collect::<Vec<_>>(),
        "decrypted_with": opened.decryptions.iter().map(|(cipher, by)| json!({
            "content_encryption": cipher.name(),
            "fingerprint": by.as_ref().map(|c| c.fingerprint.clone()),
            "emails": by.as_ref().map(|c| c.emails.clone()),
        })).collect::<Vec<_>>(),
        "signatures": opened.signatures.iter().zip(trust).map(|(s, trust)| json!({
            "valid": s.result.is_ok(),
            "error": s.result.as_ref().err(),
            "signer": s.signer.as_ref().map(|c| json!({
                "fingerprint": c.fingerprint,
                "emails": c.emails,
                "subject": c.subject,
                // Whether the certificate is own or accepted: `valid` with
                // `verified: false` means some key signed, not that the
                // address it names did.
                "verified": trust.as_ref().is_some_and(SignerTrust::verified),
                "certificate": trust.as_ref().map_or("unknown", |t| t.standing.name()),
                "learned": trust.as_ref().is_some_and(|t| t.learned_now),
                "other_certificates": trust.as_ref().map(|t| t.others.iter().map(|(addr, fp)| json!({"address": addr, "fingerprint": fp})).collect::<Vec<_>>()).unwrap_or_default(),
            })),
            "signing_time": super::json::time_opt(s.signing_time),
            "detached": s.detached,
        })).collect::<Vec<_>>(),
    });
    // The plaintext as text when it is UTF-8, else as base64: the other is null.
    let (content, content_base64) = match file {
        Some(_) => (json!(null), json!(null)),
        None => super::json::text_or_base64(&opened.plaintext),
    };
    v["file"] = json!(file);
    v["content"] = content;
    v["content_base64"] = content_base64;
    v
}

// ---------------------------------------------------------------------------
// Streaming large messages
// ---------------------------------------------------------------------------

/// Messages up to this size are decrypted in memory; larger ones stream
/// (through a temporary copy of the raw input when it comes from stdin).
const STREAM_THRESHOLD: usize = 4 << 20;

enum Input {
    Whole(Vec<u8>),
    /// A large message in a file that can be read more than once.
    Large(File),
}

fn read_err(path: &Path, e: std::io::Error) -> anyhow::Error {
    if path.as_os_str() == "-" {
        return fail(Exit::IoErr, format!("cannot read stdin: {e}"));
    }
    let exit = match e.kind() {
        std::io::ErrorKind::NotFound => Exit::NoInput,
        std::io::ErrorKind::PermissionDenied => Exit::NoPerm,
        _ => Exit::IoErr,
    };
    fail(exit, format!("cannot read {}: {e}", path.display()))
}

fn open_input(path: &Path) -> anyhow::Result<Input> {
    if path.as_os_str() != "-" {
        let file = File::open(path).map_err(|e| read_err(path, e))?;
        let meta = file.metadata().map_err(|e| read_err(path, e))?;
        if meta.is_file() && meta.len() > STREAM_THRESHOLD as u64 {
            return Ok(Input::Large(file));
        }
        return read_input(path).map(Input::Whole);
    }
    // stdin: read ahead; a large message is copied (as it came, encrypted) to
    // an unlinked temporary file, which disappears on every exit path.
    super::announce_terminal_stdin();
    let mut stdin = std::io::stdin().lock();
    let mut data = Vec::new();
    (&mut stdin)
        .take(STREAM_THRESHOLD as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| read_err(path, e))?;
    if data.len() <= STREAM_THRESHOLD {
        return Ok(Input::Whole(data));
    }
    let spool_err = |e: std::io::Error| {
        fail(
            Exit::IoErr,
            format!("cannot write the temporary copy of the message: {e}"),
        )
    };
    let mut spool = tempfile::tempfile().map_err(spool_err)?;
    spool.write_all(&data).map_err(spool_err)?;
    drop(data);
    std::io::copy(&mut stdin, &mut spool).map_err(|e| read_err(path, e))?;
    Ok(Input::Large(spool))
}

fn read_whole(file: &mut File) -> anyhow::Result<Vec<u8>> {
    let mut data = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut data))
        .map_err(|e| fail(Exit::IoErr, format!("cannot read the message: {e}")))?;
    Ok(data)
}

/// Where streamed plaintext goes: stdout, or `-o FILE` written atomically.
enum PlainOut {
    Stdout(std::io::StdoutLock<'static>),
    File(sealpost::store::fsutil::AtomicFile),
}

impl Write for PlainOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            PlainOut::Stdout(out) => out.write(buf),
            PlainOut::File(f) => {
                f.write(buf).map_err(std::io::Error::other)?;
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            PlainOut::Stdout(out) => out.flush(),
            PlainOut::File(_) => Ok(()),
        }
    }
}

/// Decrypts a large message without holding it in memory. `Ok(false)`: the
/// message is not a plain encrypted one (signed, nested, multipart/signed,
/// PEM); nothing was written and the caller takes the in-memory path.
fn run_streaming(args: &DecryptArgs, ctx: &Context, file: &mut File) -> anyhow::Result<bool> {
    let ks = ctx.keystore()?;
    let mut keys = KeystoreKeys::new(&ks, ctx, args.offline)?;
    if keys.identities.is_empty() {
        return Err(fail_hint(
            Exit::NoUser,
            "the keystore holds no own key to decrypt with",
            "import yours with `sealpost key import`, or create one with `sealpost key generate`",
        ));
    }
    let mut out = match &args.output {
        Some(path) => PlainOut::File(sealpost::store::fsutil::AtomicFile::create(path, 0o600)?),
        None => PlainOut::Stdout(std::io::stdout().lock()),
    };
    let require_signature = args.require_signature;
    let mut check = |_: &Opened| -> anyhow::Result<()> {
        // The streaming path only takes messages without signatures.
        if require_signature {
            return Err(fail(
                Exit::DataErr,
                "signature required: the message is not signed",
            ));
        }
        Ok(())
    };
    let opened = match decrypt::open_streaming(
        file,
        &mut keys,
        &mut out,
        &mut check,
        &mut rand_core::OsRng,
    )? {
        Streamed::Done(opened) => opened,
        Streamed::NotStreamable => return Ok(false),
    };
    if let PlainOut::File(f) = out {
        f.commit()?;
    }
    if ctx.global.json {
        ctx.print_json(
            "decrypt",
            summary(&opened, &[], args.output.as_deref(), &keys.released),
        )?;
        return Ok(true);
    }
    report(ctx, &opened, &[], &keys.released);
    Ok(true)
}
