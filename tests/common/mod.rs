//! Helpers shared by the integration tests: the real binary, run from the
//! package root with no schema folder or log settings leaking in from the
//! environment.

#![allow(dead_code)]

pub mod contract;
pub mod samba;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ponte ARGS...` run from the package root (so `./schemas` is found).
pub fn ponte<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_ponte"))
        .args(args)
        .current_dir(root())
        .env_remove("PONTE_SCHEMAS")
        .env_remove("PONTE_LOG")
        .env_remove("RUST_LOG")
        .output()
        .expect("run ponte")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().expect("ponte exited by a signal")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Files in `dir` (relative to the package root) ending in `.txt`, sorted,
/// as paths relative to the package root.
pub fn txt_files(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    files.sort();
    files
}

/// A temp folder holding copies of the project's schemas, with `edit`
/// applied to the text of each (by file name).
pub fn schema_dir(edit: impl Fn(&str, String) -> Option<String>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("schemas")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if let Some(text) = edit(&name, text) {
            std::fs::write(dir.path().join(&name), text).unwrap();
        }
    }
    dir
}

pub fn display(p: &Path) -> String {
    p.display().to_string()
}

/// A header time on the tests' day, 2026-11-28, at `hour` o'clock.
pub fn at_hour(hour: u8) -> ponte::schema::Date {
    ponte::schema::Date {
        year: 2026,
        month: 11,
        day: 28,
        hour,
        minute: 0,
        second: 0,
        has_time: true,
    }
}
