//! The commands' text output: columns aligned for a terminal, no borders,
//! so that `grep` and `awk` work on it too.

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};

pub(crate) fn table<const N: usize>(header: [&str; N], rows: Vec<[String; N]>) -> String {
    let mut t = Table::new();
    t.load_preset(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    for r in rows {
        t.add_row(r);
    }
    // comfy-table pads each cell by one space on both sides.
    t.lines()
        .map(|l| l.trim_end().trim_start_matches(' ').to_string() + "\n")
        .collect()
}

pub(crate) fn dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}
