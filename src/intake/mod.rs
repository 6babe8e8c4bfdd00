//! Intake: finding complete files in the share and moving them through
//! in-progress to the archive or to rejected.

pub(crate) mod discovery;
pub(crate) mod folders;
pub(crate) mod lifecycle;
pub mod lock;
pub(crate) mod readiness;
pub(crate) mod unprocessable;
