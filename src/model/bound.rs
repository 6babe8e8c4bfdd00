//! An entity spec bound to a schema: field names resolved to positions once,
//! so that per-record work is index lookups and in-place reads.

use std::sync::Arc;

use serde_json::{Map, Value as Json};
use xxhash_rust::xxh3::xxh3_64;

use super::canon::Canon;
use super::spec::{EntitySpec, Removal};
use crate::record::line::{read_field, trim_spaces, LineView, Parsed, Span};
use crate::record::writer::format_field;
use crate::record::Decimal;
use crate::schema::{Field, FieldKind, Schema};

#[derive(Debug, Clone)]
pub struct BoundSpec {
    pub spec: &'static EntitySpec,
    pub schema: Arc<Schema>,
    pub record: usize,
    key: Vec<usize>,
    owned: Vec<usize>,
    clamp: Vec<bool>,
    pub parent: Option<usize>,
    pub axes: Vec<usize>,
    kind_field: Option<usize>,
}

const SEPARATOR: u8 = 0x1F;

/// The most variant axes a spec may name.
pub const MAX_AXES: usize = 4;
/// Hashes of a variant's axis values, in the spec's order (unused slots 0).
pub type Axes = [u64; MAX_AXES];
const NONE_MARK: u8 = 0x1E;

/// A decimal value at its field's scale, for the writer.
fn rescaled(value: crate::record::Value, f: &Field) -> crate::record::Value {
    match (&value, &f.kind) {
        (crate::record::Value::Decimal(d), FieldKind::Decimal { scale, .. }) => {
            crate::record::Value::Decimal(Decimal::new(d.units, *scale))
        }
        _ => value,
    }
}

/// A content hash: 63 bits, so that the state's `REMOVED` flag (bit 63)
/// never collides with a hash of real content.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxh3_64(bytes) >> 1
}

/// One entity, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub key: String,
    pub fields: Map<String, Json>,
}

impl BoundSpec {
    pub fn bind(spec: &'static EntitySpec, schema: Arc<Schema>) -> Result<BoundSpec, String> {
        let record = schema
            .records
            .iter()
            .position(|r| r.tag == spec.record)
            .ok_or_else(|| {
                format!(
                    "{}: the {} schema has no record {}",
                    schema.source, schema.flow, spec.record
                )
            })?;
        let layout = &schema.records[record];
        let find = |key: &str| {
            layout.field_index(key).ok_or_else(|| {
                format!(
                    "{}: record {} has no field {key:?}, which {:?} entities need",
                    schema.source, spec.record, spec.kind
                )
            })
        };
        let key = spec
            .key
            .iter()
            .map(|k| find(k))
            .collect::<Result<Vec<_>, _>>()?;
        let owned = spec
            .owned
            .iter()
            .map(|k| find(k))
            .collect::<Result<Vec<_>, _>>()?;
        let clamp = spec
            .owned
            .iter()
            .map(|k| spec.clamp_negative.contains(k))
            .collect();
        let parent = spec.parent.map(find).transpose()?;
        let axes = spec
            .axes
            .iter()
            .map(|k| find(k))
            .collect::<Result<Vec<_>, _>>()?;
        let kind_field = layout.field_index("kind");
        match spec.removal {
            Removal::ClearFlag(f) | Removal::ZeroQuantity(f) if !spec.owned.contains(&f) => {
                return Err(format!("removal field {f} is not owned by {:?}", spec.kind))
            }
            _ => {}
        }
        Ok(BoundSpec {
            spec,
            schema,
            record,
            key,
            owned,
            clamp,
            parent,
            axes,
            kind_field,
        })
    }

    fn field(&self, idx: usize) -> &Field {
        &self.schema.records[self.record].fields[idx]
    }

