//! AES-GCM over a stream from aws-lc, through `aws-lc-sys`'s EVP interface
//! (`EVP_CIPHER_CTX` with `EVP_aes_{128,192,256}_gcm`). Owns every `unsafe`
//! block of the content ciphers and nothing else: the GCM policy (which
//! nonce and tag lengths a message may carry, the uniform failure) stays in
//! `cipher` and `content`; this module uses only `aws_lc_sys`,
//! `aws_lc_rs::init` and `crate::error`.
//!
//! NOTE: why `unsafe` here. aws-lc-rs (the safe binding of the project's one
//! native crypto library) has no streaming AEAD, and RustCrypto's streaming
//! parts on the one generation the tree keeps (ghash 0.5 / polyval 0.6: one
//! GHASH reduction per block) made streamed GCM encryption ~20 % slower
//! than before the regroup (issue #13). aws-lc's GCM (AES-NI with stitched,
//! aggregated PCLMUL GHASH) is already linked; only its EVP calls are new.
//! The rules each call keeps:
//! - the context is one non-null pointer from [`AesGcm::new`] to `Drop`, used
//!   through `&mut self` only (`Send`, so a worker thread may own it; not
//!   `Sync`);
//! - every length crosses as a `c_int` checked beforehand (pieces of at most
//!   [`PIECE`] bytes), GCM's limit is checked before the call, and every
//!   return code and output length is checked; a context that failed once
//!   (aws-lc then poisons it) is never used again;
//! - no key byte is copied on our side: aws-lc copies the key into its own
//!   schedule, which `EVP_CIPHER_CTX_free` wipes (`OPENSSL_cleanse` of the
//!   GCM state, then of the allocation);
//! - the tag comparison is aws-lc's, in constant time (`CRYPTO_memcmp` in
//!   `EVP_DecryptFinal_ex`).

use std::os::raw::c_int;
use std::ptr::{self, NonNull};

use anyhow::Result;
use aws_lc_sys as ffi;
use zeroize::Zeroizing;

use crate::error::{fail, Exit};

/// Most bytes one GCM invocation covers (NIST SP 800-38D §5.2.1.1):
/// 2^32 - 2 blocks of 16 bytes. aws-lc refuses more as well; checking first
/// keeps the refusal ours.
const MAX_LEN: u64 = ((1 << 32) - 2) * 16;
/// Longest IV accepted: far above any CMS writer's (12), and a bound on what
/// crosses into the library.
const MAX_IV_LEN: usize = 256;
/// Bytes per EVP call: well inside `c_int`, and inside aws-lc's
/// `INT_MAX - block size` check.
const PIECE: usize = 1 << 30;
/// Scratch for [`AesGcm::authenticate`]: plaintext that is computed and
/// never released.
const SCRATCH: usize = 16 * 1024;

/// `EVP_EncryptInit_ex` or `EVP_DecryptInit_ex`.
type InitFn = unsafe extern "C" fn(
    *mut ffi::EVP_CIPHER_CTX,
    *const ffi::EVP_CIPHER,
    *mut ffi::ENGINE,
    *const u8,
    *const u8,
) -> c_int;
/// `EVP_EncryptUpdate` or `EVP_DecryptUpdate`.
type UpdateFn =
    unsafe extern "C" fn(*mut ffi::EVP_CIPHER_CTX, *mut u8, *mut c_int, *const u8, c_int) -> c_int;

/// Which way the context runs; fixed when it is made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Direction {
    Seal,
    Open,
}

/// One AES-GCM encryption or decryption in progress.
pub(super) struct AesGcm {
    ctx: NonNull<ffi::EVP_CIPHER_CTX>,
    direction: Direction,
    /// Bytes through the cipher so far, against [`MAX_LEN`].
    len: u64,
    /// A call failed: aws-lc poisoned the context.
    broken: bool,
    /// Where [`AesGcm::authenticate`] puts plaintext nobody sees; wiped on drop.
    scratch: Option<Zeroizing<Vec<u8>>>,
}

fn backend(what: &str) -> anyhow::Error {
    fail(Exit::Software, format!("aes-gcm in aws-lc failed: {what}"))
}

