//! Magento: the requests changes become.

pub mod client;
pub mod error;
pub mod payload;
pub mod push;
pub mod signin;
