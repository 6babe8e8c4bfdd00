//! Helpers shared by the integration tests: the real binary, run from the
//! package root with no schema folder or log settings leaking in from the
//! environment.

#![allow(dead_code)]

pub mod contract;
pub mod process;
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
pub fn at_hour(hour: u8) -> ponte_layout::schema::Date {
    ponte_layout::schema::Date {
        year: 2026,
        month: 11,
        day: 28,
        hour,
        minute: 0,
        second: 0,
        has_time: true,
    }
}

/// Writes a secret file readable by its owner only, as ponte wants them.
pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// An ARTICOLI file at `path` of simple products, each (sku, name, price
/// in cents), active, VAT code 22, with its header at `hour` on the tests'
/// day.
pub fn simple_products(
    path: &Path,
    hour: u8,
    mode: ponte_layout::schema::Mode,
    rows: impl IntoIterator<Item = (String, String, i64)>,
) -> PathBuf {
    use ponte_layout::record::writer::FileWriter;
    use ponte_layout::record::{Decimal, Value};
    let schema = ponte_layout::schema::Registry::built_in()
        .by_flow("ARTICOLI")
        .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = FileWriter::new(&schema, file, at_hour(hour), mode, "000001").unwrap();
    for (sku, name, cents) in rows {
        w.record(
            "AR",
            &[
                ("sku", Value::Text(sku)),
                ("kind", Value::Text("S".into())),
                ("name", Value::Text(name)),
                ("price", Value::Decimal(Decimal::new(cents, 2))),
                ("vat_code", Value::Text("22".into())),
                ("active", Value::Flag(true)),
            ],
        )
        .unwrap();
    }
    w.finish().unwrap();
    path.to_path_buf()
}
