//! Gamma Enterprise's fixed-width record layouts (`tracciato record`) as
//! data: `schema` loads and checks the layouts in `schemas/`, `record`
//! reads, validates and writes the files they describe, in the ERP's
//! charsets. Nothing here touches the network, a database or an async
//! runtime.

pub mod record;
pub mod schema;
