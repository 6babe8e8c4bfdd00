//! A reader that closes the pipe early (`ponte check FILE | head`) ends the
//! command quietly, as it ends `cat` or `grep`.
//!
//! Rust ignores SIGPIPE, so a closed stdout turns every `println!` into a
//! panic (exit 101). The default action is put back only for the commands
//! that print and talk to no server: a socket written with `writev` (as
//! hyper does) would raise SIGPIPE too, and a Magento that closes a
//! connection must not end `ingest` or the service.

/// Lets SIGPIPE end the process, silently, as the shell expects of a
/// program writing into a pipe whose reader has gone.
pub fn end_quietly_when_the_reader_goes() {
    // SAFETY: resetting a signal's disposition to its default, before any
    // thread of ours runs, has no other effect on the process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