impl AesGcm {
    /// A context for AES-128/192/256-GCM (chosen by the key's length) with
    /// `iv` (any length from 1 to 256 bytes; 12 is GCM's own) and `aad`
    /// already hashed.
    pub(super) fn new(key: &[u8], iv: &[u8], aad: &[u8], direction: Direction) -> Result<AesGcm> {
        // SAFETY: the EVP_aes_*_gcm functions return pointers to static
        // method tables and take no arguments.
        let cipher = unsafe {
            match key.len() {
                16 => ffi::EVP_aes_128_gcm(),
                24 => ffi::EVP_aes_192_gcm(),
                32 => ffi::EVP_aes_256_gcm(),
                _ => return Err(backend("the key is not 16, 24 or 32 bytes")),
            }
        };
        if iv.is_empty() || iv.len() > MAX_IV_LEN {
            return Err(backend("the iv length is out of range"));
        }
        // With a static constructor this does nothing; otherwise it sets up
        // CPU feature detection, which the EVP calls below rely on.
        aws_lc_rs::init();
        // SAFETY: allocation with no arguments; null is checked below.
        let ctx = NonNull::new(unsafe { ffi::EVP_CIPHER_CTX_new() })
            .ok_or_else(|| backend("no memory for a context"))?;
        // From here on Drop frees the context on every early return.
        let mut gcm = AesGcm {
            ctx,
            direction,
            len: 0,
            broken: false,
            scratch: None,
        };
        let init_ex: InitFn = match direction {
            Direction::Seal => ffi::EVP_EncryptInit_ex,
            Direction::Open => ffi::EVP_DecryptInit_ex,
        };
        // First the cipher alone, then (after any IV length) key and IV.
        let init = |ctx: *mut ffi::EVP_CIPHER_CTX, key_at: *const u8, iv_at: *const u8| {
            let c = if key_at.is_null() {
                cipher
            } else {
                ptr::null()
            };
            // SAFETY: `ctx` is the live context made above; `c` is a static
            // table or null (keep the one set); `key_at`, when not null, is
            // `key`, whose length is the cipher's key length (chosen by it);
            // `iv_at`, when not null, is `iv`, whose length was set just
            // before (12 is the default).
            unsafe { init_ex(ctx, c, ptr::null_mut(), key_at, iv_at) }
        };
        if init(gcm.ctx.as_ptr(), ptr::null(), ptr::null()) != 1 {
            gcm.broke();
            return Err(backend("setting up the cipher"));
        }
        if iv.len() != 12 {
            // SAFETY: the IV length control takes its value in `arg` and no
            // pointer; the length is 1..=256, checked above.
            let rc = unsafe {
                ffi::EVP_CIPHER_CTX_ctrl(
                    gcm.ctx.as_ptr(),
                    ffi::EVP_CTRL_GCM_SET_IVLEN,
                    iv.len() as c_int,
                    ptr::null_mut(),
                )
            };
            if rc != 1 {
                gcm.broke();
                return Err(backend("setting the iv length"));
            }
        }
        if init(gcm.ctx.as_ptr(), key.as_ptr(), iv.as_ptr()) != 1 {
            gcm.broke();
            return Err(backend("setting the key and iv"));
        }
        for piece in aad.chunks(PIECE) {
            // A null output makes the update hash its input as AAD.
            gcm.call(piece.as_ptr(), ptr::null_mut(), piece.len())
                .map_err(|_| backend("hashing the authenticated attributes"))?;
        }
        Ok(gcm)
    }

    /// One EVP update over `len` bytes at `input` into `out` (null: AAD);
    /// `len` is at most [`PIECE`]. Marks the context broken on failure.
    fn call(&mut self, input: *const u8, out: *mut u8, len: usize) -> Result<(), ()> {
        if self.broken || len > PIECE {
            self.broken = true;
            return Err(());
        }
        if len == 0 {
            return Ok(());
        }
        let update: UpdateFn = match self.direction {
            Direction::Seal => ffi::EVP_EncryptUpdate,
            Direction::Open => ffi::EVP_DecryptUpdate,
        };
        let mut written: c_int = 0;
        // SAFETY: the context is live and ours alone (`&mut self`); `input`
        // points to `len` readable bytes and `out` (unless null) to `len`
        // writable ones, either the same bytes (in place, which GCM allows)
        // or a separate buffer; GCM writes exactly `len` bytes, checked
        // below; `len` fits a c_int (at most PIECE).
        let rc = unsafe { update(self.ctx.as_ptr(), out, &mut written, input, len as c_int) };
        if rc != 1 || usize::try_from(written) != Ok(len) {
            self.broke();
            return Err(());
        }
        Ok(())
    }

