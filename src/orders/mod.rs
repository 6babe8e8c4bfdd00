//! Orders, Magento to ERP: fetch (`poll`), the store and ERP channel of
//! each (`stores`), turn into ORDINI records (`map`), write each batch once
//! and only once (`export`), and Magento's timestamps (`time`). `crate::flows::orders` puts them together.

pub mod export;
pub mod map;
pub mod poll;
pub mod stores;
pub mod time;
