//! A claimed file ponte could not take through its lifecycle: one its own
//! orders export wrote, one whose flow is not applied to Magento, one the
//! reader gives up on (a line longer than a block), one left incomplete.
//! Such a file goes to `rejected/` with a `NAME.err` report like any file
//! that failed validation, so that the service goes on with the next one
//! and a restart does not stumble on it again. A file that cannot even be
//! moved there is named to the caller, which leaves it alone.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::folders::unique_in;
use super::lifecycle::Claimed;
use crate::state::{FileFinish, FileRow, Store, StoreError};

/// Why a file was not processed, for its report.
pub(crate) struct Unprocessable<'a> {
    /// What was wrong, as one would say it to the operator.
    pub why: &'a str,
    /// What the operator can do about it.
    pub what_to_do: &'a str,
}

/// Where the file went.
pub(crate) enum Settled {
    Rejected(PathBuf),
    /// The rename into `rejected/` failed: the file stays where it was.
    Stuck(anyhow::Error),
}

/// Moves `c` to `rejected/` with its report and records it in the store.
/// Only the store's failure is an error: the rest is the file's fate.
pub(crate) fn reject(
    c: &Claimed,
    rejected: &Path,
    store: &mut Store,
    u: &Unprocessable<'_>,
) -> Result<Settled, StoreError> {
    let id = record(store, c, u.why)?;
    let dest = match move_into(&c.path, rejected, &c.name) {
        Ok(dest) => dest,
        Err(e) => return Ok(Settled::Stuck(e)),
    };
    store.finish_file(
        id,
        &FileFinish {
            place: dest.display().to_string(),
            ..FileFinish::default()
        },
    )?;
    let mut report = dest.as_os_str().to_os_string();
    report.push(".err");
    let text = format!(
        "file:   {}\nflow:   {}\nwhy:    {}\n\nwhat to do: {}\n",
        c.name, c.schema.flow, u.why, u.what_to_do
    );
    if let Err(e) = std::fs::write(PathBuf::from(&report), text) {
        tracing::warn!(file = %c.name, "cannot write the reject report: {e}");
    }
    Ok(Settled::Rejected(dest))
}

/// The files table says what became of it, so that `reprocess` and the
/// history see the rejection like any other.
/// Only the service settles such files, so their mode is `watch`.
fn record(store: &Store, c: &Claimed, why: &str) -> Result<i64, StoreError> {
    let earlier = store.files_with_hash(&c.content_hash)?;
    match earlier.iter().find(|f| f.status == "claimed") {
        Some(row) => {
            store.set_file_status(row.id, "rejected", Some(why))?;
            Ok(row.id)
        }
        None => store.insert_file(&FileRow {
            id: 0,
            content_hash: c.content_hash.clone(),
            name: c.name.clone(),
            flow: c.schema.flow.clone(),
            exported_at: None,
            mode: Some("watch".into()),
            status: "rejected".into(),
            records: 0,
            bad_records: 0,
            error: Some(why.to_string()),
        }),
    }
}

fn move_into(from: &Path, dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dest = unique_in(dir, name);
    std::fs::rename(from, &dest)
        .with_context(|| format!("cannot move {} to {}", from.display(), dest.display()))?;
    Ok(dest)
}

/// The report's advice for a file the lifecycle failed on.
pub(crate) const FIX_AND_DROP_AGAIN: &str =
    "ponte stopped at this error: nothing after it was sent to Magento. Fix the export in the\n\
     ERP (or the schema, if the layout changed) and drop the corrected file into the inbound\n\
     folder again; `ponte check FILE` shows what the reader finds in it. A file ponte writes\n\
     itself (ORD*.txt), or one of a flow ponte does not apply, does not belong in the inbound\n\
     folder: check where the ERP, or the schema's `globs`, put it.\n";

#[cfg(test)]
mod tests {
    use super::*;
    use ponte_layout::schema::Registry;

    /// `history` says how such a file came and where it is now.
    #[test]
    fn an_unprocessable_file_is_recorded_with_its_mode_and_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("state")).unwrap();
        let path = dir.path().join("ORD20261128020000.txt");
        std::fs::write(&path, b"x").unwrap();
        let c = Claimed {
            name: "ORD20261128020000.txt".into(),
            path,
            schema: Registry::built_in().by_flow("ORDINI").unwrap(),
            content_hash: "h".into(),
        };
        let u = Unprocessable {
            why: "ponte wrote it",
            what_to_do: "nothing",
        };
        let rejected = dir.path().join("rejected");
        let Settled::Rejected(dest) = reject(&c, &rejected, &mut store, &u).unwrap() else {
            panic!("not moved");
        };
        let files = store.history(&Default::default()).unwrap();
        assert_eq!(files[0].mode.as_deref(), Some("watch"));
        assert_eq!(files[0].place.as_deref(), Some(dest.to_str().unwrap()));
    }
}