    /// Marks the context unusable after a failed call, and drops what
    /// aws-lc queued for this thread, so no later caller reads it as its own.
    fn broke(&mut self) {
        self.broken = true;
        // SAFETY: clears the calling thread's error queue; no arguments.
        unsafe { ffi::ERR_clear_error() }
    }

    /// Counts `n` more bytes against GCM's limit, before any call.
    fn count(&mut self, n: usize) -> Result<(), ()> {
        match self.len.checked_add(n as u64) {
            Some(len) if len <= MAX_LEN && !self.broken => {
                self.len = len;
                Ok(())
            }
            _ => {
                self.broken = true;
                Err(())
            }
        }
    }

    /// Encrypts (seal) or decrypts (open) `buf` in place. Past GCM's limit,
    /// or after an earlier failure, `Err(())`: the caller names it.
    pub(super) fn update(&mut self, buf: &mut [u8]) -> Result<(), ()> {
        self.count(buf.len())?;
        for piece in buf.chunks_mut(PIECE) {
            let p = piece.as_mut_ptr();
            self.call(p, p, piece.len())?;
        }
        Ok(())
    }

    /// Opening only: runs ciphertext through the cipher for its tag alone;
    /// the plaintext goes to a private scratch buffer, wiped on drop.
    pub(super) fn authenticate(&mut self, ct: &[u8]) -> Result<(), ()> {
        if self.direction != Direction::Open {
            self.broken = true;
            return Err(());
        }
        self.count(ct.len())?;
        let mut scratch = self
            .scratch
            .take()
            .unwrap_or_else(|| Zeroizing::new(vec![0u8; SCRATCH]));
        let mut result = Ok(());
        for piece in ct.chunks(SCRATCH) {
            result = self.call(piece.as_ptr(), scratch.as_mut_ptr(), piece.len());
            if result.is_err() {
                break;
            }
        }
        self.scratch = Some(scratch);
        result
    }

    /// Sealing: the end; the 16-byte tag.
    pub(super) fn tag(mut self) -> Result<[u8; 16], ()> {
        if self.direction != Direction::Seal || self.broken {
            return Err(());
        }
        let mut tag = [0u8; 16];
        let mut written: c_int = 0;
        // SAFETY: the context is live; GCM's final writes no output (the
        // buffer is the tag array, 16 bytes, in case it did); then the tag
        // control copies 16 bytes into `tag`, which holds 16.
        let rc = unsafe {
            let done = ffi::EVP_EncryptFinal_ex(self.ctx.as_ptr(), tag.as_mut_ptr(), &mut written);
            if done == 1 && written == 0 {
                ffi::EVP_CIPHER_CTX_ctrl(
                    self.ctx.as_ptr(),
                    ffi::EVP_CTRL_GCM_GET_TAG,
                    16,
                    tag.as_mut_ptr().cast(),
                )
            } else {
                0
            }
        };
        if rc != 1 {
            self.broke();
            return Err(());
        }
        Ok(tag)
    }

    /// Opening: the end; `Ok` only if `tag` (12 to 16 bytes) is the tag of
    /// everything that went through, compared by aws-lc in constant time.
    pub(super) fn verify(mut self, tag: &[u8]) -> Result<(), ()> {
        if self.direction != Direction::Open || self.broken || !(12..=16).contains(&tag.len()) {
            return Err(());
        }
        let mut expected = [0u8; 16];
        expected[..tag.len()].copy_from_slice(tag);
        let mut written: c_int = 0;
        let mut sink = [0u8; 16];
        // SAFETY: the context is live; the tag control copies `tag.len()`
        // (12..=16) bytes from `expected`, which holds 16; GCM's final writes
        // no output (`sink` holds 16 bytes in case it did).
        let rc = unsafe {
            let set = ffi::EVP_CIPHER_CTX_ctrl(
                self.ctx.as_ptr(),
                ffi::EVP_CTRL_GCM_SET_TAG,
                tag.len() as c_int,
                expected.as_mut_ptr().cast(),
            );
            if set == 1 {
                ffi::EVP_DecryptFinal_ex(self.ctx.as_ptr(), sink.as_mut_ptr(), &mut written)
            } else {
                0
            }
        };
        if rc != 1 || written != 0 {
            self.broke();
            return Err(());
        }
        Ok(())
    }
}

