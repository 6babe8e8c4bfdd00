//! Which of Magento's interfaces a target is written through.

/// The API family a target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// Magento 2 REST (`/rest/<store>/V1/...`).
    Rest,
    /// The XML-RPC API of Magento 1 / OpenMage LTS.
    XmlRpc,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Rest => "rest",
            Api::XmlRpc => "xmlrpc",
        }
    }
}

/// How stock is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StockMode {
    /// `POST /V1/inventory/source-items`, batched (Magento 2 MSI).
    MultiSource,
    /// The legacy `stockItems` endpoint, one product at a time.
    SingleSource,
}

impl StockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StockMode::MultiSource => "multi-source",
            StockMode::SingleSource => "single-source",
        }
    }
}
