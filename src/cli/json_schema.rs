//! The `--json` schema: for every command, the members of its one document,
//! in a small notation that the man page prints as it is and that the tests
//! parse to check each command's real output against (tests/support/json_document.rs
//! includes this file). It depends on nothing but `serde_json`, so that the
//! tests can compile the same source. The parser and checker are compiled
//! for tests only: the program itself prints the notation as it is.
//!
//! Notation: `{name: TYPE, …}` is an object with exactly these members (every
//! member is always present; `null` where it does not apply); `[TYPE]` an
//! array; `A | B` either; `NAME + {…}` the definition NAME with more members.
//! Types: `string`, `int`, `bool`, `null`, `time` (an RFC 3339 UTC string,
//! `2026-12-05T15:22:43Z`), and the upper-case names of [`DEFINITIONS`].

/// The schema version every document carries as `schema_version`. A minor
/// bump only adds members; a major bump removes or changes one.
pub const SCHEMA_VERSION: &str = "1.4";

/// What `--json-version` accepts: the versions this sealpost writes.
/// 1.1 added the signature verdicts (`verdict`) and the `verify`, `cert
/// trust`, `cert untrust` and `cert crl import` documents, what was learned
/// from each signer (`SIGNER`), the CRLs `--online` fetched
/// (`revocation_fetched_from`) and a certificate's `standing`; 1.2 an
/// identity's `key_algorithm` and `identities` (all the identities `key
/// generate` or `key import` made: an Ed25519 identity is two), the `key
/// csr` and `key import-cert` documents, `key_format`/`key_file` in `key
/// export`, and a signer's `signature_algorithm` (`ECDSA P-256/SHA-256`,
/// `Ed25519`); 1.3 the group server's documents `group rotate-key`, `group
/// show`, `group migrate`, `group key export` and `group key import`; 1.4
/// anonymous groups: the `group pass fetch`, `group pass show` and `group
/// set` documents, `anonymous` in `group create` and `group show` (with
/// `pass_lifetime`), `passes_withdrawn` in
/// `group remove-member`, `anonymous_groups` in `group migrate`. A script
/// written for 1.0 reads 1.4 unchanged.
pub const ACCEPTED_VERSIONS: &[&str] = &["1", "1.0", "1.1", "1.2", "1.3", "1.4"];

/// Shapes used by several commands, referred to by name.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "IDENTITY",
        "{fingerprint: string, emails: [string], subject: string, serial: string, \
         not_before: time, not_after: time, expired: bool, rsa_bits: int | null, \
         key_algorithm: string | null, passphrase_protected: bool, key_file: string}",
    ),
    (
        "CERT",
        "{fingerprint: string, emails: [string], subject: string, issuer: string, \
         serial: string, not_before: time, not_after: time, accepted: bool, \
         standing: string, usable_for_encryption: bool, problems: string | null}",
    ),
    (
        "SIGNER",
        "{fingerprint: string, emails: [string], subject: string, verified: bool, \
         certificate: string, learned: bool, capabilities_recorded: bool, \
         other_certificates: [{address: string, fingerprint: string}], \
         held_back_by: [{address: string, fingerprint: string}], \
         signature_algorithm: string | null}",
    ),
    (
        "ANCHOR",
        "{fingerprint: string, subject: string, emails: [string], not_before: time, \
         not_after: time, ca: bool}",
    ),
    ("SERVERS", "{urls: [string], dns_srv: bool}"),
    (
        "ACCOUNT",
        "{name: string, user: string, domain: string | null, smtp: SERVERS | null, \
         fetch: {protocol: string, servers: SERVERS} | null, ca_file: string | null, \
         insecure_plaintext: bool, password_file: string | null, password_stored: bool, \
         password_env: string}",
    ),
    (
        "ENTRY",
        "{id: string, state: string, account: string, mail_from: string, \
         recipients: [string], pending: [string], delivered: [string], \
         refused: [{recipient: string, reply: string}], bytes: int, queued_at: time, \
         next_attempt: time, attempts: int, last_error: string | null, \
         server_reply: string | null, server: string | null, sent_at: time | null}",
    ),
    (
        "DEPOSIT",
        "{id: string, group: string, message_id: string | null, created: time, \
         expires: time | null, server: string}",
    ),
    (
        "VERDICT",
        "{status: string, message: string, \
         trusted_by: {kind: string, anchor: string | null, anchor_source: string | null, \
         path_length: int | null} | null, \
         untrusted_reason: {code: string, message: string} | null, \
         revocation: string, revocation_fetched_from: [string], sender: string, \
         sender_address: string | null, checked_at: time}",
    ),
    (
        "MEMBER",
        "{address: string, fingerprint: string, added: time, role: string}",
    ),
    (
        "AUDIT_ROW",
        "{id: int, time: time, group: string | null, member: string | null, \
         fingerprint: string | null, key_hash: string | null, outcome: string, op: string, \
         remote: string | null, nonce: string | null}",
    ),
];

