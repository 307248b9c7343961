//! Graceful shutdown of the group server on SIGTERM and SIGINT (issue 16),
//! by a self-pipe: the handler writes one byte to a pipe whose other end
//! the accept loop polls beside the listening socket.
//!
//! NOTE: a self-pipe rather than a crate (signal-hook, ctrlc): the handler
//! does one `write(2)`, which is async-signal-safe, and the accept loop
//! already waits in `poll(2)`, so the signal wakes it at once whichever
//! thread the kernel delivered it to. An `AtomicBool` alone would need the
//! loop to wake on a timer to look at it.
//!
//! The pipe lives as long as the process: a handler may run at any moment,
//! so its descriptor is never closed (and never reused for another file).
//!
//! May use: libc only.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

/// The write end of the pipe, for the handler; -1 until installed.
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// The read end, once the handlers are installed.
static WAKE_READ: OnceLock<RawFd> = OnceLock::new();

extern "C" fn on_signal(_signal: libc::c_int) {
    let fd = WAKE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the byte outlives the call.
        // A full pipe (signals already pending) loses nothing that matters.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

/// The signal to stop: SIGTERM or SIGINT received since [`StopSignal::install`].
#[derive(Clone, Copy, Debug)]
pub struct StopSignal {
    read: RawFd,
}

impl StopSignal {
    /// Installs the handlers for SIGTERM and SIGINT (once per process; a
    /// second call returns the same signal).
    pub fn install() -> io::Result<StopSignal> {
        if let Some(&read) = WAKE_READ.get() {
            return Ok(StopSignal { read });
        }
        let mut fds = [-1; 2];
        // SAFETY: pipe2 writes two descriptors into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        WAKE_WRITE.store(fds[1], Ordering::SeqCst);
        let read = *WAKE_READ.get_or_init(|| fds[0]);
        for signal in [libc::SIGTERM, libc::SIGINT] {
            // SAFETY: a zeroed sigaction with an empty mask and our handler,
            // which only calls write(2); the old action is not kept.
            let installed = unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut())
            };
            if installed != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(StopSignal { read })
    }

    /// The descriptor that becomes readable once a signal has arrived.
    pub fn fd(&self) -> RawFd {
        self.read
    }
}

/// Waits until `listener` has a connection to accept (true) or `stop` is
/// readable (false); retries on EINTR.
pub fn wait_for(listener: RawFd, stop: Option<RawFd>) -> io::Result<bool> {
    let mut fds = [
        libc::pollfd {
            fd: listener,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: stop.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: poll reads and writes the two pollfd we own; a negative fd
        // is ignored by poll(2).
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents != 0 {
            return Ok(false);
        }
        if fds[0].revents != 0 {
            return Ok(true);
        }
    }
}
