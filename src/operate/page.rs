//! The status page and its detail pages: server-rendered HTML (maud
//! escapes every value), one inline stylesheet, no script, no external
//! asset, readable on a phone. It shows what the commands show and
//! nothing of the configuration: no URL, no token, no credential.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::report::*;

/// Seconds between the page's own reloads.
pub(crate) const REFRESH_SECS: u32 = 30;

const STYLE: &str = r#"
:root{color-scheme:light dark;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--line:#8884}
body{font:15px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;padding:.75rem;max-width:72rem}
h1{font-size:1.3rem;margin:.2rem 0 .6rem}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:.6rem}
.card{border:1px solid var(--line);border-radius:.5rem;padding:.5rem .7rem}
.card b{display:block}.muted{opacity:.7;font-size:.9em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:.3rem .45rem;border-bottom:1px solid var(--line);vertical-align:top}
th{white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
code,pre{font:13px ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word}
a{color:inherit}
@media (max-width:40rem){
table.s,table.s tbody,table.s tr,table.s td{display:block}
table.s tr:first-child{display:none}
table.s tr{border:1px solid var(--line);border-radius:.5rem;margin:.45rem 0;padding:.3rem .55rem}
table.s td{border:0;padding:.08rem 0;display:flex;gap:.6rem;text-align:left}
table.s td::before{content:attr(data-l);flex:0 0 6.5rem;font-weight:600;opacity:.7}
}
"#;

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(REFRESH_SECS);
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (body)
                p.muted { "Refreshes every " (REFRESH_SECS) " s · " a href="/" { "status" } " · " a href="/metrics" { "metrics" } }
            }
        }
    }
}

fn outcome_class(outcome: &str) -> &'static str {
    match outcome {
        "applied" | "duplicate" => "ok",
        "applied-with-failures" | "claimed" => "warn",
        _ => "bad",
    }
}

fn or_dash(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("—")
}

/// Percent-encodes a path segment (a key may hold `/`, `#`, spaces).
fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn entity_href(flow: &str, key: &str) -> String {
    format!("/entity/{}/{}", segment(flow), segment(key))
}

/// `/`: the status, the last files, the failures.
pub(crate) fn status(s: &StatusReport, files: &[FileRow], failures: &[FailureRow]) -> Markup {
    let body = html! {
        h1 { "ponte" }
        div.cards {
            div.card {
                b { "Service" }
                @if s.service.running {
                    span.ok { "running" } " · pid " (s.service.pid.map(|p| p.to_string()).unwrap_or_default())
                    div.muted { "since " (or_dash(&s.service.since)) }
                } @else {
                    span.bad { "not running" }
                }
                div.muted { "last scan " (or_dash(&s.service.last_scan)) }
                div.muted { "last file " (or_dash(&s.service.last_activity)) }
            }
            div.card {
                b { "Share" }
                (s.waiting.len()) " waiting · " (s.in_progress.len()) " in progress"
                div.muted { (s.rejected_recently.len()) " rejected in 7 days" }
            }
            div.card {
                b { "Failing entities" }
                @if failures.is_empty() { span.ok { "none" } } @else { span.bad { (failures.len()) } }
            }
        }
        @if !s.waiting.is_empty() {
            h2 { "Waiting in inbound" }
            div.scroll { table.s {
                tr { th { "File" } th { "Flow" } th { "Why" } th { "Age" } }
                @for w in &s.waiting {
                    tr { td data-l="File" { (w.name) } td data-l="Flow" { (w.flow.as_deref().unwrap_or("—")) } td data-l="Why" { (w.why) } td.n data-l="Age" { (w.age_seconds) " s" } }
                }
            } }
        }
        h2 { "Flows" }
        div.scroll { table.s {
            tr { th { "Flow" } th { "Target" } th { "Last applied file" } th { "When" } th { "Failing" } th { "Next retry" } }
            @for f in &s.flows {
                tr {
                    td data-l="Flow" { (f.flow) } td data-l="Target" { (f.target) } td data-l="Last file" { (or_dash(&f.last_file)) } td data-l="When" { (or_dash(&f.last_applied_at)) }
                    td.n data-l="Failing" { @if f.failing > 0 { span.bad { (f.failing) } } @else { "0" } }
                    td data-l="Next retry" { (or_dash(&f.next_retry)) }
                }
            }
        } }
        @if !s.orders.is_empty() {
            h2 { "Orders" }
            div.scroll { table.s {
                tr { th { "Target" } th { "Last poll" } th { "Watermark" } th { "Last ORD file" } th { "Orders" } }
                @for o in &s.orders {
                    tr { td data-l="Target" { (o.target) } td data-l="Last poll" { (or_dash(&o.last_poll)) } td data-l="Watermark" { (or_dash(&o.watermark)) } td data-l="Last ORD file" { (or_dash(&o.last_file)) } td.n data-l="Orders" { (o.last_file_orders) } }
                }
            } }
        }
        h2 { "Failures" }
        (failure_table(failures))
        h2 { "Last files" }
        (file_table(files))
    };
    layout("ponte status", body)
}

