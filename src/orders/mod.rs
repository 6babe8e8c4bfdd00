//! Orders, Magento to ERP: fetch (`poll`), the store and ERP channel of
//! each (`stores`), turn into ORDINI records (`map`), write each batch once
//! and only once (`export`); `flows::orders` puts them together (Magento's timestamps are `magento::time`).

pub mod export;
pub(crate) mod map;
pub mod poll;
pub(crate) mod stores;
