//! ponte keeps Magento shops in step with the TeamSystem Gamma Enterprise ERP
//! through the ERP's fixed-width interchange files.

pub mod cmd;
pub mod config;
pub mod flows;
pub mod intake;
pub mod magento;
pub mod model;
pub mod operate;
pub mod orders;
pub mod push;
pub mod reconcile;
pub mod state;
pub mod telemetry;