/// Every command that prints a document, by its words, with its members
/// besides `schema_version` and `command`.
pub const COMMANDS: &[(&str, &str)] = &[
    ("key generate", "identity: IDENTITY, identities: [IDENTITY]"),
    ("key import", "identity: IDENTITY, identities: [IDENTITY]"),
    ("key list", "identities: [IDENTITY]"),
    (
        "key export",
        "fingerprint: string, emails: [string], pem: string | null, der_base64: string | null, \
         key_format: string | null, key_file: string | null",
    ),
    (
        "key csr",
        "fingerprint: string, email: string, file: string",
    ),
    ("key import-cert", "identities: [IDENTITY], chain: [string]"),
    ("cert import", "certificates: [CERT + {new: bool}]"),
    (
        "cert list",
        "certificates: [CERT], anchors: [ANCHOR] | null",
    ),
    ("cert accept", "certificates: [CERT]"),
    ("cert trust", "anchors: [ANCHOR + {new: bool}]"),
    ("cert untrust", "anchors: [ANCHOR]"),
    (
        "cert crl import",
        "crls: [{fingerprint: string, issuer: string, this_update: time, \
         next_update: time | null, revoked: int, new: bool}]",
    ),
    ("cert remove", "certificates: [CERT]"),
    (
        "cert prefer",
        "certificates: [{fingerprint: string, emails: [string], aes_gcm: bool, rsa_oaep: bool}]",
    ),
    (
        "compose",
        "message: string, message_id: string, from: string, \
         recipients: {to: [string], cc: [string], bcc: [string]}, envelope: [string], bytes: int",
    ),
    (
        "encrypt",
        "envelopes: [{kind: string, mail_from: string, rcpt_to: [string], \
         content_encryption: string, key_encryption: string, \
         recipient_infos: [{address: string, fingerprint: string}], bytes: int, \
         file: string | null}], skipped: [{address: string, reason: string}], \
         content_encryptions: int, signed: bool, deposits: [DEPOSIT], \
         file: string | null, outdir: string | null, bsmtp: string | null, message: string | null",
    ),
    (
        "decrypt",
        "released: [{group: string, server: string, key_hash: string}], \
         decrypted_with: [{content_encryption: string, fingerprint: string | null, \
         emails: [string] | null}], \
         signatures: [{valid: bool, error: string | null, signer: SIGNER | null, \
         signing_time: time | null, detached: bool, verdict: VERDICT}], \
         file: string | null, content: string | null, content_base64: string | null",
    ),
    (
        "verify",
        "status: string, written: bool, \
         signatures: [{signer: SIGNER | null, \
         error: string | null, signing_time: time | null, detached: bool, verdict: VERDICT}], \
         file: string | null, content: string | null, content_base64: string | null",
    ),
    (
        "inspect",
        "messages: [{content_type: string, cms_type: string | null, \
         content_encryption: string | null, recipient_infos: [{kind: string, id: string, \
         key_encryption: string, known_as: [string], fingerprint: string | null, \
         reader: bool}], \
         certificates: [string], header_from: [string], header_to: [string], \
         header_cc: [string], header_bcc: [string], rcpt_to: [string] | null, \
         disclosed: [string], disclosed_beyond_addressees: [string], unidentified: [string]}]",
    ),
    ("account add", "account: ACCOUNT"),
    ("account list", "accounts: [ACCOUNT]"),
    ("account remove", "removed: string"),
    ("submit", "sent: [ENTRY], queued: [ENTRY], failed: [ENTRY]"),
    ("outbox list", "entries: [ENTRY]"),
    (
        "outbox flush",
        "sent: [ENTRY], queued: [ENTRY], failed: [ENTRY]",
    ),
    ("outbox drop", "dropped: ENTRY"),
    (
        "outbox prune",
        "pruned: [string], older_than_seconds: int, before: time",
    ),
    (
        "fetch",
        "accounts: [{account: string, maildir: string, error: string | null, \
         summary: {new: int, already_local: int, deleted: int, on_server: int, resynced: bool, \
         wire_bytes: int, uncompressed_bytes: int, compressed: bool, \
         exec_failed: [{file: string, reason: string}], \
         too_large: [{key: string, bytes: int}]} | null}]",
    ),
    (
        "group create",
        "group: string, email: string, fingerprint: string, not_after: time, anonymous: bool",
    ),
    (
        "group cert",
        "group: string, fingerprint: string, pem: string | null, der_base64: string | null",
    ),
    (
        "group add-member",
        "group: string, member: MEMBER, new: bool",
    ),
    (
        "group remove-member",
        "group: string, removed: [MEMBER], passes_withdrawn: bool",
    ),
    ("group members", "group: string, members: [MEMBER]"),
    (
        "group audit",
        "group: string | null, rows: [AUDIT_ROW], pruned: {deleted: int, before: time} | null",
    ),
    (
        "group migrate",
        "to: string, groups: int, members: int, secrets: int, deposits: int, audit_rows: int, \
         retired_keys: int, anonymous_groups: int",
    ),
    (
        "group rotate-key",
        "group: string, generation: int, fingerprint: string, not_after: time, \
         old_kept_until: time",
    ),
    (
        "group show",
        "group: string, email: string, created: time, members: int, \
         keys: [{generation: int, fingerprint: string, created: time, not_after: time, \
         state: string, retired_until: time | null}], anonymous: bool, pass_lifetime: int | null",
    ),
    (
        "group rotate-secret",
        "group: string, key_id: string, created: time",
    ),
    (
        "group join",
        "group: string, certificate: {fingerprint: string, emails: [string]}, \
         servers: [string], member: {fingerprint: string, emails: [string]}",
    ),
    (
        "group secret fetch",
        "group: string, server: string, \
         secrets: [{key_id: string, created: time, current: bool}], new: int",
    ),
    ("group secret list", "group: string, key_ids: [string]"),
    (
        "group pass fetch",
        "group: string, pass: {id: string, not_before: time, not_after: time}",
    ),
    (
        "group pass show",
        "group: string, pass: {id: string, not_before: time, not_after: time} | null",
    ),
    (
        "group set",
        "group: string, anonymous: bool, pass_lifetime: int",
    ),
    (
        "group key export",
        "group: string, fingerprint: string, \
         member: {address: string, fingerprint: string}, pem: string | null, file: string | null",
    ),
    (
        "group key import",
        "identity: IDENTITY, identities: [IDENTITY]",
    ),
    (
        "release",
        "released: bool, readable_by: string | null, group: string | null, \
         server: string | null, key_hash: string | null, file: string | null, \
         message: string | null, message_base64: string | null",
    ),
    (
        "revoke",
        "deposits: [{deposit_id: string, server: string, revoked: bool}]",
    ),
    (
        "explode",
        "group: string, mode: string, members: int, envelopes: int, bytes: int, \
         file: string | null, bsmtp: string | null, queued: int | null, \
         already_queued: int | null, sent: int | null, still_queued: int | null, \
         failed: int | null",
    ),
];