// SAFETY: an EVP_CIPHER_CTX is plain heap state with no thread affinity
// (aws-lc: an object may move between threads, only not be used by two at
// once); `AesGcm` owns its context alone and uses it through `&mut self`,
// so moving it to another thread (the encrypt pipeline's workers) is sound.
// Not `Sync`: nothing is gained by sharing it.
unsafe impl Send for AesGcm {}

impl Drop for AesGcm {
    fn drop(&mut self) {
        // SAFETY: the pointer came from EVP_CIPHER_CTX_new, is not null, and
        // is freed once, here; freeing wipes the key schedule and GCM state.
        unsafe { ffi::EVP_CIPHER_CTX_free(self.ctx.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::consts::{U1, U12, U16, U60, U8};
    use aes_gcm::aead::{generic_array::ArrayLength, AeadInPlace, KeyInit};
    use aes_gcm::aes::Aes256;

    /// IVs of other lengths than 12 (GHASHed into J0, set with
    /// EVP_CTRL_GCM_SET_IVLEN) give the aes-gcm crate's output.
    #[test]
    fn any_iv_length_matches_the_aes_gcm_crate() {
        fn case<N: ArrayLength<u8>>(iv_len: usize) {
            let key = [7u8; 32];
            let iv: Vec<u8> = (0..iv_len as u8).collect();
            let aad = b"aad";
            let data: Vec<u8> = (0..100u8).collect();
            let mut expected = data.clone();
            let tag = aes_gcm::AesGcm::<Aes256, N>::new_from_slice(&key)
                .unwrap()
                .encrypt_in_place_detached(aes_gcm::Nonce::<N>::from_slice(&iv), aad, &mut expected)
                .unwrap();
            let mut g = AesGcm::new(&key, &iv, aad, Direction::Seal).unwrap();
            let mut ct = data.clone();
            g.update(&mut ct[..33]).unwrap();
            g.update(&mut ct[33..]).unwrap();
            assert_eq!(ct, expected, "iv length {iv_len}");
            assert_eq!(g.tag().unwrap()[..], tag[..], "iv length {iv_len}");
            let mut o = AesGcm::new(&key, &iv, aad, Direction::Open).unwrap();
            o.update(&mut ct).unwrap();
            assert_eq!(ct, data);
            o.verify(&tag).unwrap();
        }
        case::<U1>(1);
        case::<U8>(8);
        case::<U12>(12);
        case::<U16>(16);
        case::<U60>(60);
    }

    /// What the wrapper refuses before any call reaches aws-lc.
    #[test]
    fn refuses_before_the_library_is_called() {
        let key = [1u8; 16];
        let iv = [2u8; 12];
        assert!(AesGcm::new(&key[..15], &iv, &[], Direction::Seal).is_err());
        assert!(AesGcm::new(&key, &[], &[], Direction::Seal).is_err());
        assert!(AesGcm::new(&key, &[0u8; MAX_IV_LEN + 1], &[], Direction::Seal).is_err());

        // Past GCM's limit: refused, and the context is not used again.
        let mut g = AesGcm::new(&key, &iv, &[], Direction::Open).unwrap();
        g.len = MAX_LEN - 1;
        assert!(g.update(&mut [0u8; 2]).is_err());
        assert!(g.update(&mut [0u8; 1]).is_err());
        let mut g = AesGcm::new(&key, &iv, &[], Direction::Open).unwrap();
        g.len = MAX_LEN - 1;
        assert!(g.authenticate(&[0u8; 1]).is_ok());
        assert!(g.authenticate(&[0u8; 1]).is_err());

        // Tags outside 12..=16 bytes; a direction's call on the other one.
        let mut g = AesGcm::new(&key, &iv, &[], Direction::Seal).unwrap();
        g.update(&mut [0u8; 20]).unwrap();
        let tag = g.tag().unwrap();
        for cut in [0, 4, 8, 11] {
            let o = AesGcm::new(&key, &iv, &[], Direction::Open).unwrap();
            assert!(o.verify(&tag[..cut]).is_err(), "tag of {cut} bytes");
        }
        assert!(AesGcm::new(&key, &iv, &[], Direction::Open)
            .unwrap()
            .tag()
            .is_err());
        assert!(AesGcm::new(&key, &iv, &[], Direction::Seal)
            .unwrap()
            .verify(&tag)
            .is_err());
        assert!(AesGcm::new(&key, &iv, &[], Direction::Seal)
            .unwrap()
            .authenticate(&[0u8; 4])
            .is_err());
    }
}
