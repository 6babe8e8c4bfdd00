//! Stopping a read that is under way when the service is asked to stop.
//!
//! A file of the share can be as large as the disk: hashing or validating
//! it must not hold SIGTERM off until its end. The reader and the content
//! hash look at a process-wide flag before each block and fail with
//! [`Stopped`] once [`stop_reading`] was called. The flag is looked at by
//! the loops themselves rather than by a `Read` wrapper: a wrapper loses
//! `File`'s reads into uninitialised memory, and zeroing each block first
//! cost the parse a third of its time. Nothing was sent of a file whose
//! read stopped: it stays where it is and is read again from the start
//! next time.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Makes every block read from now on fail with [`Stopped`] (the service
/// calls it on SIGTERM or SIGINT).
pub fn stop_reading() {
    STOP.store(true, Ordering::SeqCst);
}

/// The flag [`stop_reading`] sets, for the loops that read blocks.
pub fn stop_flag() -> &'static AtomicBool {
    &STOP
}

/// `Err(Stopped)` once `flag` is set; one atomic load, once a block.
#[inline]
pub fn check(flag: &AtomicBool) -> Result<(), Stopped> {
    if flag.load(Ordering::Relaxed) {
        Err(Stopped)
    } else {
        Ok(())
    }
}

/// The read was cut short because the process is stopping: not a fault
/// of the file.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("stopped reading: ponte is shutting down (the file is read again at the next start)")]
pub struct Stopped;

/// Whether `e` (or an error it wraps) is a [`Stopped`] read.
pub fn is_stopped(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| cause.is::<Stopped>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_fails_once_its_flag_is_set_and_says_why() {
        // A flag of the test's own: the process-wide one would stop the
        // other tests' reads.
        let flag = AtomicBool::new(false);
        assert!(check(&flag).is_ok());
        flag.store(true, Ordering::SeqCst);
        let err = anyhow::Error::new(check(&flag).unwrap_err()).context("file.txt");
        assert!(is_stopped(&err), "{err:#}");
        assert!(!is_stopped(&anyhow::anyhow!("line 3 is too long")));
    }
}
