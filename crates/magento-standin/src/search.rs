//! Search criteria from the query string, applied the way Magento's
//! collection processor applies them.
//!
//! `searchCriteria[filterGroups][G][filters][F][field|value|conditionType]`,
//! `searchCriteria[sortOrders][S][field|direction]`, `searchCriteria[pageSize]`,
//! `searchCriteria[currentPage]` (the snake_case spellings too, as Magento's
//! input processor maps both onto the same setters). Filters of one group are
//! OR-ed, groups are AND-ed. Comparisons follow MySQL: numbers as numbers,
//! text case-insensitively (utf8 general collation), `like` with `%` and `_`.
//!
//! Paging: no `pageSize` (or 0) means every item. A `currentPage` past the
//! end answers the LAST page again, not an empty one: Magento's
//! `Data\Collection::getCurPage()` clamps the page to the last page number,
//! so a client must stop by `total_count`, never by an empty page. The
//! response's `search_criteria` echoes what was asked (the page asked, not
//! the page given).

use std::cmp::Ordering;

use serde_json::{json, Map, Value as Json};

use super::errors::{ApiError, ApiResult};

/// (field, value, condition type) as read from the query, before checking.
type RawFilter = (Option<String>, Option<String>, Option<String>);

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filter {
    pub(crate) field: String,
    pub(crate) value: String,
    pub(crate) condition_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortOrder {
    pub(crate) field: String,
    pub(crate) direction: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SearchCriteria {
    pub(crate) filter_groups: Vec<Vec<Filter>>,
    pub(crate) sort_orders: Vec<SortOrder>,
    pub(crate) page_size: Option<i64>,
    pub(crate) current_page: Option<i64>,
}

/// Decodes `%XX` and `+` of a query-string component.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query string as decoded (key, value) pairs, in order.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(p, true), String::new()),
        })
        .collect()
}

/// `a[b][0][c]` as `["a", "b", "0", "c"]`.
fn key_path(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    parts.push(head.to_string());
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(end) => {
                parts.push(stripped[..end].to_string());
                rest = &stripped[end + 1..];
            }
            None => break,
        }
    }
    parts
}

fn normalize(name: &str) -> String {
    name.replace('_', "").to_ascii_lowercase()
}

fn index(s: &str) -> ApiResult<usize> {
    s.parse::<usize>()
        .ok()
        .filter(|i| *i < 10_000)
        .ok_or_else(|| ApiError::invalid_type(&json!(s), "int"))
}

fn int_value(s: &str) -> ApiResult<i64> {
    super::input::to_int(&json!(s))
}

impl SearchCriteria {
    /// Reads `searchCriteria` from a query string. `Ok(None)` when the query
    /// has no `searchCriteria` at all (Magento: the parameter is required).
    pub(crate) fn from_query(query: &str) -> ApiResult<Option<SearchCriteria>> {
        let mut found = false;
        let mut groups: Vec<Vec<RawFilter>> = Vec::new();
        let mut sorts: Vec<(Option<String>, Option<String>)> = Vec::new();
        let mut sc = SearchCriteria::default();
        for (key, value) in query_pairs(query) {
            let path = key_path(&key);
            if normalize(&path[0]) != "searchcriteria" {
                continue;
            }
            found = true;
            let names: Vec<String> = path.iter().map(|p| normalize(p)).collect();
            match names.get(1).map(String::as_str) {
                Some("filtergroups") => {
                    let (Some(g), Some(filters), Some(f), Some(prop)) =
                        (path.get(2), names.get(3), path.get(4), names.get(5))
                    else {
                        continue;
                    };
                    if filters != "filters" {
                        continue;
                    }
                    let (g, f) = (index(g)?, index(f)?);
                    if groups.len() <= g {
                        groups.resize(g + 1, Vec::new());
                    }
                    if groups[g].len() <= f {
                        groups[g].resize(f + 1, (None, None, None));
                    }
                    match prop.as_str() {
                        "field" => groups[g][f].0 = Some(value),
                        "value" => groups[g][f].1 = Some(value),
                        "conditiontype" => groups[g][f].2 = Some(value),
                        _ => {}
                    }
                }
                Some("sortorders") => {
                    let (Some(s), Some(prop)) = (path.get(2), names.get(3)) else {
                        continue;
                    };
                    let s = index(s)?;
                    if sorts.len() <= s {
                        sorts.resize(s + 1, (None, None));
                    }
                    match prop.as_str() {
                        "field" => sorts[s].0 = Some(value),
                        "direction" => sorts[s].1 = Some(value),
                        _ => {}
                    }
                }
                Some("pagesize") => sc.page_size = Some(int_value(&value)?),
                Some("currentpage") => sc.current_page = Some(int_value(&value)?),
                _ => {}
            }
        }
        if !found {
            return Ok(None);
        }
        for group in groups {
            let mut filters = Vec::new();
            for (field, value, condition_type) in group {
                match field {
                    Some(field) => filters.push(Filter {
                        field,
                        value: value.unwrap_or_default(),
                        condition_type,
                    }),
                    // A filter without its field: Magento's `Filter` is
                    // built without one and the collection rejects it.
                    None if value.is_some() || condition_type.is_some() => {
                        return Err(ApiError::required_field("field"));
                    }
                    None => {}
                }
            }
            sc.filter_groups.push(filters);
        }
        for (field, direction) in sorts {
            let Some(field) = field else { continue };
            let direction = direction
                .unwrap_or_else(|| "ASC".into())
                .to_ascii_uppercase();
            if direction != "ASC" && direction != "DESC" {
                return Err(ApiError::bad_request(
                    "Sort order \"%1\" is not supported. Enter a correct sort order and try again.",
                )
                .with_args([direction]));
            }
            sc.sort_orders.push(SortOrder { field, direction });
        }
        Ok(Some(sc))
    }