/// Commands that print no document, and why.
pub const EXEMPT: &[(&str, &str)] = &[
    (
        "group serve",
        "a server: it runs until stopped and logs to stderr",
    ),
    ("man", "prints documentation (roff) for people"),
    ("completions", "prints a shell script for the shell"),
];

/// The error object, the last line on stderr of a failed run with `--json`:
/// `{"schema_version": "1.3", "error": ERROR}`. `exit_name` is the name of
/// the exit status as the EXIT STATUS table gives it (e.g. `DataErr` for 65).
pub const ERROR: &str = "{message: string, hint: string | null, exit_code: int, exit_name: string}";

#[cfg(test)]
/// A parsed shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    String,
    Int,
    Bool,
    Null,
    Time,
    Array(Box<Shape>),
    Object(Vec<(String, Shape)>),
    Either(Vec<Shape>),
}

#[cfg(test)]
/// The documented shape of a command's whole document (with
/// `schema_version` and `command` first), or `None` for an unknown command.
pub fn document_shape(command: &str) -> Option<Shape> {
    let (_, members) = COMMANDS.iter().find(|(c, _)| *c == command)?;
    let mut all = vec![
        ("schema_version".to_string(), Shape::String),
        ("command".to_string(), Shape::String),
    ];
    match parse(&format!("{{{members}}}")).ok()? {
        Shape::Object(rest) => all.extend(rest),
        _ => return None,
    }
    Some(Shape::Object(all))
}

