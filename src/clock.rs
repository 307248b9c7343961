//! The one wall clock: seconds since the Unix epoch. Library code takes the
//! time as an argument wherever tests need it fixed; this is where callers
//! (the CLI, the server's request loop) read it.

/// Seconds since the Unix epoch: the clock is passed in so tests can pin it.
pub type UnixTime = i64;

/// The current time as [`UnixTime`]: never negative (0 on a clock set
/// before 1970), so `now() as u64` is exact where a protocol wants unsigned.
pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