fn failure_table(failures: &[FailureRow]) -> Markup {
    html! {
        @if failures.is_empty() {
            p.ok { "Nothing refused." }
        } @else {
            div.scroll { table.s {
                tr { th { "Key" } th { "Flow" } th { "Target" } th { "Magento said" } th { "Attempts" } th { "Next retry" } }
                @for f in failures {
                    tr {
                        td data-l="Key" { a href=(entity_href(&f.flow, &f.key)) { (f.key) } }
                        td data-l="Flow" { (f.flow) } td data-l="Target" { (f.target) }
                        td.bad data-l="Magento said" { (f.message) }
                        td.n data-l="Attempts" { (f.attempts) }
                        td data-l="Next retry" { (or_dash(&f.next_retry)) }
                    }
                }
            } }
        }
    }
}

fn file_table(files: &[FileRow]) -> Markup {
    html! {
        div.scroll { table.s {
            tr { th { "When" } th { "File" } th { "Outcome" } th { "Sent" } th { "Unchanged" } th { "Failed" } }
            @for f in files {
                tr {
                    td data-l="When" { (or_dash(&f.finished_at)) }
                    td data-l="File" { a href={ "/file/" (f.id) } { (f.name) } }
                    td class=(outcome_class(&f.outcome)) data-l="Outcome" { (f.outcome) }
                    td.n data-l="Sent" { (f.targets.iter().map(|t| t.sent).sum::<u64>()) }
                    td.n data-l="Unchanged" { (f.targets.iter().map(|t| t.unchanged).sum::<u64>()) }
                    td.n data-l="Failed" { (f.targets.iter().map(|t| t.failed).sum::<u64>()) }
                }
            }
        } }
    }
}

/// `/file/ID`: one file's history row, per target.
pub(crate) fn file(f: &FileRow) -> Markup {
    let body = html! {
        h1 { (f.name) }
        p { span class=(outcome_class(&f.outcome)) { (f.outcome) } " · " (f.flow) }
        div.scroll { table {
            tr { th { "First seen" } td { (or_dash(&f.first_seen)) } }
            tr { th { "Finished" } td { (or_dash(&f.finished_at)) } }
            tr { th { "Duration" } td { (f.duration_ms.map(|d| format!("{:.1} s", d as f64 / 1000.0)).unwrap_or_else(|| "—".into())) } }
            tr { th { "Now in" } td { code { (or_dash(&f.location)) } } }
            @if let Some(e) = &f.error { tr { th { "Why" } td.bad { pre { (e) } } } }
        } }
        h2 { "Targets" }
        div.scroll { table.s {
            tr { th { "Target" } th { "Sent" } th { "Unchanged" } th { "Failed" } }
            @for t in &f.targets {
                tr { td data-l="Target" { (t.target) } td.n data-l="Sent" { (t.sent) } td.n data-l="Unchanged" { (t.unchanged) } td.n data-l="Failed" { (t.failed) } }
            }
        } }
    };
    layout(&f.name, body)
}

/// `/entity/FLOW/KEY`: what `show` gives.
pub(crate) fn entity(d: &KeyDetail) -> Markup {
    let body = html! {
        h1 { (d.key) }
        h2 { "What the ERP said" }
        @if d.desired.is_empty() { p.muted { "Nothing recorded for this key." } }
        @for x in &d.desired {
            div.card {
                b { (x.flow) }
                div.muted { "from " (or_dash(&x.file)) @if let Some(l) = x.line { ", line " (l) } }
                pre { (serde_json::to_string_pretty(&x.fields).unwrap_or_default()) }
            }
        }
        h2 { "What the targets acknowledged" }
        div.scroll { table.s {
            tr { th { "Target" } th { "Flow" } th { "When" } }
            @for a in &d.applied { tr { td data-l="Target" { (a.target) } td data-l="Flow" { (a.flow) } td data-l="When" { (or_dash(&a.at)) } } }
        } }
        h2 { "Failures" }
        (failure_table(&d.failures))
    };
    layout(&d.key, body)
}

pub(crate) fn not_found(what: &str) -> Markup {
    layout("not found", html! { h1 { "Not found" } p { (what) } })
}
