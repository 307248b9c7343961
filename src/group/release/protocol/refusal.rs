//! The refusal vocabulary of the release protocol: every [`RefusalCode`]
//! a server answers with, its HTTP status and machine-readable code, the
//! one-line explanation and exit status a client reports, whether a client
//! should try the group's next server, and the [`Refusal`] JSON body.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Exit;

/// Every way the server refuses a request: HTTP status, machine-readable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// The body could not be parsed as a release request.
    Malformed,
    /// The signature does not verify with the certificate sent.
    BadSignature,
    /// The certificate is not a current member of the group.
    NotMember,
    /// No group of that name on this server. Servers since issue 11 never
    /// send it (an unknown group is [`Self::NotMember`], so that nobody can
    /// list the groups); kept so that older servers' answers are understood.
    UnknownGroup,
    /// The RecipientInfo does not name this group's certificate.
    WrongGroup,
    /// The timestamp is too far from the server's clock.
    Stale,
    /// The nonce was already used within the skew window.
    Replay,
    /// The body exceeds [`MAX_REQUEST_BODY`](super::MAX_REQUEST_BODY).
    TooLarge,
    /// Too many requests from this member; retry after a while.
    RateLimited,
    /// The key could not be unwrapped: one answer for every cause.
    UnwrapFailed,
    /// Unknown path.
    NotFound,
    /// Wrong method for the path.
    MethodNotAllowed,
    /// A fault on the server (storage, a bug); the request may be retried.
    Internal,
    /// The server's store cannot be reached for now (a database restart);
    /// nothing was released or recorded, and `Retry-After` says when to
    /// try again (here or on another of the group's servers).
    Unavailable,
    /// The certificate is known to the group but not in the role the call
    /// needs (an exploder's for `members`/`rewrap`, a member's or sender's
    /// for `deposit`, the depositor's for `revoke`).
    NotAuthorized,
    /// The group has no group secret yet (`sealpost group rotate-secret`).
    NoSecret,
    /// No deposit with that id on this server.
    UnknownDeposit,
    /// The deposit's expiry has passed; its key is gone.
    Expired,
    /// The depositor revoked the deposit; its key is gone.
    Revoked,
    /// The message was encrypted to a group key that a rotation retired and
    /// whose keep-old window (`group rotate-key --keep-old`) has passed.
    KeyRetired,
    /// The group does not issue membership passes (it is not anonymous,
    /// or it does not exist: the same answer for both).
    NotAnonymous,
    /// The group is anonymous: its keys are released to passes only.
    PassRequired,
    /// A pass was already issued to this member for this period.
    PassIssued,
    /// The pass is malformed, forged, or for another group.
    BadPass,
    /// The pass is outside its period, or its issuing key was replaced
    /// (`group remove-member --now`): fetch a new one.
    PassExpired,
}

