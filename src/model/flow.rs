//! The five flows between the ERP and Magento, and their names in the
//! configuration, the logs and the schemas.

use std::fmt;

/// The five flows between the ERP and Magento.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flow {
    Products,
    Stock,
    Customers,
    Fulfilment,
    Orders,
}

impl Flow {
    pub const ALL: [Flow; 5] = [
        Flow::Products,
        Flow::Stock,
        Flow::Customers,
        Flow::Fulfilment,
        Flow::Orders,
    ];

    /// The flow a schema's `flow` name (the TE header's) stands for.
    pub(crate) fn from_schema_flow(name: &str) -> Option<Flow> {
        match name {
            "ARTICOLI" => Some(Flow::Products),
            "GIACENZE" => Some(Flow::Stock),
            "CLIENTI" => Some(Flow::Customers),
            "EVASIONI" => Some(Flow::Fulfilment),
            "ORDINI" => Some(Flow::Orders),
            _ => None,
        }
    }

    /// The schema `flow` name of this flow, such as `ARTICOLI`.
    pub(crate) fn schema_flow(self) -> &'static str {
        match self {
            Flow::Products => "ARTICOLI",
            Flow::Stock => "GIACENZE",
            Flow::Customers => "CLIENTI",
            Flow::Fulfilment => "EVASIONI",
            Flow::Orders => "ORDINI",
        }
    }

    /// The name used in the configuration and in logs: `products`, `stock`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Products => "products",
            Flow::Stock => "stock",
            Flow::Customers => "customers",
            Flow::Fulfilment => "fulfilment",
            Flow::Orders => "orders",
        }
    }

    /// The inverse of [`Flow::as_str`].
    pub fn parse(name: &str) -> Option<Flow> {
        Flow::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_map_from_schema_names() {
        for f in Flow::ALL {
            assert_eq!(Flow::from_schema_flow(f.schema_flow()), Some(f));
            assert_eq!(Flow::parse(f.as_str()), Some(f));
        }
        assert_eq!(Flow::from_schema_flow("ARTICOLI"), Some(Flow::Products));
        assert_eq!(Flow::from_schema_flow("ORDINI"), Some(Flow::Orders));
        assert_eq!(Flow::from_schema_flow("articoli"), None);
        assert_eq!(Flow::Fulfilment.as_str(), "fulfilment");
    }
}
