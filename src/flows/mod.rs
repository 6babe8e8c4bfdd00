//! The pipelines: an inbound file from parse to acknowledgement.

pub mod inbound;
pub mod service;
