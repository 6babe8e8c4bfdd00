//! Fulfilment events: an `EV` record and the `ER` items after it make one
//! event (a shipment with its tracking, an invoice, a cancellation). Events
//! are named by order, kind and delivery note, so the same event in a later
//! file is recognised and never sent twice.

use serde_json::{Map, Value as Json};
use xxhash_rust::xxh3::xxh3_64;

use super::bound::Entity;
use ponte_layout::record::line::line_values;
use ponte_layout::record::{RecordError, Value};
use ponte_layout::schema::Schema;

const EVENT: &str = "EV";
const ITEM: &str = "ER";

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FulfilmentEvent {
    pub line: u64,
    pub entity: Entity,
    pub key_hash: u64,
    pub hash: u64,
}

impl FulfilmentEvent {
    pub(crate) fn hash_payload(fields: &Map<String, Json>) -> u64 {
        super::bound::content_hash(&serde_json::to_vec(fields).unwrap_or_default())
    }
}

fn text(values: &[(String, Value)], key: &str) -> String {
    match values.iter().find(|(k, _)| k == key) {
        Some((_, Value::Text(s))) => s.clone(),
        _ => String::new(),
    }
}

/// Groups a file's valid records, given in file order as (line, record tag,
/// raw bytes), into events.
pub(crate) fn group_events<'a>(
    schema: &Schema,
    records: impl IntoIterator<Item = (u64, &'a str, &'a [u8])>,
) -> (Vec<FulfilmentEvent>, Vec<RecordError>) {
    let mut events: Vec<FulfilmentEvent> = Vec::new();
    let mut errors = Vec::new();
    let mut open: Option<(u64, Map<String, Json>, Vec<Json>)> = None;
    let close = |open: &mut Option<(u64, Map<String, Json>, Vec<Json>)>,
                 events: &mut Vec<FulfilmentEvent>| {
        if let Some((line, mut fields, items)) = open.take() {
            fields.insert("items".into(), Json::Array(items));
            let order = fields
                .get("order_number")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let kind = fields
                .get("event")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let note = fields
                .get("delivery_note")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let key = if note.is_empty() {
                format!("{order}/{kind}")
            } else {
                format!("{order}/{kind}/{note}")
            };
            let hash = FulfilmentEvent::hash_payload(&fields);
            events.push(FulfilmentEvent {
                line,
                key_hash: xxh3_64(key.as_bytes()),
                hash,
                entity: Entity { key, fields },
            });
        }
    };
    for (line, tag, bytes) in records {
        let Some(layout) = schema.record_by_tag(tag) else {
            continue;
        };
        if tag == EVENT {
            close(&mut open, &mut events);
            let values = line_values(schema, layout, bytes);
            let mut fields = Map::new();
            for (k, v) in &values {
                fields.insert(k.clone(), v.to_json());
            }
            open = Some((line, fields, Vec::new()));
        } else if tag == ITEM {
            let values = line_values(schema, layout, bytes);
            let order = text(&values, "order_number");
            let problem = match &open {
                None => Some("an ER item without an EV event before it".to_string()),
                Some((_, ev, _)) => {
                    let ev_order = ev
                        .get("order_number")
                        .and_then(Json::as_str)
                        .unwrap_or_default();
                    let ev_kind = ev.get("event").and_then(Json::as_str).unwrap_or_default();
                    if ev_order != order {
                        Some(format!(
                            "item of order {order} under an event of order {ev_order}"
                        ))
                    } else if ev_kind != "S" && ev_kind != "P" {
                        Some(format!(
                            "items belong to shipments (S, P), not to a {ev_kind} event"
                        ))
                    } else {
                        None
                    }
                }
            };
            if let Some(message) = problem {
                errors.push(RecordError {
                    line,
                    record: Some(ITEM.into()),
                    field: None,
                    raw: None,
                    message,
                });
                continue;
            }
            if let Some((_, _, items)) = open.as_mut() {
                let mut item = Map::new();
                for (k, v) in values.into_iter().filter(|(k, _)| k != "order_number") {
                    item.insert(k, v.to_json());
                }
                items.push(Json::Object(item));
            }
        }
    }
    close(&mut open, &mut events);
    (events, errors)
}
