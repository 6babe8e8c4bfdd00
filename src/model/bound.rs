//! An entity spec bound to a schema: field names resolved to positions once,
//! so that per-record work is index lookups and in-place reads.

use std::sync::Arc;

use serde_json::{Map, Value as Json};
use xxhash_rust::xxh3::xxh3_64;

use super::canon::Canon;
use super::spec::{EntitySpec, Removal};
use ponte_layout::record::line::{bytes_allowed, read_field, trim_spaces, LineView, Parsed};
use ponte_layout::record::probe::Probe;
use ponte_layout::record::writer::format_field;
use ponte_layout::record::Decimal;
use ponte_layout::schema::{Field, FieldKind, Schema};

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
    /// The byte range of the owned fields when they lie side by side in
    /// the layout, in their owned order: a line whose fields there are in
    /// their canonical form is hashed in place, without a copy.
    owned_run: Option<std::ops::Range<usize>>,
    /// The owned fields whose bytes may not be their image although the
    /// record is valid (see `needs_look`), by position in `owned`.
    looked_at: Vec<usize>,
    /// The record's probes that look at bytes outside `owned_run`.
    outside_probes: Vec<Probe>,
    /// Seeds the content hash with the owned fields' definitions (place,
    /// type, rules) and the charset: a hash acknowledged under other rules
    /// for these fields never vouches for a line under these (see `glance`).
    hash_seed: u64,
}

/// The hash `glance` gives a line it cannot vouch for: never a content hash
/// (those have bit 63 clear).
pub const UNVOUCHED: u64 = u64::MAX;

/// The most variant axes a spec may name.
pub const MAX_AXES: usize = 4;
/// Hashes of a variant's axis values, in the spec's order (unused slots 0).
pub type Axes = [u64; MAX_AXES];
const NONE_MARK: u8 = 0x1E;

/// A decimal value at its field's scale, for the writer.
fn rescaled(value: ponte_layout::record::Value, f: &Field) -> ponte_layout::record::Value {
    match (&value, &f.kind) {
        (ponte_layout::record::Value::Decimal(d), FieldKind::Decimal { scale, .. }) => {
            ponte_layout::record::Value::Decimal(Decimal::new(d.units, *scale))
        }
        _ => value,
    }
}

/// A content hash: 63 bits, so that the state's `REMOVED` flag (bit 63)
/// never collides with a hash of real content.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxh3_64(bytes) >> 1
}

/// `content_hash` under a seed: an entity's content hash is seeded by the
/// definition of the fields it owns (see `BoundSpec::bind`). The seed is
/// mixed in after hashing: xxh3's own seeding derives a new secret on every
/// call of more than 240 bytes, which a million records a file notice.
fn seeded_content_hash(bytes: &[u8], seed: u64) -> u64 {
    (xxh3_64(bytes) ^ seed) >> 1
}

/// The byte range the `owned` fields cover when each starts where the one
/// before it ends.
fn side_by_side(
    layout: &ponte_layout::schema::RecordLayout,
    owned: &[usize],
) -> Option<std::ops::Range<usize>> {
    let first = layout.fields.get(*owned.first()?)?;
    let mut end = first.start;
    for &idx in owned {
        let f = layout.fields.get(idx)?;
        if f.start != end {
            return None;
        }
        end += f.len;
    }
    Some(first.start..end)
}

/// Whether a valid record's bytes for this field can differ from its image:
/// a number is digits from its first byte, a flag or one-letter code fills
/// its field; text may start with blanks, a date may mean "none", and a
/// clamped quantity may be negative.
fn needs_look(f: &Field, clamped: bool) -> bool {
    match &f.kind {
        FieldKind::Text { .. } => f.len > 1,
        FieldKind::Date { .. } => true,
        FieldKind::Decimal {
            trailing_sign: true,
            ..
        } => clamped,
        FieldKind::Integer | FieldKind::Decimal { .. } | FieldKind::Flag { .. } => false,
    }
}

