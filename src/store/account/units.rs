//! The sizes and durations settings are written in (`512M`, `30d`), with
//! their bounds and defaults.

use crate::error::{fail, Exit};

/// Smallest and largest message size limits accepted: below 1 KiB no mail
/// fits, above 1 TiB the limit means nothing.
pub const MIN_SIZE_LIMIT: u64 = 1 << 10;
pub const MAX_SIZE_LIMIT: u64 = 1 << 40;

/// A size: a number of bytes, or a number with K, M or G (powers of 1024),
/// between [`MIN_SIZE_LIMIT`] and [`MAX_SIZE_LIMIT`].
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let bad = || {
        fail(
            Exit::Usage,
            format!("invalid size {text:?}: write bytes, or a number and K, M or G, like 512M"),
        )
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(bad()),
    };
    check_size(n.checked_mul(scale).ok_or_else(bad)?)
}

pub(super) fn check_size(n: u64) -> anyhow::Result<u64> {
    if !(MIN_SIZE_LIMIT..=MAX_SIZE_LIMIT).contains(&n) {
        return Err(fail(
            Exit::Usage,
            format!("a size limit must be between 1K and 1024G, not {n} bytes"),
        ));
    }
    Ok(n)
}

/// How long sent records are kept unless configured: long enough to answer
/// "did that go out last week?", short enough not to pile up.
pub const DEFAULT_KEEP_SENT: i64 = 30 * 86400;

/// Parses a retention time: a number with a unit, `s`, `m`, `h`, `d` or `w`
/// (`90d`, `12h`); `0` alone means no time at all. Returns seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<i64> {
    let t = text.trim();
    let bad = || {
        fail(
            Exit::Usage,
            format!("invalid duration {text:?}: write a number and a unit, like 30d, 12h, 90m"),
        )
    };
    if t == "0" {
        return Ok(0);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// The default maximum size of one message: far above real mail (providers
/// cap messages at 25 to 150 MB), far below what would fill a disk by
/// surprise. Configurable per account (`max_message_size`) and per run
/// (`fetch --max-message-size`).
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 256 << 20;
