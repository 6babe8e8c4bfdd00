//! The way imports run (ARCHITECTURE.md): each module of `ponte` may use
//! only the modules below it in `LAYERS`, so that the tree reads top-down
//! and no flow doubles back. A `crate::X` path in code (comments aside)
//! naming a module above its own is a failure naming the file and line.

use std::path::Path;

/// Top to bottom.
const LAYERS: [&str; 12] = [
    "cmd",
    "flows",
    "operate",
    "intake",
    "push",
    "reconcile",
    "orders",
    "magento",
    "config",
    "model",
    "state",
    "telemetry",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            visit(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn no_module_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut seen_modules = 0;
    for module in LAYERS {
        let own = rank(module).unwrap();
        let mut files = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            visit(&dir, &mut files);
        }
        let single = src.join(format!("{module}.rs"));
        if single.is_file() {
            files.push(single);
        }
        assert!(!files.is_empty(), "src/{module} is gone: update LAYERS");
        seen_modules += 1;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for (i, _) in code.match_indices("crate::") {
                    let name: String = code[i + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if let Some(other) = rank(&name) {
                        if other < own {
                            problems.push(format!(
                                "{}:{}: {module} uses {name}, which is above it",
                                file.strip_prefix(&src).unwrap().display(),
                                n + 1
                            ));
                        }
                    }
                }
            }
        }
    }
    assert_eq!(seen_modules, LAYERS.len());
    // Every top-level module of the crate has its place in the order.
    for entry in std::fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let module = name.trim_end_matches(".rs");
        if !matches!(module, "lib" | "main") {
            assert!(rank(module).is_some(), "src/{name} has no place in LAYERS");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
