//! The folders a file moves through: inbound (the share), in-progress,
//! archive/YYYY/MM/DD (the local day) and rejected. A name that came from the share never
//! builds a path outside them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use jiff::Zoned;

use crate::config::Paths;

/// Creates missing folders and checks that the share is there, readable
/// and writable: on a CIFS mount that dropped, the mount point is an empty
/// local folder, and the first sign should be a clear error, not silence.
pub(crate) fn prepare(paths: &Paths) -> anyhow::Result<()> {
    if !paths.inbound.is_dir() {
        bail!(
            "the inbound folder {} does not exist: is the share mounted? (paths.inbound)",
            paths.inbound.display()
        );
    }
    std::fs::read_dir(&paths.inbound).with_context(|| {
        format!(
            "the inbound folder {} cannot be read",
            paths.inbound.display()
        )
    })?;
    let probe = paths
        .inbound
        .join(format!(".ponte-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| {
        format!(
            "the inbound folder {} is not writable",
            paths.inbound.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    create_work_folders(paths)
}

/// The folders ponte owns, created when missing.
pub(crate) fn create_work_folders(paths: &Paths) -> anyhow::Result<()> {
    for dir in [
        &paths.in_progress,
        &paths.archive,
        &paths.rejected,
        &paths.outbound,
        &paths.state_dir,
    ] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

/// A plain file name from the share, or `None` for anything that could
/// climb out of a folder (separators, `..`, empty).
pub(crate) fn safe_name(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\\')
        && !name.contains('\0');
    ok.then_some(name)
}

/// `dir/name`, or `dir/name.1`, `dir/name.2`... when taken.
pub(crate) fn unique_in(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    (1..)
        .map(|n| dir.join(format!("{name}.{n}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// `archive/YYYY/MM/DD` for today in the operator's time zone (the
/// system's, or `TZ`'s when set): the folder a person looks in for
/// "last night's file" is the day on their own calendar, not UTC's.
pub(crate) fn archive_day(archive: &Path) -> PathBuf {
    day_folder(archive, &Zoned::now())
}

/// `archive/YYYY/MM/DD` for the civil day of `now`.
fn day_folder(archive: &Path, now: &Zoned) -> PathBuf {
    archive
        .join(now.strftime("%Y").to_string())
        .join(now.strftime("%m").to_string())
        .join(now.strftime("%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_climb_out_are_refused() {
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "x\0y"] {
            assert!(safe_name(bad).is_none(), "{bad:?}");
        }
        assert_eq!(safe_name("ART20261128.txt"), Some("ART20261128.txt"));
    }

    #[test]
    fn the_day_folder_is_the_local_calendar_day() {
        // 23:30 UTC on the 27th is already the 28th in Rome (UTC+1), and
        // still the 27th in New York.
        let instant: jiff::Timestamp = "2026-11-27T23:30:00Z".parse().unwrap();
        let at = |hours| instant.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(hours)));
        let root = Path::new("archive");
        assert_eq!(day_folder(root, &at(1)), root.join("2026/11/28"));
        assert_eq!(day_folder(root, &at(-5)), root.join("2026/11/27"));
        let leap: jiff::Timestamp = "2024-02-29T12:00:00Z".parse().unwrap();
        assert_eq!(
            day_folder(root, &leap.to_zoned(jiff::tz::TimeZone::UTC)),
            root.join("2024/02/29")
        );
    }

    #[test]
    fn unique_names_do_not_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
        assert_eq!(unique_in(dir.path(), "a.txt"), dir.path().join("a.txt.1"));
        assert_eq!(unique_in(dir.path(), "b.txt"), dir.path().join("b.txt"));
    }
}
