//! Baseline from the shop: page through what a target holds (products,
//! stock, customers), map each entity to the canonical form (`readback`)
//! and record it as applied, one page per transaction. The next page is kept
//! in the watermark `baseline/<target>/<flow>`, so that an interrupted
//! baseline resumes where it stopped (`restart` starts over); a finished one
//! leaves `done` there, and the next baseline reads the shop again.
//!
//! Paging is by page number in a stable order (entity id, or SKU and source
//! for source items), `fields` asking only for what ponte owns. A shop that
//! changes while it is read may shift an entity across a page boundary;
//! baseline before the go-live, not during a catalogue import.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::readback::{self, OptionLabels, Parents, ProductContext, ReadBack};
use super::{watermark_scope, FlowReport};
use crate::config::Target;
use crate::magento::client::{RestClient, SearchCriteria};
use crate::magento::error::ApiError;
use crate::model::BoundSpec;
use crate::model::{Flow, StockMode};
use crate::push::payload::{path_segment, SELECT_ATTRIBUTES};
use crate::reconcile::decode_stored;
use crate::state::{Ack, Located, Store};

pub(crate) const PAGE_SIZE: u32 = 200;

/// What the progress display is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// A flow starts: its name and how many entities the shop holds.
    Start(Flow, u64),
    /// Entities read so far in this flow.
    Done(u64),
}

/// The resumable part of a baseline, kept in its watermark.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Resume {
    /// The next page to read (1-based).
    page: u32,
    page_size: u32,
    adopted: u64,
    shop_only: u64,
    skipped: Vec<(String, u64)>,
}

/// Reads one target's shop.
pub(crate) struct ShopReader {
    runtime: tokio::runtime::Runtime,
    client: Arc<RestClient>,
    target: Target,
    page_size: u32,
}

impl ShopReader {
    pub fn new(target: &Target, state_dir: &std::path::Path) -> anyhow::Result<ShopReader> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        Ok(ShopReader {
            runtime,
            client: Arc::new(RestClient::new(target, Some(state_dir))?),
            target: target.clone(),
            page_size: PAGE_SIZE,
        })
    }

    fn get(&self, path: &str, query: &[(String, String)]) -> Result<Json, ApiError> {
        self.runtime.block_on(self.client.get(path, query))
    }

    /// One page of a search: its items and the total count.
    fn page(
        &self,
        path: &str,
        criteria: &SearchCriteria,
        fields: &str,
    ) -> anyhow::Result<(Vec<Json>, u64)> {
        let mut query = criteria.to_query();
        query.push(("fields".into(), fields.into()));
        let answer = self.get(path, &query)?;
        let items = match answer.get("items") {
            Some(Json::Array(a)) => a.clone(),
            Some(Json::Null) | None => Vec::new(),
            Some(_) => anyhow::bail!("{path}: items is not a list"),
        };
        let total = answer
            .get("total_count")
            .and_then(Json::as_u64)
            .ok_or_else(|| anyhow::anyhow!("{path}: the answer has no total_count"))?;
        Ok((items, total))
    }

    /// Option id -> label of the select attributes the shop has.
    fn option_labels(&self) -> anyhow::Result<OptionLabels> {
        let mut all = OptionLabels::new();
        for code in SELECT_ATTRIBUTES {
            let path = format!("/V1/products/attributes/{}/options", path_segment(code));
            let list = match self.get(&path, &[]) {
                Ok(l) => l,
                Err(ApiError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut labels = HashMap::new();
            for o in list.as_array().into_iter().flatten() {
                let label = o.get("label").and_then(Json::as_str).unwrap_or_default();
                let value = match o.get("value") {
                    Some(Json::String(s)) => s.clone(),
                    Some(Json::Number(n)) => n.to_string(),
                    _ => continue,
                };
                if !value.is_empty() {
                    labels.insert(value, label.trim().to_string());
                }
            }
            all.insert(code.to_string(), labels);
        }
        Ok(all)
    }

    /// Every configurable's children: child SKU -> parent SKU (the first
    /// parent in SKU order when a child has several).
    fn parents(&self) -> anyhow::Result<Parents> {
        let mut parents = Parents::new();
        let mut page = 1;
        loop {
            let criteria = SearchCriteria::default()
                .filter("type_id", "configurable", "eq")
                .sort("entity_id", "ASC")
                .page(self.page_size, page);
            let (items, total) = self.page("/V1/products", &criteria, "items[sku],total_count")?;
            let skus: Vec<String> = items
                .iter()
                .filter_map(|i| i.get("sku").and_then(Json::as_str))
                .map(str::to_string)
                .collect();
            let client = Arc::clone(&self.client);
            let children = self.runtime.block_on(async move {
                let mut set = tokio::task::JoinSet::new();
                for sku in skus {
                    let client = Arc::clone(&client);
                    set.spawn(async move {
                        let path =
                            format!("/V1/configurable-products/{}/children", path_segment(&sku));
                        (sku, client.get(&path, &[]).await)
                    });
                }
                let mut out = Vec::new();
                while let Some(done) = set.join_next().await {
                    out.push(done);
                }
                out
            });
            for joined in children {
                let (parent, answer) = joined?;
                for child in answer?.as_array().into_iter().flatten() {
                    if let Some(sku) = child.get("sku").and_then(Json::as_str) {
                        let slot = parents.entry(sku.to_string()).or_insert(parent.clone());
                        if parent < *slot {
                            *slot = parent.clone();
                        }
                    }
                }
            }
            if (page as u64) * (self.page_size as u64) >= total || items.is_empty() {
                break;
            }
            page += 1;
        }
        Ok(parents)
    }
}

/// The ERP's view of a flow, for the report and the fields Magento cannot tell.
struct Erp<'s> {
    store: &'s Store,
    flow: &'static str,
    bound: &'s BoundSpec,
    desired: &'s Located,
}

