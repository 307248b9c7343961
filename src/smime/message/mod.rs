//! RFC 5322 / MIME messages: composing them, reading their recipients, and
//! taking them apart for S/MIME encryption.
//!
//! | submodule   | does                                                                 |
//! |-------------|----------------------------------------------------------------------|
//! | `address`   | [`Mailbox`]: `Name <addr>` parsing, validation and normalisation     |
//! | `compose`   | [`Compose`] → message bytes (mail-builder); headers, attachments     |
//! | `read`      | [`parse_message`]: From, To, Cc, Bcc, Subject, Date, Message-ID      |
//! | `split`     | [`split_for_encryption`]: outer headers and the inner MIME entity   |
//! | `smime`     | [`write_smime_message`]: the `application/pkcs7-mime` message        |
//!
//! # Line endings
//!
//! Everything this module writes uses CRLF. Input messages may use CRLF or
//! bare LF (Unix mbox/maildir files): [`to_crlf`] turns every LF that is not
//! already preceded by CR into CRLF, everywhere in the message, before the
//! splitter looks at it. Input that already uses CRLF throughout is copied
//! byte for byte.
//!
//! # Bcc privacy
//!
//! [`Compose`] keeps the `Bcc` header in the composed message, because the
//! next stage needs it to know who the blind recipients are. From then on it
//! never leaks: [`split_for_encryption`] drops `Bcc` (and `Resent-Bcc`) from
//! both parts, and [`write_smime_message`] writes a `Bcc` header only when
//! asked to, naming the one recipient of that copy.

mod address;
mod compose;
mod read;
mod smime;
mod split;

pub use address::{normalize_address, Mailbox, SmtpAddress};
pub use compose::{AttachSpec, Attachment, Compose, Composed, ExtraHeader};
pub use read::{parse_message, MessageInfo};
pub use smime::{smime_headers, write_smime_message, SmimeType};
pub use split::{split_for_encryption, to_crlf, HeaderField, RawMessage, Split};