    /// The `search_criteria` object of a search result.
    pub(crate) fn echo(&self) -> Json {
        let groups: Vec<Json> = self
            .filter_groups
            .iter()
            .map(|g| {
                let filters: Vec<Json> = g
                    .iter()
                    .map(|f| {
                        let mut m = Map::new();
                        m.insert("field".into(), json!(f.field));
                        m.insert("value".into(), json!(f.value));
                        if let Some(c) = &f.condition_type {
                            m.insert("condition_type".into(), json!(c));
                        }
                        Json::Object(m)
                    })
                    .collect();
                json!({ "filters": filters })
            })
            .collect();
        let mut m = Map::new();
        m.insert("filter_groups".into(), Json::Array(groups));
        if !self.sort_orders.is_empty() {
            m.insert(
                "sort_orders".into(),
                json!(self
                    .sort_orders
                    .iter()
                    .map(|s| json!({"field": s.field, "direction": s.direction}))
                    .collect::<Vec<_>>()),
            );
        }
        if let Some(p) = self.page_size {
            m.insert("page_size".into(), json!(p));
        }
        if let Some(p) = self.current_page {
            m.insert("current_page".into(), json!(p));
        }
        Json::Object(m)
    }

    pub(crate) fn matches(&self, item: &Json) -> bool {
        self.filter_groups
            .iter()
            .all(|g| g.is_empty() || g.iter().any(|f| filter_matches(f, item)))
    }

