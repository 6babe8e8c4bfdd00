//! The guard against a complete file emptying a shop.
//!
//! A complete file removes whatever it no longer holds, so a file cut
//! short, or exported for the wrong company, would disable a whole
//! catalogue or zero its stock. Such a file is held back whole, before the
//! desired state is committed or anything is sent: it removes more than
//! `intake.max_removal_share` of what some target holds of its flow (the
//! entities that target acknowledged and still has, removed ones not
//! counted). A target that holds nothing yet has nothing to lose: the first
//! file is never held. An operator who means it replays the file with
//! `--allow-mass-removal`, or raises the share.

use serde::Serialize;

/// The configuration key that sets the share, as operators write it.
pub const SHARE_KEY: &str = "[intake] max_removal_share";
/// The flag that replays a held file.
pub const ALLOW_FLAG: &str = "--allow-mass-removal";

/// What a complete file would remove of one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemovalShare {
    pub target: String,
    pub removals: u64,
    /// The entities the target holds of the flow, not removed.
    pub holds: u64,
    /// `removals / holds`.
    pub share: f64,
    /// The share allowed.
    pub max_share: f64,
}

impl RemovalShare {
    pub fn new(target: &str, removals: u64, holds: u64, max_share: f64) -> RemovalShare {
        let share = if holds == 0 {
            0.0
        } else {
            removals as f64 / holds as f64
        };
        RemovalShare {
            target: target.to_string(),
            removals,
            holds,
            share,
            max_share,
        }
    }

    /// More removed than allowed. Compared as counts, so that 10 of 100 at
    /// a share of 0.1 is allowed whatever the rounding of 0.1.
    pub(crate) fn exceeds(&self) -> bool {
        self.removals > 0 && self.removals as f64 > self.max_share * self.holds as f64 + 1e-9
    }

    /// One line: `target b2c: 3109 removals of the 3110 it holds (99.9%),
    /// more than the 10% allowed`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "target {}: {} removals of the {} it holds ({}), more than the {} allowed",
            self.target,
            self.removals,
            self.holds,
            percent(self.share),
            percent(self.max_share)
        )
    }
}

/// `0.1` as `10%`, `0.125` as `12.5%`; rounded down, so that a file that
/// leaves something does not read as removing 100%.
pub(crate) fn percent(share: f64) -> String {
    let p = format!("{:.1}", (share * 1000.0 + 1e-9).floor() / 10.0);
    format!("{}%", p.strip_suffix(".0").unwrap_or(&p))
}

/// Why the file is held, in one line (the `.err` report's and the logs' `why`).
pub(crate) fn held_reason(over: &[RemovalShare]) -> String {
    let each: Vec<String> = over.iter().map(RemovalShare::describe).collect();
    format!(
        "held: a complete file that would remove too much ({}); nothing was sent. \
         If that is meant, replay it with {ALLOW_FLAG} (`ponte ingest`, `ponte reprocess`) \
         or raise {SHARE_KEY}",
        each.join("; ")
    )
}

/// What the operator reads in the report: the counts, then what to do
/// (`file`: where the held file is now, to replay it).
pub fn held_report(over: &[RemovalShare], file: &str) -> String {
    let mut text = String::from(
        "counts: what the file no longer holds (each is removed: a product disabled, a stock row set to 0),\n\
         of what the target acknowledged and still holds:\n",
    );
    for r in over {
        text.push_str(&format!("  {}\n", r.describe()));
    }
    let max = over.first().map_or(0.1, |r| r.max_share);
    text.push_str(&format!(
        "\nwhat to do: check the export: a complete (C) file must hold every entity of its flow, and this one\n\
         would remove more than {} of what a shop holds. Nothing of this file was sent to Magento and its\n\
         content was not recorded as the ERP's. If the removals are meant (a catalogue cleared on purpose):\n\
         \x20   ponte ingest {ALLOW_FLAG} {file}\n\
         or raise {SHARE_KEY} (now {max}) in the configuration and drop the file into the\n\
         inbound folder again.\n",
        percent(max)
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_exceeded_only_past_the_allowed_count() {
        let at = |removals, holds, max| RemovalShare::new("b2c", removals, holds, max).exceeds();
        assert!(!at(10, 100, 0.1), "exactly 10% is allowed");
        assert!(at(11, 100, 0.1));
        assert!(at(3109, 3110, 0.1));
        assert!(!at(0, 0, 0.1), "the first file removes nothing");
        assert!(!at(0, 100, 0.0));
        assert!(at(1, 100, 0.0), "0 allows no removal");
        assert!(!at(100, 100, 1.0), "1 allows everything");
    }

    #[test]
    fn shares_read_as_percentages() {
        assert_eq!(percent(0.1), "10%");
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(percent(3109.0 / 3110.0), "99.9%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(1.0 / 3.0), "33.3%");
    }
}
