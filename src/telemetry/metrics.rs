//! The service's counters and gauges, in Prometheus' text format on
//! `/metrics`. One process-wide registry: the flows count into it whether
//! or not `[http]` serves it, which costs an atomic add.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FileLabels {
    pub flow: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EntityLabels {
    pub target: String,
    pub flow: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub target: String,
    pub endpoint: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EndpointLabels {
    pub endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TargetLabels {
    pub target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FlowTargetLabels {
    pub flow: String,
    pub target: String,
}

type Latency = Family<EndpointLabels, Histogram, fn() -> Histogram>;

pub(crate) struct Metrics {
    registry: Registry,
    pub files: Family<FileLabels, Counter>,
    pub entities: Family<EntityLabels, Counter>,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Latency,
    pub retries: Family<TargetLabels, Counter>,
    pub backlog: Gauge,
    pub oldest_waiting: Gauge,
    pub last_applied: Family<FlowTargetLabels, Gauge>,
    pub orders_last_poll: Family<TargetLabels, Gauge>,
    pub orders_exported: Family<TargetLabels, Counter>,
}

fn latency_buckets() -> Histogram {
    // 5 ms to about 40 s: a product save under load takes seconds.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub(crate) fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            registry: Registry::default(),
            files: Family::default(),
            entities: Family::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_buckets),
            retries: Family::default(),
            backlog: Gauge::default(),
            oldest_waiting: Gauge::default(),
            last_applied: Family::default(),
            orders_last_poll: Family::default(),
            orders_exported: Family::default(),
        };
        // Counters are registered without `_total`: the encoder adds it.
        registry.register(
            "ponte_files",
            "Files handled, by flow and outcome",
            m.files.clone(),
        );
        registry.register(
            "ponte_entities",
            "Entities sent, by target, flow and outcome (applied, failed)",
            m.entities.clone(),
        );
        registry.register(
            "ponte_requests",
            "Magento API requests, by target, endpoint and HTTP status (error: no answer)",
            m.requests.clone(),
        );
        registry.register(
            "ponte_request_duration_seconds",
            "Magento API request latency, by endpoint",
            m.latency.clone(),
        );
        registry.register(
            "ponte_retries",
            "Entities sent again after a failure, by target",
            m.retries.clone(),
        );
        registry.register(
            "ponte_backlog_files",
            "Files in inbound and in progress at the last scan",
            m.backlog.clone(),
        );
        registry.register(
            "ponte_oldest_waiting_file_age_seconds",
            "Age of the oldest file in inbound at the last scan",
            m.oldest_waiting.clone(),
        );
        registry.register(
            "ponte_last_applied_timestamp_seconds",
            "When a file of the flow last applied on the target (Unix time)",
            m.last_applied.clone(),
        );
        registry.register(
            "ponte_orders_last_poll_timestamp_seconds",
            "When the target's orders were last polled successfully (Unix time)",
            m.orders_last_poll.clone(),
        );
        registry.register(
            "ponte_orders_exported",
            "Orders written to the ERP, by target",
            m.orders_exported.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Everything in Prometheus' text exposition format.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// The counters of every configured target at zero, so that a rate
    /// over them is defined before the first event (a family without a
    /// series is not exposed at all).
    pub(crate) fn declare(&self, targets: &[(String, bool)]) {
        for (target, takes_orders) in targets {
            let t = TargetLabels {
                target: target.clone(),
            };
            let _ = self.retries.get_or_create(&t);
            if *takes_orders {
                let _ = self.orders_exported.get_or_create(&t);
            }
        }
    }

    pub(crate) fn file(&self, flow: &str, outcome: &str) {
        self.files
            .get_or_create(&FileLabels {
                flow: flow.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub(crate) fn entities(&self, target: &str, flow: &str, outcome: &str, n: u64) {
        self.entities
            .get_or_create(&EntityLabels {
                target: target.to_string(),
                flow: flow.to_string(),
                outcome: outcome.to_string(),
            })
            .inc_by(n);
    }

    /// One answered (or unanswered: `status` None) request to `path`.
    pub(crate) fn request(&self, target: &str, path: &str, status: Option<u16>, seconds: f64) {
        let endpoint = endpoint_of(path);
        self.requests
            .get_or_create(&RequestLabels {
                target: target.to_string(),
                endpoint: endpoint.clone(),
                status: status.map_or_else(|| "error".to_string(), |s| s.to_string()),
            })
            .inc();
        self.latency
            .get_or_create(&EndpointLabels { endpoint })
            .observe(seconds);
    }

    pub(crate) fn retried(&self, target: &str, n: u64) {
        self.retries
            .get_or_create(&TargetLabels {
                target: target.to_string(),
            })
            .inc_by(n);
    }

    pub(crate) fn applied_at(&self, flow: &str, target: &str, secs: i64) {
        self.last_applied
            .get_or_create(&FlowTargetLabels {
                flow: flow.to_string(),
                target: target.to_string(),
            })
            .set(secs);
    }

    pub(crate) fn orders_polled(&self, target: &str, secs: i64, exported: u64) {
        let t = TargetLabels {
            target: target.to_string(),
        };
        self.orders_last_poll.get_or_create(&t).set(secs);
        self.orders_exported.get_or_create(&t).inc_by(exported);
    }
}

/// Segments after these name one thing (a SKU, an order id): the
/// endpoint label keeps the resource, not the thing, or every product
/// would be a series of its own.
const COLLECTIONS: &[&str] = &[
    "products",
    "configurable-products",
    "customers",
    "orders",
    "order",
    "invoices",
    "shipment",
    "shipments",
    "stockItems",
    "categories",
    "options",
    "media",
    "children",
    "child",
];

/// Words that follow a collection and are not an id.
const NOT_IDS: &[&str] = &[
    "search",
    "attributes",
    "items",
    "options",
    "types",
    "media",
    "me",
    "children",
    "child",
    "comments",
    "ship",
    "invoice",
    "stockItems",
    "links",
];

/// `/V1/products/ABC-1/media` as `/V1/products/{id}/media`.
pub(crate) fn endpoint_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    // A full URL: the scheme, host and store code are not the endpoint.
    let path = path.find("/V1/").map_or(path, |at| &path[at..]);
    let mut out = String::new();
    let mut prev = "";
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        let names_one = COLLECTIONS.contains(&prev) && !NOT_IDS.contains(&seg);
        if names_one || (seg.chars().any(|c| c.is_ascii_digit()) && seg != "V1") {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
        }
        prev = seg;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_name_the_resource_not_the_entity() {
        assert_eq!(
            endpoint_of("/V1/products/shoe/media"),
            "/V1/products/{id}/media"
        );
        assert_eq!(endpoint_of("/V1/products"), "/V1/products");
        assert_eq!(
            endpoint_of("https://shop.example:8443/rest/default/V1/products/9"),
            "/V1/products/{id}"
        );
        assert_eq!(
            endpoint_of("/V1/inventory/source-items"),
            "/V1/inventory/source-items"
        );
        assert_eq!(endpoint_of("/V1/order/42/ship"), "/V1/order/{id}/ship");
        assert_eq!(
            endpoint_of("/V1/customers/search?x=1"),
            "/V1/customers/search"
        );
        assert_eq!(
            endpoint_of("/V1/products/A/stockItems/7"),
            "/V1/products/{id}/stockItems/{id}"
        );
    }
}