    fn parsed<'a>(&self, view: &LineView<'a>, idx: usize) -> Parsed<'a> {
        let f = self.field(idx);
        // Records reaching here were validated; a failure reads as none.
        read_field(self.schema.charset, f, view.slice(f.start, f.len)).unwrap_or(Parsed::None)
    }

    fn canon<'a>(&self, view: &LineView<'a>, owned_pos: usize) -> Canon<'a> {
        let idx = self.owned[owned_pos];
        let c = Canon::from_parsed(self.schema.charset, self.parsed(view, idx));
        match c {
            Canon::Decimal(d) if self.clamp[owned_pos] && d.units < 0 => {
                Canon::Decimal(Decimal::new(0, d.scale))
            }
            other => other,
        }
    }

    /// Appends the key's text to `out` (parts joined by `/`), from the
    /// record's bytes: it was validated, only the padding goes.
    pub fn key_into(&self, view: &LineView, out: &mut Vec<u8>) {
        for (i, &idx) in self.key.iter().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            let f = self.field(idx);
            self.push_key_part(trim_spaces(view.slice(f.start, f.len)), out);
        }
    }

    fn push_key_part(&self, b: &[u8], out: &mut Vec<u8>) {
        if b.is_ascii() {
            out.extend_from_slice(b);
        } else {
            out.extend_from_slice(self.schema.charset.decode(b).as_bytes());
        }
    }

    /// Names the layout this spec reads lines in: a line kept from an
    /// earlier file is decoded only by a spec with the same fingerprint.
    pub fn fingerprint(&self) -> String {
        let layout = format!(
            "{:?}|{:?}|{}",
            self.schema.records[self.record], self.schema.charset, self.schema.record_length
        );
        format!("{:016x}", xxh3_64(layout.as_bytes()))
    }

    pub fn key_hash_of(key: &str) -> u64 {
        xxh3_64(key.as_bytes())
    }

    /// Key hash and content hash of a valid record, using `scratch` as the
    /// buffer so that nothing is allocated per record.
    ///
    /// The content is hashed as the file holds it: each owned field's bytes,
    /// trimmed, in the file's charset; nothing is decoded. `hash_payload`
    /// lays a stored or fetched entity out with the writer to get the very
    /// same bytes, so both ways of arriving hash alike.
    pub fn hashes(&self, bytes: &[u8], scratch: &mut Vec<u8>) -> (u64, u64) {
        self.observe(bytes, scratch).0
    }

    /// `hashes`, and for a variant its parent's key hash and the hashes of
    /// its axis values, from one look at the line.
    pub fn observe(
        &self,
        bytes: &[u8],
        scratch: &mut Vec<u8>,
    ) -> ((u64, u64), Option<(u64, Axes)>) {
        let view = LineView::new(bytes, self.schema.charset);
        let variant = self.variant_in(&view);
        scratch.clear();
        self.key_into(&view, scratch);
        let key_hash = xxh3_64(scratch);
        scratch.clear();
        for pos in 0..self.owned.len() {
            let f = self.field(self.owned[pos]);
            self.push_raw(pos, f, view.slice(f.start, f.len), scratch);
        }
        ((key_hash, content_hash(scratch)), variant)
    }

    /// `observe` with the trimmed spans of the record's fields, as the
    /// validation found them (see `check_line_fast`): nothing is trimmed or
    /// sliced again. Without them (`spans` not one per field), `observe`.
    pub fn observe_spans(
        &self,
        bytes: &[u8],
        spans: &[Span],
        scratch: &mut Vec<u8>,
    ) -> ((u64, u64), Option<(u64, Axes)>) {
        if spans.len() != self.schema.records[self.record].fields.len() {
            return self.observe(bytes, scratch);
        }
        let text = |idx: usize| spans.get(idx).map_or(&[][..], |s| s.of(bytes));
        let variant = self.variant_from(text);
        scratch.clear();
        for (i, &idx) in self.key.iter().enumerate() {
            if i > 0 {
                scratch.push(b'/');
            }
            self.push_key_part(text(idx), scratch);
        }
        let key_hash = xxh3_64(scratch);
        scratch.clear();
        for (pos, &idx) in self.owned.iter().enumerate() {
            self.push_trimmed(pos, self.field(idx), text(idx), scratch);
        }
        ((key_hash, content_hash(scratch)), variant)
    }

    /// Appends a field's bytes as hashed: trimmed; dates that mean "none"
    /// as one marker; a negative quantity that is published as zero as the
    /// zero it becomes.
    fn push_raw(&self, pos: usize, f: &Field, raw: &[u8], out: &mut Vec<u8>) {
        self.push_trimmed(pos, f, trim_spaces(raw), out)
    }

    fn push_trimmed(&self, pos: usize, f: &Field, trimmed: &[u8], out: &mut Vec<u8>) {
        match &f.kind {
            FieldKind::Date { none, .. } if none.iter().any(|n| n.as_bytes() == trimmed) => {
                out.push(NONE_MARK)
            }
            FieldKind::Decimal {
                trailing_sign: true,
                ..
            } if self.clamp[pos] && trimmed.last() == Some(&b'-') => {
                let zero = Canon::Decimal(Decimal::new(0, 0)).into_value();
                let layout = &self.schema.records[self.record];
                match format_field(&self.schema, layout, f, Some(&rescaled(zero, f))) {
                    Ok(z) => out.extend_from_slice(&z),
                    Err(_) => out.extend_from_slice(trimmed),
                }
            }
            _ => out.extend_from_slice(trimmed),
        }
        out.push(SEPARATOR);
    }

    /// The hash of a stored payload: equal to `hashes` of the record it came from.
    pub fn hash_payload(&self, fields: &Map<String, Json>) -> Option<u64> {
        let mut buf = Vec::with_capacity(512);
        let layout = &self.schema.records[self.record];
        for (pos, &idx) in self.owned.iter().enumerate() {
            let f = self.field(idx);
            let v = fields.get(&f.key).unwrap_or(&Json::Null);
            let value = Canon::from_json(&f.kind, v)?.into_value();
            if value == crate::record::Value::None {
                // No value at all: what a none date hashes as in a file.
                buf.extend_from_slice(&[NONE_MARK, SEPARATOR]);
                continue;
            }
            let laid_out = format_field(&self.schema, layout, f, Some(&value)).ok()?;
            self.push_raw(pos, f, &laid_out, &mut buf);
        }
        Some(content_hash(&buf))
    }

    pub fn entity(&self, bytes: &[u8]) -> Entity {
        let view = LineView::new(bytes, self.schema.charset);
        let mut key = Vec::new();
        self.key_into(&view, &mut key);
        let mut fields = Map::new();
        // The key's parts travel with the entity (a stock row needs its SKU
        // and warehouse); only owned fields are hashed.
        for &idx in &self.key {
            let f = self.field(idx);
            fields.insert(
                f.key.clone(),
                Canon::from_parsed(self.schema.charset, self.parsed(&view, idx)).to_json(),
            );
        }
        for pos in 0..self.owned.len() {
            let f = self.field(self.owned[pos]);
            fields.insert(f.key.clone(), self.canon(&view, pos).to_json());
        }
        Entity {
            key: String::from_utf8_lossy(&key).into_owned(),
            fields,
        }
    }

    /// For products: whether this record is a variant, and the hashes of
    /// its parent key and axis values.
    pub fn variant_of(&self, bytes: &[u8]) -> Option<(u64, Axes)> {
        self.variant_in(&LineView::new(bytes, self.schema.charset))
    }

    fn variant_in(&self, view: &LineView) -> Option<(u64, Axes)> {
        self.variant_from(|idx: usize| {
            let f = self.field(idx);
            trim_spaces(view.slice(f.start, f.len))
        })
    }

    /// `raw` gives a field's bytes, trimmed, by its index in the layout.
    fn variant_from<'a>(&self, raw: impl Fn(usize) -> &'a [u8]) -> Option<(u64, Axes)> {
        let parent = self.parent?;
        if self.kind_field.is_some_and(|k| raw(k) != b"V") {
            return None;
        }
        let p = raw(parent);
        if p.is_empty() {
            return None;
        }
        let mut axes = [0u64; MAX_AXES];
        for (slot, &a) in axes.iter_mut().zip(&self.axes) {
            *slot = xxh3_64(raw(a));
        }
        // Hashed as the key is, so that it finds its parent's entry.
        let parent_hash = if p.is_ascii() {
            xxh3_64(p)
        } else {
            xxh3_64(self.schema.charset.decode(p).as_bytes())
        };
        Some((parent_hash, axes))
    }

    /// The payload an entity has once removed by policy; `None` when the
    /// policy keeps it as it is.
    pub fn removed_form(&self, fields: &Map<String, Json>) -> Option<Map<String, Json>> {
        let mut out = fields.clone();
        match self.spec.removal {
            Removal::Keep => return None,
            Removal::ClearFlag(f) => {
                out.insert(f.into(), Json::Bool(false));
            }
            Removal::ZeroQuantity(f) => {
                let scale = match self.layout_field(f).map(|x| &x.kind) {
                    Some(crate::schema::FieldKind::Decimal { scale, .. }) => *scale,
                    _ => 0,
                };
                out.insert(f.into(), Json::String(Decimal::new(0, scale).to_string()));
            }
        }
        Some(out)
    }

    fn layout_field(&self, key: &str) -> Option<&Field> {
        self.schema.records[self.record]
            .fields
            .iter()
            .find(|f| f.key == key)
    }

    /// Names of the owned fields, in order.
    pub fn owned_keys(&self) -> impl Iterator<Item = &str> {
        self.owned.iter().map(|&i| self.field(i).key.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CUSTOMERS, PRODUCTS, STOCK};
    use crate::schema::Registry;

    /// Each entity spec with the sample file of its flow.
    fn samples() -> [(&'static EntitySpec, &'static [u8]); 3] {
        [
            (
                &PRODUCTS,
                include_bytes!("../../samples/ART20261128020000.txt"),
            ),
            (
                &STOCK,
                include_bytes!("../../samples/GIA20261128083000.txt"),
            ),
            (
                &CUSTOMERS,
                include_bytes!("../../samples/CLI20261128030000.txt"),
            ),
        ]
    }

    /// A record and the payload decoded from it hash alike: the diff against
    /// a baseline read back from Magento depends on it.
    #[test]
    fn a_record_and_its_decoded_payload_hash_alike() {
        let registry = Registry::built_in();
        let cases = samples();
        let mut seen = 0;
        for (spec, file) in cases {
            let schema = registry.by_flow(spec.flow).unwrap();
            let bound = BoundSpec::bind(spec, schema).unwrap();
            let mut scratch = Vec::new();
            for line in file.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if !line.starts_with(spec.record.as_bytes()) {
                    continue;
                }
                let (key_hash, hash) = bound.hashes(line, &mut scratch);
                let entity = bound.entity(line);
                assert_eq!(key_hash, BoundSpec::key_hash_of(&entity.key));
                assert_eq!(
                    Some(hash),
                    bound.hash_payload(&entity.fields),
                    "{}",
                    entity.key
                );
                assert_eq!(hash & crate::state::REMOVED, 0);
                seen += 1;
            }
        }
        assert_eq!(seen, 10 + 9 + 3);
    }

    /// With the spans the validation found, a record hashes as without.
    #[test]
    fn observing_with_spans_agrees_with_observing_alone() {
        let registry = Registry::built_in();
        let cases = samples();
        let mut seen = 0;
        for (spec, file) in cases {
            let schema = registry.by_flow(spec.flow).unwrap();
            let bound = BoundSpec::bind(spec, schema.clone()).unwrap();
            let (mut a, mut b, mut spans) = (Vec::new(), Vec::new(), Vec::new());
            for line in file.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if !line.starts_with(spec.record.as_bytes()) {
                    continue;
                }
                let fast = crate::record::line::check_line_fast(&schema, line, Some(&mut spans));
                assert_eq!(fast, Some(bound.record));
                assert_eq!(
                    bound.observe_spans(line, &spans, &mut a),
                    bound.observe(line, &mut b)
                );
                // Without spans, the same by the long way.
                assert_eq!(
                    bound.observe_spans(line, &[], &mut a),
                    bound.observe(line, &mut b)
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 10 + 9 + 3);
    }

    #[test]
    fn an_oversold_quantity_hashes_as_the_zero_it_is_published_as() {
        let schema = Registry::built_in().by_flow("GIACENZE").unwrap();
        let bound = BoundSpec::bind(&STOCK, schema).unwrap();
        let line = |q: &str| format!("GISKU1                MAG01     {q}00000000");
        let mut s = Vec::new();
        let (_, minus) = bound.hashes(line("00000003000-").as_bytes(), &mut s);
        let (_, zero) = bound.hashes(line("00000000000+").as_bytes(), &mut s);
        let (_, plus) = bound.hashes(line("00000003000+").as_bytes(), &mut s);
        assert_eq!(minus, zero);
        assert_ne!(plus, zero);
        let decoded = bound.entity(line("00000003000-").as_bytes());
        assert_eq!(decoded.fields["quantity"], "0.000");
        assert_eq!(bound.hash_payload(&decoded.fields), Some(zero));
    }
}
