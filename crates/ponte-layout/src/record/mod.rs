//! Decoding, reading and writing fixed-width records.

mod charset;
mod error;
mod excerpt;
pub mod line;
pub mod open;
pub mod probe;
pub mod reader;
pub mod scan;
pub mod stop;
mod utf8_hint;
mod value;
pub mod writer;

pub use charset::Charset;
pub use error::{FieldRef, RecordError};
pub use excerpt::{excerpt, EXCERPT_BYTES};
pub use value::{Decimal, Value};