    /// Filters, sorts and pages `items` (default order: as given, which is
    /// entity id order); returns the page and the total count.
    pub(crate) fn apply(&self, items: &[Json]) -> (Vec<Json>, usize) {
        let mut hits: Vec<&Json> = items.iter().filter(|i| self.matches(i)).collect();
        if !self.sort_orders.is_empty() {
            hits.sort_by(|a, b| {
                for s in &self.sort_orders {
                    let o = compare_fields(field(a, &s.field), field(b, &s.field));
                    let o = if s.direction == "DESC" {
                        o.reverse()
                    } else {
                        o
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
        }
        let total = hits.len();
        let page: Vec<Json> = match self.page_size.filter(|s| *s > 0) {
            None => hits.into_iter().cloned().collect(),
            Some(size) => {
                let size = size as usize;
                let last = total.div_ceil(size).max(1);
                let current = (self.current_page.unwrap_or(1).max(1) as usize).min(last);
                hits.into_iter()
                    .skip((current - 1) * size)
                    .take(size)
                    .cloned()
                    .collect()
            }
        };
        (page, total)
    }
}

/// A field of an entity: a top-level key, else a custom attribute.
pub(crate) fn field<'a>(item: &'a Json, name: &str) -> Option<&'a Json> {
    if let Some(v) = item.get(name) {
        return Some(v);
    }
    item.get("custom_attributes")
        .and_then(Json::as_array)
        .and_then(|attrs| {
            attrs
                .iter()
                .find(|a| a.get("attribute_code").and_then(Json::as_str) == Some(name))
        })
        .and_then(|a| a.get("value"))
}

fn as_text(v: &Json) -> Option<String> {
    match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        Json::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

fn as_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// MySQL-like comparison of a stored value with a filter value.
fn compare_text(a: &str, b: &str) -> Ordering {
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

fn compare_fields(a: Option<&Json>, b: Option<&Json>) -> Ordering {
    match (a.and_then(as_text), b.and_then(as_text)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => compare_text(&a, &b),
    }
}

/// SQL `LIKE` with `%` and `_`, case-insensitive.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || (p[pi] != '%' && p[pi] == t[ti])) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

fn filter_matches(f: &Filter, item: &Json) -> bool {
    let stored = field(item, &f.field).and_then(as_text);
    let cond = f
        .condition_type
        .as_deref()
        .unwrap_or("eq")
        .to_ascii_lowercase();
    let list = || f.value.split(',').map(str::trim).collect::<Vec<_>>();
    match cond.as_str() {
        "null" => stored.is_none(),
        "notnull" => stored.is_some(),
        _ => {
            let Some(s) = stored else {
                // SQL: a comparison with NULL is never true.
                return false;
            };
            match cond.as_str() {
                "neq" => compare_text(&s, &f.value) != Ordering::Equal,
                "gt" => compare_text(&s, &f.value) == Ordering::Greater,
                "gteq" | "moreq" | "from" => compare_text(&s, &f.value) != Ordering::Less,
                "lt" => compare_text(&s, &f.value) == Ordering::Less,
                "lteq" | "to" => compare_text(&s, &f.value) != Ordering::Greater,
                "like" => like(&s, &f.value),
                "nlike" => !like(&s, &f.value),
                "in" => list()
                    .iter()
                    .any(|v| compare_text(&s, v) == Ordering::Equal),
                "nin" => list()
                    .iter()
                    .all(|v| compare_text(&s, v) != Ordering::Equal),
                "finset" => s
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(f.value.trim())),
                // eq, and (as Magento's SQL builder does) anything unknown.
                _ => compare_text(&s, &f.value) == Ordering::Equal,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(q: &str) -> SearchCriteria {
        SearchCriteria::from_query(q).unwrap().unwrap()
    }

    #[test]
    fn parses_the_query_string_form() {
        let q = "searchCriteria[filterGroups][0][filters][0][field]=updated_at&searchCriteria[filterGroups][0][filters][0][value]=2026-11-27%2010:00:00&searchCriteria[filterGroups][0][filters][0][conditionType]=gt&searchCriteria[sortOrders][0][field]=updated_at&searchCriteria[sortOrders][0][direction]=asc&searchCriteria[pageSize]=2&searchCriteria[currentPage]=1";
        let c = sc(q);
        assert_eq!(c.filter_groups[0][0].value, "2026-11-27 10:00:00");
        assert_eq!(c.filter_groups[0][0].condition_type.as_deref(), Some("gt"));
        assert_eq!(c.sort_orders[0].direction, "ASC");
        assert_eq!(c.page_size, Some(2));
        assert_eq!(
            c.echo()["filter_groups"][0]["filters"][0]["condition_type"],
            "gt"
        );
        assert_eq!(SearchCriteria::from_query("foo=1").unwrap(), None);
        assert_eq!(
            SearchCriteria::from_query("searchCriteria=").unwrap(),
            Some(SearchCriteria::default())
        );
        assert!(SearchCriteria::from_query("searchCriteria[pageSize]=x").is_err());
        assert!(SearchCriteria::from_query(
            "searchCriteria[sortOrders][0][field]=a&searchCriteria[sortOrders][0][direction]=up"
        )
        .is_err());
    }

    #[test]
    fn groups_and_filters_combine_like_magento() {
        let items: Vec<Json> = (1..=6)
            .map(|i| json!({"id": i, "status": if i % 2 == 0 {"pending"} else {"complete"}, "email": format!("U{i}@x.it")}))
            .collect();
        // (status = pending) AND (id = 2 OR id = 6)
        let c = sc("searchCriteria[filter_groups][0][filters][0][field]=status&searchCriteria[filter_groups][0][filters][0][value]=pending&searchCriteria[filter_groups][1][filters][0][field]=id&searchCriteria[filter_groups][1][filters][0][value]=2&searchCriteria[filter_groups][1][filters][1][field]=id&searchCriteria[filter_groups][1][filters][1][value]=6");
        let (page, total) = c.apply(&items);
        assert_eq!(total, 2);
        assert_eq!(page[1]["id"], 6);
        // eq is case-insensitive, in takes a list
        let c = sc("searchCriteria[filterGroups][0][filters][0][field]=email&searchCriteria[filterGroups][0][filters][0][value]=u3@X.IT");
        assert_eq!(c.apply(&items).1, 1);
        let c = sc("searchCriteria[filterGroups][0][filters][0][field]=id&searchCriteria[filterGroups][0][filters][0][value]=1,%203&searchCriteria[filterGroups][0][filters][0][conditionType]=in");
        assert_eq!(c.apply(&items).1, 2);
        let c = sc("searchCriteria[filterGroups][0][filters][0][field]=email&searchCriteria[filterGroups][0][filters][0][value]=u_%25&searchCriteria[filterGroups][0][filters][0][conditionType]=like");
        assert_eq!(c.apply(&items).1, 6);
    }

    #[test]
    fn pages_past_the_end_give_the_last_page() {
        let items: Vec<Json> = (1..=5).map(|i| json!({"id": i})).collect();
        let c = sc("searchCriteria[pageSize]=2&searchCriteria[currentPage]=9&searchCriteria[sortOrders][0][field]=id&searchCriteria[sortOrders][0][direction]=DESC");
        let (page, total) = c.apply(&items);
        assert_eq!(total, 5);
        assert_eq!(page, vec![json!({"id": 1})]);
        assert_eq!(c.echo()["current_page"], 9);
    }

    #[test]
    fn custom_attributes_are_fields() {
        let c = json!({"custom_attributes": [{"attribute_code": "erp_customer_code", "value": "C000123"}]});
        assert_eq!(field(&c, "erp_customer_code"), Some(&json!("C000123")));
    }

    #[test]
    fn decoding_is_total() {
        assert_eq!(percent_decode("a%2Fb+c%", true), "a/b c%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
    }
}