#[cfg(test)]
/// Parses a type in the notation, with [`DEFINITIONS`] resolved.
pub fn parse(text: &str) -> Result<Shape, String> {
    let mut p = Parser {
        rest: text,
        defs: Vec::new(),
    };
    for (name, def) in DEFINITIONS {
        p.rest = def;
        let shape = p.either()?;
        p.end()?;
        p.defs.push((name, shape));
    }
    p.rest = text;
    let shape = p.either()?;
    p.end()?;
    Ok(shape)
}

#[cfg(test)]
struct Parser<'a> {
    rest: &'a str,
    defs: Vec<(&'static str, Shape)>,
}

#[cfg(test)]
impl Parser<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: char) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected {token:?} at {:?}", self.rest))
        }
    }

    fn end(&mut self) -> Result<(), String> {
        self.skip_space();
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected {:?}", self.rest))
        }
    }

    fn word(&mut self) -> Result<&str, String> {
        self.skip_space();
        let len = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        if len == 0 {
            return Err(format!("expected a name at {:?}", self.rest));
        }
        let (word, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(word)
    }

    fn either(&mut self) -> Result<Shape, String> {
        let mut options = vec![self.merged()?];
        while self.eat('|') {
            options.push(self.merged()?);
        }
        Ok(if options.len() == 1 {
            options.remove(0)
        } else {
            Shape::Either(options)
        })
    }

    fn merged(&mut self) -> Result<Shape, String> {
        let mut shape = self.single()?;
        while self.eat('+') {
            match (&mut shape, self.single()?) {
                (Shape::Object(members), Shape::Object(more)) => members.extend(more),
                _ => return Err("`+` joins two objects".into()),
            }
        }
        Ok(shape)
    }

    fn single(&mut self) -> Result<Shape, String> {
        if self.eat('[') {
            let inner = self.either()?;
            self.expect(']')?;
            return Ok(Shape::Array(Box::new(inner)));
        }
        if self.eat('{') {
            let mut members = Vec::new();
            if !self.eat('}') {
                loop {
                    let name = self.word()?.to_string();
                    self.expect(':')?;
                    members.push((name, self.either()?));
                    if self.eat('}') {
                        break;
                    }
                    self.expect(',')?;
                }
            }
            return Ok(Shape::Object(members));
        }
        let word = self.word()?.to_string();
        Ok(match word.as_str() {
            "string" => Shape::String,
            "int" => Shape::Int,
            "bool" => Shape::Bool,
            "null" => Shape::Null,
            "time" => Shape::Time,
            name => self
                .defs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s.clone())
                .ok_or_else(|| format!("unknown type {name}"))?,
        })
    }
}

/// Checks `value` against `shape`: every member present, no other member,
/// the right types, times in RFC 3339 UTC. `at` names the place for errors.
#[cfg(test)]
pub fn check(value: &serde_json::Value, shape: &Shape, at: &str) -> Result<(), String> {
    use serde_json::Value;
    let wrong = || Err(format!("{at}: {value} is not {shape:?}"));
    match (shape, value) {
        (Shape::String, Value::String(_)) => Ok(()),
        (Shape::Int, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
        (Shape::Bool, Value::Bool(_)) => Ok(()),
        (Shape::Null, Value::Null) => Ok(()),
        (Shape::Time, Value::String(s)) if is_rfc3339_utc(s) => Ok(()),
        (Shape::Array(inner), Value::Array(items)) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check(item, inner, &format!("{at}[{i}]"))),
        (Shape::Object(members), Value::Object(map)) => {
            for (name, member) in members {
                let v = map
                    .get(name)
                    .ok_or_else(|| format!("{at}: no member {name:?} in {value}"))?;
                check(v, member, &format!("{at}.{name}"))?;
            }
            match map
                .keys()
                .find(|k| !members.iter().any(|(name, _)| name == *k))
            {
                Some(extra) => Err(format!("{at}: undocumented member {extra:?}")),
                None => Ok(()),
            }
        }
        (Shape::Either(options), _) => {
            let errors: Vec<String> = options
                .iter()
                .filter_map(|o| check(value, o, at).err())
                .collect();
            if errors.len() < options.len() {
                Ok(())
            } else {
                Err(errors.join("; or "))
            }
        }
        _ => wrong(),
    }
}

/// `2026-12-05T15:22:43Z`: the one time format of every document.
#[cfg(test)]
pub fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}
