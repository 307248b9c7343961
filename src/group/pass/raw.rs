//! The raw RSA operations of blind signing, on aws-lc's C API: the private
//! operation `m^d mod n` (constant-time, with aws-lc's own base blinding) and
//! the public one `s^e mod n`, both without padding. The only `unsafe` code
//! of the pass module lives here.
//!
//! NOTE: aws-lc-sys directly, because aws-lc-rs offers no raw RSA: a blind
//! signature is a private operation on an integer the member chose, which
//! every padded API (PSS, PKCS#1) would refuse or pad. `RSA_sign_raw` with
//! `RSA_NO_PADDING` is the operation aws-lc-rs's own signing ends in, so the
//! same constant-time code path runs; the `rsa` crate's would leak timing
//! on attacker input (RUSTSEC-2023-0071). The crate is pinned to the version
//! aws-lc-rs already builds, so the tree gains nothing.
//!
//! May use: aws-lc-sys only; callers check lengths before anything here runs
//! (and every function here checks them again before crossing the FFI).

use std::ptr::NonNull;

use aws_lc_sys::{
    ERR_clear_error, RSA_free, RSA_private_key_from_bytes, RSA_sign_raw, RSA_size, RSA_verify_raw,
    RSA, RSA_NO_PADDING,
};

/// An aws-lc RSA private key. Freed on drop; aws-lc wipes every allocation
/// it frees (`OPENSSL_free` cleanses), so the private values do not outlive
/// it.
pub(super) struct RawRsaKey {
    rsa: NonNull<RSA>,
    size: usize,
}

// SAFETY: aws-lc's RSA objects may be used from several threads at once for
// private and public operations: the lazily built Montgomery contexts and
// the blinding cache are guarded by the key's own lock (rsa_impl.c), which is
// what lets aws-lc-rs share its RSA key pairs across threads the same way.
// Nothing here mutates the key after construction.
unsafe impl Send for RawRsaKey {}
// SAFETY: as for Send: concurrent operations on one key are locked inside aws-lc.
unsafe impl Sync for RawRsaKey {}

impl RawRsaKey {
    /// Parses a PKCS#1 `RSAPrivateKey` DER; `None` when aws-lc refuses it
    /// (malformed, or failing `RSA_check_key`, which the parser runs).
    pub(super) fn from_pkcs1_der(der: &[u8]) -> Option<RawRsaKey> {
        // SAFETY: `der` is a valid slice for `der.len()` bytes for the whole
        // call; aws-lc copies what it keeps and returns an owned key or NULL.
        let ptr = unsafe { RSA_private_key_from_bytes(der.as_ptr(), der.len()) };
        let Some(rsa) = NonNull::new(ptr) else {
            clear_errors();
            return None;
        };
        // SAFETY: `rsa` is a valid key we own (checked non-NULL above).
        let size = unsafe { RSA_size(rsa.as_ptr()) } as usize;
        Some(RawRsaKey { rsa, size })
    }

    /// The modulus length in bytes.
    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// `input^d mod n` into `out`; false unless both are exactly the modulus
    /// length and `input < n - 1` (aws-lc's own range check).
    pub(super) fn private(&self, input: &[u8], out: &mut [u8]) -> bool {
        // SAFETY: see `raw`; RSA_sign_raw reads `input.len()` bytes and
        // writes at most `out.len()`.
        self.raw(input, out, |rsa, out_len, out, max, inp, len| unsafe {
            RSA_sign_raw(rsa, out_len, out, max, inp, len, RSA_NO_PADDING)
        })
    }

    /// `input^e mod n` into `out`, with the same length rules.
    pub(super) fn public(&self, input: &[u8], out: &mut [u8]) -> bool {
        // SAFETY: see `raw`; RSA_verify_raw reads `input.len()` bytes and
        // writes at most `out.len()`.
        self.raw(input, out, |rsa, out_len, out, max, inp, len| unsafe {
            RSA_verify_raw(rsa, out_len, out, max, inp, len, RSA_NO_PADDING)
        })
    }

    /// Runs one unpadded operation after the length checks that make the
    /// pointers valid for it: `input` and `out` both exactly [`Self::size`]
    /// bytes, and the result must fill `out` exactly.
    fn raw(
        &self,
        input: &[u8],
        out: &mut [u8],
        op: impl FnOnce(*mut RSA, *mut usize, *mut u8, usize, *const u8, usize) -> i32,
    ) -> bool {
        if input.len() != self.size || out.len() != self.size {
            return false;
        }
        let mut written = 0usize;
        let ok = op(
            self.rsa.as_ptr(),
            &mut written,
            out.as_mut_ptr(),
            out.len(),
            input.as_ptr(),
            input.len(),
        ) == 1;
        if !ok {
            clear_errors();
        }
        ok && written == self.size
    }
}

impl Drop for RawRsaKey {
    fn drop(&mut self) {
        // SAFETY: we own the key (from RSA_private_key_from_bytes) and free it
        // once; no reference to it outlives `self`.
        unsafe { RSA_free(self.rsa.as_ptr()) }
    }
}

/// Leaves this thread's aws-lc error queue empty after a refusal, so a later
/// caller (aws-lc-rs, rustls) never reads our stale error as its own.
fn clear_errors() {
    // SAFETY: no arguments; only touches this thread's error queue.
    unsafe { ERR_clear_error() }
}
