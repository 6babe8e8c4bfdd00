//! Stopping a read that is under way when the service is asked to stop.
//!
//! A file of the share can be as large as the disk: hashing or validating
//! it must not hold SIGTERM off until its end. Reads made through
//! [`Stoppable`] fail with [`Stopped`] once [`stop_reading`] was called; the
//! check costs one atomic load a read call, that is a block. Nothing was
//! sent of a file whose read stopped: it stays where it is and is read
//! again from the start next time.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Makes every read through [`Stoppable`] in this process fail from now on
/// (the service calls it on SIGTERM or SIGINT).
pub fn stop_reading() {
    STOP.store(true, Ordering::SeqCst);
}

/// The read was cut short because the process is stopping: not a fault
/// of the file.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("stopped reading: ponte is shutting down (the file is read again at the next start)")]
pub struct Stopped;

/// Whether `e` (or an error it wraps) is a [`Stopped`] read.
pub fn is_stopped(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.is::<Stopped>()
            || cause
                .downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<Stopped>())
    })
}

/// A reader that fails with [`Stopped`] once the process is stopping.
pub struct Stoppable<R> {
    inner: R,
    flag: &'static AtomicBool,
}

impl<R> Stoppable<R> {
    pub fn new(inner: R) -> Stoppable<R> {
        Stoppable { inner, flag: &STOP }
    }
}

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.flag.load(Ordering::Relaxed) {
            return Err(io::Error::other(Stopped));
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_fails_once_its_flag_is_set_and_says_why() {
        // A flag of the test's own: the process-wide one would stop the
        // other tests' reads.
        static FLAG: AtomicBool = AtomicBool::new(false);
        let mut r = Stoppable {
            inner: io::repeat(0),
            flag: &FLAG,
        };
        let mut buf = [1u8; 8];
        assert_eq!(r.read(&mut buf).unwrap(), 8);
        FLAG.store(true, Ordering::SeqCst);
        let err = anyhow::Error::new(r.read(&mut buf).unwrap_err()).context("read failed");
        assert!(is_stopped(&err), "{err:#}");
        assert!(!is_stopped(&anyhow::anyhow!("line 3 is too long")));
    }
}