impl Erp<'_> {
    fn knows(&self, key_hash: u64) -> bool {
        self.desired
            .snapshot
            .get(key_hash)
            .is_some_and(|e| !e.is_removed())
    }

    /// Desired payloads of these keys (those the ERP still has).
    fn payloads(&self, keys: &[String]) -> anyhow::Result<HashMap<String, Map<String, Json>>> {
        let hashes: Vec<u64> = keys
            .iter()
            .map(|k| BoundSpec::key_hash_of(k))
            .filter(|h| self.knows(*h))
            .collect();
        if hashes.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .store
            .desired_payloads(self.flow, self.desired, &hashes)?;
        Ok(decode_stored(Some(self.bound), rows)
            .into_values()
            .collect())
    }
}

/// What one page gave.
#[derive(Default)]
struct PageOut {
    acks: Vec<Ack>,
    shop_only: u64,
    skipped: Vec<&'static str>,
}

/// Baselines one flow of one target from its shop.
pub(crate) fn baseline_flow(
    reader: &ShopReader,
    store: &mut Store,
    bound: &BoundSpec,
    flow: Flow,
    restart: bool,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<FlowReport> {
    let target = reader.target.clone();
    let flow_name = flow.schema_flow();
    let scope = watermark_scope(&target.name, flow.as_str());
    let mut resume = match store.watermark(&scope)? {
        Some(v) if !restart => serde_json::from_str::<Resume>(&v)
            .ok()
            .filter(|r| r.page_size == reader.page_size && r.page >= 1),
        _ => None,
    }
    .unwrap_or(Resume {
        page: 1,
        page_size: reader.page_size,
        ..Resume::default()
    });
    if resume.page > 1 {
        tracing::info!(target = %target.name, flow = %flow, page = resume.page, "resuming an interrupted baseline");
    }
    let erp_desired = store.desired_located(flow_name)?;
    let erp_known = !erp_desired.snapshot.is_empty();
    // What the products pages need, read once (again on a resume).
    let (parents, options) = match flow {
        Flow::Products => (reader.parents()?, reader.option_labels()?),
        _ => (Parents::new(), OptionLabels::new()),
    };
    let mut started = false;
    loop {
        let page = resume.page;
        let (items, total) = match (flow, target.stock) {
            (Flow::Products, _) | (Flow::Stock, StockMode::SingleSource) => {
                let fields = if flow == Flow::Products {
                    "items[sku,name,price,weight,status,type_id,custom_attributes],total_count"
                } else {
                    "items[sku,type_id,extension_attributes[stock_item[qty]]],total_count"
                };
                let criteria = SearchCriteria::default()
                    .sort("entity_id", "ASC")
                    .page(reader.page_size, page);
                reader.page("/V1/products", &criteria, fields)?
            }
            (Flow::Stock, StockMode::MultiSource) => {
                let criteria = SearchCriteria::default()
                    .sort("sku", "ASC")
                    .sort("source_code", "ASC")
                    .page(reader.page_size, page);
                reader.page(
                    "/V1/inventory/source-items",
                    &criteria,
                    "items[sku,source_code,quantity],total_count",
                )?
            }
            (Flow::Customers, _) => {
                let mut criteria = SearchCriteria::default();
                if let Some(w) = target.website_ids.first() {
                    criteria = criteria.filter("website_id", &w.to_string(), "eq");
                }
                let criteria = criteria
                    .sort("entity_id", "ASC")
                    .page(reader.page_size, page);
                reader.page(
                    "/V1/customers/search",
                    &criteria,
                    "items[id,email,firstname,lastname,group_id,taxvat,default_billing,addresses,custom_attributes],total_count",
                )?
            }
            (other, _) => anyhow::bail!("{other} is not baselined from the shop"),
        };
        if !started {
            progress(Progress::Start(flow, total));
            progress(Progress::Done(
                ((page - 1) as u64 * reader.page_size as u64).min(total),
            ));
            started = true;
        }
        let erp = Erp {
            store,
            flow: flow_name,
            bound,
            desired: &erp_desired,
        };
        let out = match flow {
            Flow::Products => {
                let ctx = ProductContext {
                    target: &target,
                    bound,
                    parents: &parents,
                    options: &options,
                };
                products_page(&ctx, &erp, &items)?
            }
            Flow::Stock => stock_page(reader, &target, bound, &erp, &items)?,
            _ => customers_page(&target, bound, &erp, &items)?,
        };
        store.record_applied(&target.name, flow_name, &out.acks)?;
        resume.adopted += out.acks.len() as u64;
        resume.shop_only += out.shop_only;
        for reason in out.skipped {
            match resume.skipped.iter_mut().find(|(r, _)| r == reason) {
                Some((_, n)) => *n += 1,
                None => resume.skipped.push((reason.to_string(), 1)),
            }
        }
        resume.page += 1;
        let finished = (page as u64) * (reader.page_size as u64) >= total || items.is_empty();
        let mark = if finished {
            "done".to_string()
        } else {
            serde_json::to_string(&resume)?
        };
        store.set_watermark(&scope, &mark)?;
        progress(Progress::Done(
            ((page as u64) * reader.page_size as u64).min(total),
        ));
        if finished {
            break;
        }
    }
    let applied = store.applied_snapshot(&target.name, flow_name)?;
    let erp_only = erp_desired
        .snapshot
        .entries
        .iter()
        .filter(|e| !e.is_removed())
        .filter(|e| applied.get(e.key_hash).is_none_or(|a| a.is_removed()))
        .count() as u64;
    Ok(FlowReport {
        target: target.name.clone(),
        flow: flow.as_str().to_string(),
        adopted: resume.adopted,
        shop_only: resume.shop_only,
        erp_only,
        skipped: resume.skipped,
        erp_known,
    })
}

fn acks_of(
    bound: &BoundSpec,
    erp: &Erp,
    read: Vec<ReadBack>,
    out: &mut PageOut,
) -> anyhow::Result<()> {
    for r in read {
        // A value the ERP's layout cannot hold (a name longer than the
        // field): not an entity ponte could have written; counted, not fatal.
        let ack = match r.ack(bound) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("not adopted: {e}");
                out.skipped.push("a value the ERP layout cannot hold");
                continue;
            }
        };
        if !erp.knows(ack.key_hash) {
            out.shop_only += 1;
        }
        out.acks.push(ack);
    }
    Ok(())
}

