//! The refusal and audit plumbing: a refusal with its cause ([`Refused`]),
//! the audit row filled in as the checks go ([`Trail`]), and the one place
//! that turns a decision into an [`Answer`], storing the row first when the
//! caller is known (see the parent module on what is stored for whom).
//!
//! May use: the store's audit row, the protocol's refusals.

use super::Service;
use crate::error::{classify, Exit};
use crate::group::release::protocol::{Refusal, RefusalCode};
use crate::group::store::{AuditRecord, RELEASED};

/// What to send back, and what happened (for the log line).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub retry_after: Option<u64>,
    /// The refusal, `None` for a release.
    pub refusal: Option<RefusalCode>,
    /// The audit row (no key material in it); written only if `audited`.
    pub row: AuditRecord,
    /// Whether the row is in the audit log (see [`service`](super) on what
    /// is stored for whom).
    pub audited: bool,
    /// Why the server failed, for an `internal` refusal; for the log only.
    pub cause: Option<String>,
}

impl Answer {
    /// The operator's log line for a refused request (`None` for an answer that
    /// is no refusal): who asked for what, and for an `internal` refusal, why
    /// the server failed. The row holds no key material, and the causes name
    /// files and operations, never key bytes.
    pub fn log_line(&self) -> Option<String> {
        let code = self.refusal?;
        let row = &self.row;
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let cause = self
            .cause
            .as_deref()
            .map(|c| format!(": {}", c.escape_debug()))
            .unwrap_or_default();
        Some(format!(
            "refused {code} group={} member={} fingerprint={} key={} from {}{}{cause}",
            or_dash(&row.group).escape_debug(),
            or_dash(&row.member_address),
            or_dash(&row.member_fingerprint),
            or_dash(&row.key_hash),
            or_dash(&row.remote),
            if self.audited { "" } else { " (not audited)" },
        ))
    }
}

/// A refusal on its way to the [`Answer`].
pub(super) struct Refused {
    code: RefusalCode,
    retry_after: Option<u64>,
    /// For [`RefusalCode::Internal`]: what failed, for the operator's log.
    cause: Option<String>,
}

impl Refused {
    /// What failed, for the operator's log (the code when no cause is kept).
    pub(super) fn into_cause(self) -> String {
        self.cause.unwrap_or_else(|| self.code.to_string())
    }

    /// A refusal that tells the client when it may try again.
    pub(super) fn retry_after(code: RefusalCode, retry_after: Option<u64>) -> Refused {
        Refused {
            code,
            retry_after,
            cause: None,
        }
    }
}

impl From<RefusalCode> for Refused {
    fn from(code: RefusalCode) -> Self {
        Refused {
            code,
            retry_after: None,
            cause: None,
        }
    }
}

/// How long a client is told to wait when the store is unreachable.
pub(super) const STORE_RETRY_AFTER: u64 = 2;

/// An internal failure, keeping its cause for the log (never for the
/// client). The causes are store and key-handling errors, which name files
/// and operations, never key bytes. A store error that means the database
/// is unreachable ([`Exit::TempFail`], see [`crate::group::store`]) is
/// [`RefusalCode::Unavailable`] instead: 503 with `Retry-After`.
///
/// NOTE: the cause is looked at as an `anyhow::Error` when it is one, so
/// that every `map_err(internal)` after a store call classifies without
/// each call site knowing about databases.
pub(super) fn internal(cause: impl std::fmt::Display + 'static) -> Refused {
    let unavailable = (&cause as &dyn std::any::Any)
        .downcast_ref::<anyhow::Error>()
        .is_some_and(|e| classify(e).0 == Exit::TempFail);
    Refused {
        code: if unavailable {
            RefusalCode::Unavailable
        } else {
            RefusalCode::Internal
        },
        retry_after: unavailable.then_some(STORE_RETRY_AFTER),
        cause: Some(cause.to_string()),
    }
}

/// The audit row being filled in, and whether it is to be stored: only
/// once the caller proved to hold the key of a certificate the group knows.
#[derive(Default)]
pub(super) struct Trail {
    pub(super) row: AuditRecord,
    pub(super) known: bool,
}

impl Trail {
    pub(super) fn new(now: u64, remote: &str, op: &str) -> Trail {
        Trail {
            row: AuditRecord {
                // The server's clock, seconds; in range until the year 2^63.
                time: i64::try_from(now).unwrap_or(i64::MAX),
                remote: Some(remote.to_string()),
                op: op.to_string(),
                ..Default::default()
            },
            known: false,
        }
    }
}

impl Service {
    /// Refuses a request that never reached [`Self::handle`] (too large, not
    /// HTTP, over the address's rate): nothing is stored for it.
    pub fn refuse(
        &self,
        code: RefusalCode,
        retry_after: Option<u64>,
        remote: &str,
        now: u64,
    ) -> Answer {
        let refused = Refused::retry_after(code, retry_after);
        self.answer(Trail::new(now, remote, ""), Err(refused))
    }

    pub(super) fn answer(&self, trail: Trail, result: Result<Vec<u8>, Refused>) -> Answer {
        let Trail { mut row, known } = trail;
        row.outcome = match &result {
            Ok(_) => RELEASED.to_string(),
            Err(r) => r.code.as_str().to_string(),
        };
        // Nothing is released without a row: a grant implies a known caller.
        let audited = known || result.is_ok();
        // The row must be durable before anything is sent, above all a key.
        let result = match (audited, result) {
            (false, result) => result,
            (true, result) => match self.audit.record(row.clone()) {
                Ok(()) => result,
                Err(e) => Err(internal(e.context("audit log"))),
            },
        };
        built(row, audited, result)
    }

    /// An answer from public data (the pass-key lookup): never audited,
    /// whoever asks and whatever the outcome.
    pub(super) fn answer_public(&self, trail: Trail, result: Result<Vec<u8>, Refused>) -> Answer {
        let mut row = trail.row;
        row.outcome = match &result {
            Ok(_) => "answered".to_string(),
            Err(r) => r.code.as_str().to_string(),
        };
        built(row, false, result)
    }
}

fn built(row: AuditRecord, audited: bool, result: Result<Vec<u8>, Refused>) -> Answer {
    {
        match result {
            Ok(body) => Answer {
                status: 200,
                body,
                retry_after: None,
                refusal: None,
                row,
                audited,
                cause: None,
            },
            Err(r) => Answer {
                status: r.code.status(),
                body: Refusal::new(r.code).to_json(),
                retry_after: r.retry_after,
                refusal: Some(r.code),
                row,
                audited,
                cause: r.cause,
            },
        }
    }
}

/// An answer body: they are all plain data.
pub(super) fn json(answer: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(answer).expect("answers are plain data")
}