/// All spaces; a fold, which the compiler vectorises, for fields short
/// enough that looking at every byte beats branching on each.
fn is_blank(raw: &[u8]) -> bool {
    raw.iter().fold(true, |blank, &b| blank & (b == b' '))
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
        let clamp: Vec<bool> = spec
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
        let owned_run = side_by_side(layout, &owned);
        let looked_at = owned
            .iter()
            .enumerate()
            .filter(|&(pos, &idx)| needs_look(&layout.fields[idx], clamp[pos]))
            .map(|(pos, _)| pos)
            .collect();
        let outside_probes = layout
            .probes
            .iter()
            .filter(|p| {
                let span = p.span(&layout.fields);
                owned_run
                    .as_ref()
                    .is_none_or(|run| span.start < run.start || span.end > run.end)
            })
            .cloned()
            .collect();
        let owned_fields: Vec<&Field> = owned.iter().map(|&i| &layout.fields[i]).collect();
        let hash_seed = xxh3_64(format!("{owned_fields:?}|{:?}", schema.charset).as_bytes());
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
            owned_run,
            looked_at,
            outside_probes,
            hash_seed,
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
    pub(crate) fn key_into(&self, view: &LineView, out: &mut Vec<u8>) {
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
    /// Only what the file's bytes mean goes in, not how ponte checks them,
    /// so that a new version of ponte still reads the lines it kept.
    pub fn fingerprint(&self) -> String {
        let record = &self.schema.records[self.record];
        let layout = format!(
            "{}|{:?}|{:?}|{}",
            record.tag, record.fields, self.schema.charset, self.schema.record_length
        );
        format!("{:016x}", xxh3_64(layout.as_bytes()))
    }

    pub(crate) fn key_hash_of(key: &str) -> u64 {
        xxh3_64(key.as_bytes())
    }

    /// Key hash and content hash of a valid record, using `scratch` as the
    /// buffer so that nothing is allocated per record.
    ///
    /// The content hashed is each owned field as the file lays it out in
    /// its canonical form: the text left-aligned and padded to the field's
    /// width, numbers zero-padded, a date that means "none" as one marker;
    /// nothing is decoded. Most lines hold their fields in that form
    /// already and are hashed in place. `hash_payload` lays a stored or
    /// fetched entity out with the writer to get the very same bytes, so
    /// both ways of arriving hash alike.
    #[cfg(test)]
    pub(crate) fn hashes(&self, bytes: &[u8], scratch: &mut Vec<u8>) -> (u64, u64) {
        self.observe(bytes, scratch).0
    }

    /// `hashes`, and for a variant its parent's key hash and the hashes of
    /// its axis values, from one look at the line.
    pub(crate) fn observe(
        &self,
        bytes: &[u8],
        scratch: &mut Vec<u8>,
    ) -> ((u64, u64), Option<(u64, Axes)>) {
        let view = LineView::new(bytes, self.schema.charset);
        let variant = self.variant_in(&view);
        let key_hash = self.key_hash_in(&view, scratch);
        let hash = match self.canonical_run(&view) {
            Some(run) => seeded_content_hash(run, self.hash_seed),
            None => {
                scratch.clear();
                for pos in 0..self.owned.len() {
                    let f = self.field(self.owned[pos]);
                    self.push_image(pos, f, view.slice(f.start, f.len), scratch);
                }
                seeded_content_hash(scratch, self.hash_seed)
            }
        };
        ((key_hash, hash), variant)
    }

    /// `observe` for a line not validated, without validating it: the key
    /// hash, the variant, and as content hash the hash of the owned fields'
    /// bytes as they lie. Those bytes are a valid record's, and the hash its
    /// content hash, when the hash equals one that a valid record's content
    /// had under the same rules for these fields (the hash is seeded with
    /// them), the rest of the line passes its checks here, and the bytes
    /// hold no "none" marker: an image (see `observe`) is the bytes of a
    /// valid record but for that marker. `UNVOUCHED` when any of this does
    /// not hold, or the owned fields cannot be hashed in place: the line
    /// must then be checked whole.
    pub(crate) fn glance(
        &self,
        bytes: &[u8],
        scratch: &mut Vec<u8>,
    ) -> ((u64, u64), Option<(u64, Axes)>) {
        let view = LineView::new(bytes, self.schema.charset);
        let variant = self.variant_in(&view);
        let key_hash = self.key_hash_in(&view, scratch);
        let hash = match &self.owned_run {
            Some(run) if view.positions_are_bytes() && self.rest_passes(bytes, run) => {
                match bytes.get(run.clone()) {
                    // The one byte an image holds that no valid line does: an
                    // entity acknowledged without a value hashes its marker.
                    Some(owned) if memchr::memchr(NONE_MARK, owned).is_none() => {
                        seeded_content_hash(owned, self.hash_seed)
                    }
                    _ => UNVOUCHED,
                }
            }
            _ => UNVOUCHED,
        };
        ((key_hash, hash), variant)
    }

    /// Whether what lies outside the owned fields would pass validation:
    /// its bytes, its fields' probes, and nothing but blanks past the
    /// record's length.
    fn rest_passes(&self, bytes: &[u8], run: &std::ops::Range<usize>) -> bool {
        let schema = &self.schema;
        let (Some(before), Some(after)) = (bytes.get(..run.start), bytes.get(run.end..)) else {
            return false;
        };
        let fields = &schema.records[self.record].fields;
        bytes_allowed(schema.charset, before)
            && bytes_allowed(schema.charset, after)
            && bytes
                .get(schema.record_length..)
                .is_none_or(|tail| tail.iter().all(|&b| b == b' '))
            && self
                .outside_probes
                .iter()
                .all(|p| p.passes(schema.charset, fields, bytes))
    }

    fn key_hash_in(&self, view: &LineView, scratch: &mut Vec<u8>) -> u64 {
        match self.key.as_slice() {
            // One part in ASCII, the common key: hashed where it lies.
            [only] => {
                let f = self.field(*only);
                let part = trim_spaces(view.slice(f.start, f.len));
                if part.is_ascii() {
                    xxh3_64(part)
                } else {
                    self.key_hash_copied(view, scratch)
                }
            }
            _ => self.key_hash_copied(view, scratch),
        }
    }

    fn key_hash_copied(&self, view: &LineView, scratch: &mut Vec<u8>) -> u64 {
        scratch.clear();
        self.key_into(view, scratch);
        xxh3_64(scratch)
    }

    /// The owned fields' bytes of a line that holds them side by side and
    /// each in its canonical form, which is then what `push_image` would
    /// build from them.
    fn canonical_run<'a>(&self, view: &LineView<'a>) -> Option<&'a [u8]> {
        let run = self.owned_run.clone()?;
        // Character positions are byte positions, and no field is cut short.
        if !view.positions_are_bytes() || view.bytes.len() < run.end {
            return None;
        }
        for &pos in &self.looked_at {
            let f = self.field(self.owned[pos]);
            let raw = view.bytes.get(f.start..f.start + f.len)?;
            if !self.is_canonical(pos, f, raw) {
                return None;
            }
        }
        view.bytes.get(run)
    }

    /// Whether a whole field's bytes are its image already.
    fn is_canonical(&self, pos: usize, f: &Field, raw: &[u8]) -> bool {
        let left_aligned = raw.first() != Some(&b' ') || is_blank(raw);
        match &f.kind {
            FieldKind::Date { none, .. } => {
                let trimmed = trim_spaces(raw);
                raw.first() != Some(&b' ') && !none.iter().any(|n| n.as_bytes() == trimmed)
            }
            FieldKind::Decimal {
                trailing_sign: true,
                ..
            } if self.clamp[pos] => left_aligned && raw.last() != Some(&b'-'),
            _ => left_aligned,
        }
    }

    /// Appends a field's image, from its bytes as the file holds them: its
    /// text without padding on either side, then padded to the field's
    /// width; dates that mean "none" as one marker; a negative quantity
    /// that is published as zero as the zero it becomes.
    fn push_image(&self, pos: usize, f: &Field, raw: &[u8], out: &mut Vec<u8>) {
        let trimmed = trim_spaces(raw);
        let from = out.len();
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
        let width = self.schema.charset.char_count(&out[from..]);
        out.resize(out.len() + f.len.saturating_sub(width), b' ');
    }

    /// The hash of a stored payload: equal to `hashes` of the record it came from.
    pub(crate) fn hash_payload(&self, fields: &Map<String, Json>) -> Option<u64> {
        let mut buf = Vec::with_capacity(512);
        let layout = &self.schema.records[self.record];
        for (pos, &idx) in self.owned.iter().enumerate() {
            let f = self.field(idx);
            let v = fields.get(&f.key).unwrap_or(&Json::Null);
            let value = Canon::from_json(&f.kind, v)?.into_value();
            if value == ponte_layout::record::Value::None {
                // No value at all: what a none date hashes as in a file.
                let from = buf.len();
                buf.push(NONE_MARK);
                buf.resize(from + f.len.max(1), b' ');
                continue;
            }
            let laid_out = format_field(&self.schema, layout, f, Some(&value)).ok()?;
            self.push_image(pos, f, &laid_out, &mut buf);
        }
        Some(seeded_content_hash(&buf, self.hash_seed))
    }

    pub(crate) fn entity(&self, bytes: &[u8]) -> Entity {
        let view = LineView::new(bytes, self.schema.charset);
        let mut key = Vec::new();
        self.key_into(&view, &mut key);
        // Sized once: a map grown field by field moves its table three times.
        let mut fields = Map::with_capacity(self.key.len() + self.owned.len());
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

    /// The owned fields whose values differ between two records of this
    /// layout, by name: what `changed_fields` finds between their decoded
    /// entities (the key fields are equal, the key being).
    pub(crate) fn differing_fields(&self, a: &[u8], b: &[u8]) -> Vec<&str> {
        let (va, vb) = (
            LineView::new(a, self.schema.charset),
            LineView::new(b, self.schema.charset),
        );
        (0..self.owned.len())
            .filter(|&pos| self.canon(&va, pos) != self.canon(&vb, pos))
            .map(|pos| self.field(self.owned[pos]).key.as_str())
            .collect()
    }

    /// The payload an entity has once removed by policy; `None` when the
    /// policy keeps it as it is.
    pub(crate) fn removed_form(&self, fields: &Map<String, Json>) -> Option<Map<String, Json>> {
        let mut out = fields.clone();
        match self.spec.removal {
            Removal::Keep => return None,
            Removal::ClearFlag(f) => {
                out.insert(f.into(), Json::Bool(false));
            }
            Removal::ZeroQuantity(f) => {
                let scale = match self.layout_field(f).map(|x| &x.kind) {
                    Some(ponte_layout::schema::FieldKind::Decimal { scale, .. }) => *scale,
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
    pub(crate) fn owned_keys(&self) -> impl Iterator<Item = &str> {
        self.owned.iter().map(|&i| self.field(i).key.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CUSTOMERS, PRODUCTS, STOCK};
    use ponte_layout::record::line::LineView;
    use ponte_layout::schema::Registry;

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

    /// The content hash built field by field, never in place.
    fn hash_of_images(bound: &BoundSpec, line: &[u8]) -> u64 {
        let view = LineView::new(line, bound.schema.charset);
        let mut images = Vec::new();
        for (pos, &idx) in bound.owned.iter().enumerate() {
            let f = bound.field(idx);
            bound.push_image(pos, f, view.slice(f.start, f.len), &mut images);
        }
        seeded_content_hash(&images, bound.hash_seed)
    }

    /// A line hashed in place hashes as its fields' images laid side by side.
    #[test]
    fn hashing_in_place_agrees_with_building_the_images() {
        let registry = Registry::built_in();
        let mut in_place = 0;
        for (spec, file) in samples() {
            let schema = registry.by_flow(spec.flow).unwrap();
            let bound = BoundSpec::bind(spec, schema.clone()).unwrap();
            assert!(bound.owned_run.is_some(), "{}", spec.flow);
            let mut scratch = Vec::new();
            for line in file.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if !line.starts_with(spec.record.as_bytes()) {
                    continue;
                }
                let view = LineView::new(line, schema.charset);
                in_place += usize::from(bound.canonical_run(&view).is_some());
                let (_, hash) = bound.hashes(line, &mut scratch);
                assert_eq!(hash, hash_of_images(&bound, line));
            }
        }
        assert!(
            in_place >= 10,
            "only {in_place} sample lines hashed in place"
        );
    }

    /// Padding is not content: text moved off the left edge, or a line
    /// whose trailing blanks were stripped, hashes as the tidy line does.
    #[test]
    fn padding_does_not_change_the_content_hash() {
        let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
        let bound = BoundSpec::bind(&PRODUCTS, schema.clone()).unwrap();
        let layout = &schema.records[bound.record];
        let mut line = vec![b' '; schema.record_length];
        let put = |line: &mut Vec<u8>, key: &str, text: &[u8]| {
            let f = layout.fields.iter().find(|f| f.key == key).unwrap();
            line[f.start..f.start + f.len].fill(b' ');
            line[f.start..f.start + text.len()].copy_from_slice(text);
        };
        put(&mut line, "sku", b"AR");
        line[..2].copy_from_slice(b"AR");
        put(&mut line, "sku", b"POL-001");
        put(&mut line, "kind", b"S");
        put(&mut line, "name", b"Polo in piqu\xe8");
        put(&mut line, "price", b"00000002990");
        put(&mut line, "weight", b"000000250");
        put(&mut line, "vat_code", b"22");
        put(&mut line, "active", b"S");
        put(&mut line, "changed_on", b"20261128");
        let mut scratch = Vec::new();
        let tidy = bound.hashes(&line, &mut scratch);
        assert!(bound
            .canonical_run(&LineView::new(&line, schema.charset))
            .is_some());

        let mut shifted = line.clone();
        put(&mut shifted, "name", b"  Polo in piqu\xe8");
        assert!(bound
            .canonical_run(&LineView::new(&shifted, schema.charset))
            .is_none());
        assert_eq!(bound.hashes(&shifted, &mut scratch), tidy);

        let mut cut = line.clone();
        put(&mut cut, "changed_on", b"");
        put(&mut cut, "unit", b"");
        while cut.last() == Some(&b' ') {
            cut.pop();
        }
        // The cut line's changed_on is blank, which is not content either.
        assert_eq!(bound.hashes(&cut, &mut scratch), tidy);

        let mut repriced = line.clone();
        put(&mut repriced, "price", b"00000003190");
        let (key, hash) = bound.hashes(&repriced, &mut scratch);
        assert_eq!(key, tidy.0);
        assert_ne!(hash, tidy.1);
    }

    /// An entity acknowledged without a value hashes the "none" marker in
    /// its place; a line holding that byte there is not a valid record and
    /// is never vouched for by that hash.
    #[test]
    fn the_none_marker_in_a_line_is_never_vouched_for() {
        let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
        let bound = BoundSpec::bind(&PRODUCTS, schema.clone()).unwrap();
        let file = include_bytes!("../../samples/ART20261128020000.txt");
        let line = file
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .find(|l| l.starts_with(b"AR"))
            .unwrap();
        let mut fields = bound.entity(line).fields;
        fields.insert("active".into(), Json::Null);
        let acknowledged = bound.hash_payload(&fields).unwrap();
        let active = bound.layout_field("active").unwrap().start;
        let mut marked = line.to_vec();
        marked[active] = NONE_MARK;
        let mut scratch = Vec::new();
        let ((_, glanced), _) = bound.glance(&marked, &mut scratch);
        assert_eq!(glanced, UNVOUCHED);
        assert_ne!(bound.hashes(line, &mut scratch).1, acknowledged);
    }

    /// Other rules for an owned field, other hashes: what was acknowledged
    /// under the old rules vouches for nothing under the new.
    #[test]
    fn the_content_hash_follows_the_owned_fields_rules() {
        let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
        let bound = BoundSpec::bind(&PRODUCTS, schema.clone()).unwrap();
        let mut stricter = (*schema).clone();
        let ean = stricter.records[bound.record].field_index("ean").unwrap();
        stricter.records[bound.record].fields[ean].required = true;
        let strict = BoundSpec::bind(&PRODUCTS, Arc::new(stricter)).unwrap();
        let file = include_bytes!("../../samples/ART20261128020000.txt");
        let line = file
            .split(|&b| b == b'\n')
            .find(|l| l.starts_with(b"AR"))
            .unwrap();
        let mut scratch = Vec::new();
        let (key, hash) = bound.hashes(line, &mut scratch);
        let (strict_key, strict_hash) = strict.hashes(line, &mut scratch);
        assert_eq!(key, strict_key);
        assert_ne!(hash, strict_hash);
    }

    /// The fingerprint names what the bytes mean: how ponte checks them
    /// may change between versions, a field may not.
    #[test]
    fn the_fingerprint_follows_the_fields_not_the_checks() {
        let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
        let bound = BoundSpec::bind(&PRODUCTS, schema.clone()).unwrap();
        let mut other = (*schema).clone();
        other.records[bound.record].probes.clear();
        let unchecked = BoundSpec::bind(&PRODUCTS, Arc::new(other.clone())).unwrap();
        assert_eq!(unchecked.fingerprint(), bound.fingerprint());
        other.records[bound.record].fields[3].len -= 1;
        let narrower = BoundSpec::bind(&PRODUCTS, Arc::new(other)).unwrap();
        assert_ne!(narrower.fingerprint(), bound.fingerprint());
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
