//! Intake: finding complete files in the share and moving them through
//! in-progress to the archive or to rejected.

pub mod discovery;
pub mod folders;
pub mod lifecycle;
pub mod lock;
pub mod readiness;
pub mod unprocessable;
