//! Go-live without a flood: record what a shop already holds as applied, so
//! that the first run sends only real differences.
//!
//! Two sources, one result (applied rows and snapshot per target and flow):
//!
//! - `file`: the entities of ERP files, vouched for by the operator. The file
//!   is validated as `ingest` validates it; its entities are recorded as
//!   applied and as desired. Nothing is sent.
//! - `shop`: the entities read back from Magento, mapped to the canonical
//!   form reconcile hashes (`readback`), page by page, resumable.
//!
//! The canonical-form decisions are written down in `readback`.

pub mod file;
pub(crate) mod readback;
pub(crate) mod shop;

use serde::Serialize;

/// What one flow's baseline found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct FlowReport {
    pub target: String,
    /// `products`, `stock`, `customers`.
    pub flow: String,
    /// Entities recorded as applied to the target.
    pub adopted: u64,
    /// Adopted, but not in the ERP's desired state (only meaningful when
    /// `erp_known`).
    pub shop_only: u64,
    /// In the ERP's desired state but not applied to the target after the
    /// baseline: what the next complete file will create.
    pub erp_only: u64,
    /// Read from the shop but not recordable, by reason (a customer without
    /// an ERP code, stock at a source no warehouse maps to).
    pub skipped: Vec<(String, u64)>,
    /// Whether the store holds any desired state for the flow; without it,
    /// every adopted entity counts as in the shop only.
    pub erp_known: bool,
}

impl FlowReport {
    /// One paragraph for people.
    pub(crate) fn describe(&self) -> String {
        let mut out = format!(
            "{} {}: {} adopted; in the shop but not in the ERP: {}; in the ERP but not in the shop: {}",
            self.target, self.flow, self.adopted, self.shop_only, self.erp_only
        );
        if !self.erp_known {
            out.push_str(
                " (no ERP state for this flow yet: ingest or baseline a complete file to compare)",
            );
        }
        for (reason, n) in &self.skipped {
            out.push_str(&format!("; {n} skipped: {reason}"));
        }
        out
    }
}

/// The watermark scope of a resumable baseline.
pub fn watermark_scope(target: &str, flow: &str) -> String {
    format!("baseline/{target}/{flow}")
}