fn products_page(ctx: &ProductContext, erp: &Erp, items: &[Json]) -> anyhow::Result<PageOut> {
    let keys: Vec<String> = items
        .iter()
        .filter_map(|i| i.get("sku").and_then(Json::as_str))
        .map(str::to_string)
        .collect();
    let desired = erp.payloads(&keys)?;
    let mut out = PageOut::default();
    let mut read = Vec::new();
    for item in items {
        let sku = item.get("sku").and_then(Json::as_str).unwrap_or_default();
        match readback::product(ctx, item, desired.get(sku)) {
            Ok(r) => read.push(r),
            Err(_) => out.skipped.push("a product without a SKU"),
        }
    }
    acks_of(ctx.bound, erp, read, &mut out)?;
    Ok(out)
}

fn stock_page(
    reader: &ShopReader,
    target: &Target,
    bound: &BoundSpec,
    erp: &Erp,
    items: &[Json],
) -> anyhow::Result<PageOut> {
    let mut out = PageOut::default();
    // (SKU, the warehouses summed at its place, the quantity Magento holds)
    let mut places: Vec<(&str, Vec<&str>, Option<Json>)> = Vec::new();
    for item in items {
        let Some(sku) = item.get("sku").and_then(Json::as_str) else {
            out.skipped.push("a stock row without a SKU");
            continue;
        };
        let (warehouses, quantity) = match target.stock {
            StockMode::MultiSource => {
                let source = item
                    .get("source_code")
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                (
                    crate::push::payload::warehouses_at(target, Some(source)).collect::<Vec<_>>(),
                    item.get("quantity").cloned(),
                )
            }
            StockMode::SingleSource => {
                if item.get("type_id").and_then(Json::as_str) == Some("configurable") {
                    continue;
                }
                let qty = match item.pointer("/extension_attributes/stock_item/qty") {
                    Some(q) => Some(q.clone()),
                    None => {
                        let path = format!("/V1/stockItems/{}", path_segment(sku));
                        match reader.get(&path, &[]) {
                            Ok(s) => s.get("qty").cloned(),
                            Err(ApiError::NotFound { .. }) => None,
                            Err(e) => return Err(e.into()),
                        }
                    }
                };
                let Some(qty) = qty else {
                    out.skipped.push("a product without a stock item");
                    continue;
                };
                (
                    crate::push::payload::warehouses_at(target, None).collect(),
                    Some(qty),
                )
            }
        };
        if warehouses.is_empty() {
            out.skipped
                .push("stock at a source no warehouse maps to (target sources)");
            continue;
        }
        places.push((sku, warehouses, quantity));
    }
    // Magento holds sums: what the ERP says of every warehouse summed is
    // needed to tell whether they add up (see `readback::stock_split`).
    let keys: Vec<String> = places
        .iter()
        .flat_map(|(sku, warehouses, _)| warehouses.iter().map(move |w| format!("{sku}/{w}")))
        .collect();
    let desired = erp.payloads(&keys)?;
    let mut read = Vec::new();
    for (sku, warehouses, quantity) in places {
        read.extend(readback::stock_split(
            bound,
            sku,
            &warehouses,
            quantity.as_ref(),
            |w| desired.get(&format!("{sku}/{w}")).cloned(),
        ));
    }
    acks_of(bound, erp, read, &mut out)?;
    Ok(out)
}

fn customers_page(
    target: &Target,
    bound: &BoundSpec,
    erp: &Erp,
    items: &[Json],
) -> anyhow::Result<PageOut> {
    let mut out = PageOut::default();
    let coded: Vec<(String, &Json)> = items
        .iter()
        .filter_map(|i| match readback::customer_code(i) {
            Some(code) => Some((code, i)),
            None => {
                out.skipped
                    .push("in the shop only: no erp_customer_code, not ponte's");
                None
            }
        })
        .collect();
    let keys: Vec<String> = coded.iter().map(|(c, _)| c.clone()).collect();
    let desired = erp.payloads(&keys)?;
    let read: Vec<ReadBack> = coded
        .into_iter()
        .map(|(code, item)| {
            let d = desired.get(&code);
            readback::customer(target, bound, code, item, d)
        })
        .collect();
    acks_of(bound, erp, read, &mut out)?;
    Ok(out)
}
