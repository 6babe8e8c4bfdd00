//! Magento: the requests changes become.

pub mod payload;
