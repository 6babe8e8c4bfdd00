//! The periodic scan of the inbound folder, the source of truth (inotify does
//! not see files another machine writes on an SMB mount). Temporary names,
//! dot files, folders, symbolic links and names no schema claims are left
//! alone, and each is reported once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::folders::safe_name;
use ponte_layout::schema::{Registry, Schema};

/// A file in the inbound folder that a schema claims.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub name: String,
    pub path: PathBuf,
    pub schema: Arc<Schema>,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

/// Names the scan never takes: being written, or not ours.
pub(crate) fn is_temporary(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with("~$")
        || lower.ends_with(".tmp")
        || lower.ends_with(".part")
}

#[derive(Default)]
pub(crate) struct Scanner {
    reported: HashSet<String>,
}

impl Scanner {
    /// Lists the candidates in `inbound`, sorted by name.
    pub(crate) fn scan(
        &mut self,
        inbound: &Path,
        registry: &Registry,
    ) -> std::io::Result<Vec<Candidate>> {
        let mut found = Vec::new();
        let mut present = HashSet::new();
        for entry in std::fs::read_dir(inbound)? {
            let entry = entry?;
            let raw_name = entry.file_name();
            present.insert(raw_name.to_string_lossy().into_owned());
            let Some(name) = raw_name.to_str().and_then(safe_name) else {
                self.report_once(
                    &raw_name.to_string_lossy(),
                    "a name that is not plain UTF-8 text; left alone",
                );
                continue;
            };
            if is_temporary(name) || name.to_ascii_lowercase().ends_with(".ok") {
                continue;
            }
            // symlink_metadata: a link in the share is never followed.
            let meta = match std::fs::symlink_metadata(entry.path()) {
                Ok(m) => m,
                Err(_) => continue,
            };
            if meta.file_type().is_symlink() {
                self.report_once(name, "a symbolic link; left alone");
                continue;
            }
            if !meta.is_file() {
                // A folder of the ERP's own is its business; one named like
                // a file a schema claims is a mistake worth saying, once, as
                // is a FIFO, device or socket, which is never read.
                if !meta.is_dir() {
                    self.report_once(name, "not a regular file; left alone");
                } else if registry.route(Path::new(name)).is_ok() {
                    self.report_once(name, "a folder named like a file; left alone");
                }
                continue;
            }
            let schema = match registry.route(Path::new(name)) {
                Ok(s) => s,
                Err(e) => {
                    self.report_once(name, &e);
                    continue;
                }
            };
            found.push(Candidate {
                name: name.to_string(),
                path: inbound.join(name),
                schema,
                size: meta.len(),
                modified: meta.modified().ok(),
            });
        }
        // Over weeks, names come and go: a name said once is forgotten when
        // it leaves, so the set stays as small as the folder, and a new file
        // of the same name is said again.
        self.reported.retain(|n| present.contains(n));
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    fn report_once(&mut self, name: &str, why: &str) {
        if self.reported.insert(name.to_string()) {
            tracing::warn!(file = %name, "not taken: {why}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names() {
        for t in [
            "ART1.txt.tmp",
            "ART1.TMP",
            "x.part",
            "~$ART.txt",
            ".ART1.txt",
        ] {
            assert!(is_temporary(t), "{t}");
        }
        assert!(!is_temporary("ART20261128020000.txt"));
    }

    #[test]
    fn scan_takes_claimed_names_and_leaves_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "ART20261128020000.txt",
            "notes.docx",
            "GIA20261128020000.txt.part",
            ".hidden",
        ] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("CLI_folder.txt")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("CLI20261128.txt")).unwrap();
        let mut s = Scanner::default();
        let found = s.scan(dir.path(), &Registry::built_in()).unwrap();
        let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ART20261128020000.txt"]);
        // The link and the note are said once, and forgotten once gone.
        assert!(s.reported.contains("CLI20261128.txt") && s.reported.contains("notes.docx"));
        std::fs::remove_file(dir.path().join("CLI20261128.txt")).unwrap();
        std::fs::remove_file(dir.path().join("notes.docx")).unwrap();
        s.scan(dir.path(), &Registry::built_in()).unwrap();
        assert!(!s.reported.contains("CLI20261128.txt") && !s.reported.contains("notes.docx"));
    }
}
