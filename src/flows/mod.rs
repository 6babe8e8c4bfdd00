//! The pipelines: an inbound file from parse to acknowledgement.

pub mod baseline;
pub(crate) mod file;
pub mod inbound;
pub mod orders;
pub mod retry;
pub(crate) mod service;
mod slices;
