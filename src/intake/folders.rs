//! The folders a file moves through: inbound (the share), in-progress,
//! archive/YYYY/MM/DD and rejected. A name that came from the share never
//! builds a path outside them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::config::Paths;

/// Creates missing folders and checks that the share is there, readable
/// and writable: on a CIFS mount that dropped, the mount point is an empty
/// local folder, and the first sign should be a clear error, not silence.
pub fn prepare(paths: &Paths) -> anyhow::Result<()> {
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
pub fn create_work_folders(paths: &Paths) -> anyhow::Result<()> {
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
pub fn safe_name(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\\')
        && !name.contains('\0');
    ok.then_some(name)
}

/// `dir/name`, or `dir/name.1`, `dir/name.2`... when taken.
pub fn unique_in(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    (1..)
        .map(|n| dir.join(format!("{name}.{n}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// `archive/YYYY/MM/DD` for today (UTC).
pub fn archive_day(archive: &Path) -> PathBuf {
    let (y, m, d) = today();
    archive
        .join(format!("{y:04}"))
        .join(format!("{m:02}"))
        .join(format!("{d:02}"))
}

/// Today's civil date in UTC, from the system clock.
pub fn today() -> (i64, u32, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    civil_from_days(secs.div_euclid(86_400))
}

/// Howard Hinnant's days-to-civil conversion.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_785), (2026, 11, 28));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn unique_names_do_not_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
        assert_eq!(unique_in(dir.path(), "a.txt"), dir.path().join("a.txt.1"));
        assert_eq!(unique_in(dir.path(), "b.txt"), dir.path().join("b.txt"));
    }
}