impl RefusalCode {
    pub const ALL: &'static [RefusalCode] = &[
        Self::Malformed,
        Self::BadSignature,
        Self::NotMember,
        Self::UnknownGroup,
        Self::WrongGroup,
        Self::Stale,
        Self::Replay,
        Self::TooLarge,
        Self::RateLimited,
        Self::UnwrapFailed,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Internal,
        Self::Unavailable,
        Self::NotAuthorized,
        Self::NoSecret,
        Self::UnknownDeposit,
        Self::Expired,
        Self::Revoked,
        Self::KeyRetired,
        Self::NotAnonymous,
        Self::PassRequired,
        Self::PassIssued,
        Self::BadPass,
        Self::PassExpired,
    ];

    /// The HTTP status. Each refusal a client can cause has its own.
    pub fn status(self) -> u16 {
        match self {
            Self::Malformed => 400,
            Self::BadSignature => 401,
            Self::NotMember => 403,
            Self::UnknownGroup => 404,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Replay => 409,
            Self::Stale => 412,
            Self::TooLarge => 413,
            Self::WrongGroup => 421,
            Self::UnwrapFailed => 422,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
            Self::NotAuthorized => 403,
            Self::NoSecret => 424,
            Self::UnknownDeposit => 404,
            Self::Expired => 410,
            Self::Revoked => 410,
            Self::KeyRetired => 410,
            Self::NotAnonymous => 404,
            Self::PassRequired => 403,
            Self::PassIssued => 409,
            Self::BadPass => 401,
            Self::PassExpired => 401,
        }
    }

    /// The machine-readable code in the JSON body and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::BadSignature => "bad_signature",
            Self::NotMember => "not_member",
            Self::UnknownGroup => "unknown_group",
            Self::WrongGroup => "wrong_group",
            Self::Stale => "stale",
            Self::Replay => "replay",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::UnwrapFailed => "unwrap_failed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::NotAuthorized => "not_authorized",
            Self::NoSecret => "no_secret",
            Self::UnknownDeposit => "unknown_deposit",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::KeyRetired => "key_retired",
            Self::NotAnonymous => "not_anonymous",
            Self::PassRequired => "pass_required",
            Self::PassIssued => "pass_issued",
            Self::BadPass => "bad_pass",
            Self::PassExpired => "pass_expired",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// A one-line explanation for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Malformed => "the request was malformed",
            Self::BadSignature => "the request's signature does not verify",
            Self::NotMember => "not a member of the group",
            Self::UnknownGroup => "no such group on the server",
            Self::WrongGroup => "the message's recipient entry is not for this group's certificate",
            Self::Stale => "the request's timestamp is too far from the server's clock",
            Self::Replay => "the request was already seen (replay)",
            Self::TooLarge => "the request is too large",
            Self::RateLimited => "too many requests; try again later",
            Self::UnwrapFailed => "the group key cannot open this message's key",
            Self::NotFound => "no such endpoint on the server",
            Self::MethodNotAllowed => "wrong method for the endpoint",
            Self::Internal => "the server failed internally",
            Self::Unavailable => "the server's store is unreachable for now; try again later",
            Self::NotAuthorized => "the certificate is not authorized for this request",
            Self::NoSecret => "the group has no group secret yet",
            Self::UnknownDeposit => "no such key deposit on the server",
            Self::Expired => "the deposited key has expired and is gone",
            Self::Revoked => {
                "the sender revoked the deposited key; nobody can read the message any more"
            }
            Self::KeyRetired => {
                "the message is encrypted to a retired group key whose keep-old time has passed"
            }
            Self::NotAnonymous => "the group does not issue membership passes",
            Self::PassRequired => {
                "the group is anonymous: its keys are released to membership passes only"
            }
            Self::PassIssued => "a membership pass was already issued to you for this period",
            Self::BadPass => "the membership pass is not valid for this group",
            Self::PassExpired => "the membership pass has expired or was withdrawn",
        }
    }

    /// The exit status a client reports for this refusal.
    pub fn exit(self) -> Exit {
        match self {
            Self::NotMember
            | Self::BadSignature
            | Self::NotAuthorized
            | Self::UnknownDeposit
            | Self::Expired
            | Self::Revoked
            | Self::KeyRetired
            | Self::BadPass => Exit::NoPerm,
            Self::NotAnonymous | Self::PassRequired => Exit::Config,
            Self::PassIssued | Self::PassExpired => Exit::TempFail,
            Self::NoSecret => Exit::Unavailable,
            Self::UnknownGroup | Self::WrongGroup | Self::NotFound | Self::MethodNotAllowed => {
                Exit::Config
            }
            Self::Stale | Self::RateLimited | Self::Internal | Self::Unavailable | Self::Replay => {
                Exit::TempFail
            }
            Self::UnwrapFailed => Exit::DataErr,
            Self::Malformed | Self::TooLarge => Exit::Software,
        }
    }

    /// Whether another server of the same group might answer differently
    /// (failover goes on) or the answer is final (every server shares the
    /// same membership and key).
    pub fn try_next_server(self) -> bool {
        matches!(
            self,
            Self::Internal
                | Self::Unavailable
                | Self::RateLimited
                | Self::NotFound
                | Self::MethodNotAllowed
                | Self::UnknownGroup
                // A server answers an unknown group as not_member (it tells
                // nobody which groups it has): another may have the group.
                | Self::NotMember
        )
    }
}

impl fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON body of a refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub error: String,
    pub message: String,
}

impl Refusal {
    pub fn new(code: RefusalCode) -> Self {
        Self {
            error: code.as_str().to_string(),
            message: code.describe().to_string(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("plain strings always serialise")
    }

    /// The code, when the server sent one we know.
    pub fn code(&self) -> Option<RefusalCode> {
        RefusalCode::parse(&self.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_statuses_are_distinct_for_client_caused_refusals() {
        let client_caused = [
            RefusalCode::Malformed,
            RefusalCode::BadSignature,
            RefusalCode::NotMember,
            RefusalCode::UnknownGroup,
            RefusalCode::WrongGroup,
            RefusalCode::Stale,
            RefusalCode::Replay,
            RefusalCode::TooLarge,
            RefusalCode::RateLimited,
            RefusalCode::UnwrapFailed,
        ];
        let mut statuses: Vec<u16> = client_caused.iter().map(|c| c.status()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        assert_eq!(statuses.len(), client_caused.len());
        for code in RefusalCode::ALL {
            assert_eq!(RefusalCode::parse(code.as_str()), Some(*code));
        }
    }
}
