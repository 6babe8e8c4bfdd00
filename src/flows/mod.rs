//! The pipelines: an inbound file from parse to acknowledgement.

pub mod baseline;
pub mod file;
pub mod inbound;
pub mod orders;
pub mod retry;
pub mod service;
mod slices;
