//! Finding schemas and routing files to them by name.
//!
//! Schemas come from a folder (`--schemas`, `PONTE_SCHEMAS`, `./schemas`
//! when it exists, or the folder a package installs beside the binary). The
//! project's own schemas are also compiled in, so that the binary works from
//! any directory; a folder always wins over them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{parse_schema, Schema, SchemaError};

const BUILT_IN: [(&str, &str); 5] = [
    (
        "articoli.toml",
        include_str!("../../../../schemas/articoli.toml"),
    ),
    (
        "giacenze.toml",
        include_str!("../../../../schemas/giacenze.toml"),
    ),
    (
        "clienti.toml",
        include_str!("../../../../schemas/clienti.toml"),
    ),
    (
        "evasioni.toml",
        include_str!("../../../../schemas/evasioni.toml"),
    ),
    (
        "ordini.toml",
        include_str!("../../../../schemas/ordini.toml"),
    ),
];

/// `PREFIX/share/ponte/schemas` for a binary at `PREFIX/bin/ponte`, when
/// that folder exists: the Debian package puts the schemas in
/// /usr/share/ponte/schemas, so that `ponte check` run from any directory
/// reads the same files the operator can open, and `ponte schemas` names them.
fn installed_folder(exe: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    if bin.file_name()? != "bin" {
        return None;
    }
    let dir = bin.parent()?.join("share").join("ponte").join("schemas");
    dir.is_dir().then_some(dir)
}

#[derive(Debug, Clone)]
pub enum SchemaSource {
    Folder(PathBuf),
    BuiltIn,
}

/// Something wrong with the set of schemas as a whole or with one of them.
#[derive(Debug, Clone)]
pub struct RegistryProblem {
    pub source_name: String,
    pub message: String,
}

impl std::fmt::Display for RegistryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.source_name, self.message)
    }
}

#[derive(Debug, Clone)]
pub struct Registry {
    pub source: SchemaSource,
    pub schemas: Vec<Arc<Schema>>,
    pub problems: Vec<RegistryProblem>,
}

impl Registry {
    /// The folder given, else `PONTE_SCHEMAS`, else `./schemas`, else the
    /// folder a package installs beside the binary, else the built-in set.
    pub fn discover(folder: Option<&Path>) -> Registry {
        let chosen = folder
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("PONTE_SCHEMAS").map(PathBuf::from))
            .or_else(|| {
                let local = PathBuf::from("schemas");
                local.is_dir().then_some(local)
            })
            .or_else(|| {
                std::env::current_exe()
                    .ok()
                    .and_then(|exe| installed_folder(&exe))
            });
        match chosen {
            Some(dir) => Registry::from_folder(&dir),
            None => Registry::built_in(),
        }
    }

    pub fn built_in() -> Registry {
        let loaded = BUILT_IN
            .iter()
            .map(|(name, text)| (format!("built-in schemas/{name}"), text.to_string()))
            .collect();
        Registry::from_texts(SchemaSource::BuiltIn, loaded, Vec::new())
    }

    pub fn from_folder(dir: &Path) -> Registry {
        let mut problems = Vec::new();
        let mut texts = Vec::new();
        match std::fs::read_dir(dir) {
            Err(e) => problems.push(RegistryProblem {
                source_name: dir.display().to_string(),
                message: format!("cannot read the schema folder: {e}"),
            }),
            Ok(entries) => {
                let mut paths: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .collect();
                paths.sort();
                for path in paths {
                    match std::fs::read_to_string(&path) {
                        Ok(text) => texts.push((path.display().to_string(), text)),
                        Err(e) => problems.push(RegistryProblem {
                            source_name: path.display().to_string(),
                            message: format!("cannot read: {e}"),
                        }),
                    }
                }
                if texts.is_empty() && problems.is_empty() {
                    problems.push(RegistryProblem {
                        source_name: dir.display().to_string(),
                        message: "no *.toml schema in this folder".into(),
                    });
                }
            }
        }
        Registry::from_texts(SchemaSource::Folder(dir.to_path_buf()), texts, problems)
    }

    fn from_texts(
        source: SchemaSource,
        texts: Vec<(String, String)>,
        mut problems: Vec<RegistryProblem>,
    ) -> Registry {
        let mut schemas: Vec<Arc<Schema>> = Vec::new();
        for (name, text) in texts {
            match parse_schema(&name, &text) {
                Ok(s) => {
                    if let Some(twin) = schemas.iter().find(|o| o.flow == s.flow) {
                        problems.push(RegistryProblem {
                            source_name: name,
                            message: format!(
                                "flow {} is already defined by {}",
                                s.flow, twin.source
                            ),
                        });
                    } else {
                        schemas.push(Arc::new(s));
                    }
                }
                Err(SchemaError {
                    source_name,
                    message,
                }) => problems.push(RegistryProblem {
                    source_name,
                    message,
                }),
            }
        }
        Registry {
            source,
            schemas,
            problems,
        }
    }

    pub fn by_flow(&self, flow: &str) -> Option<Arc<Schema>> {
        self.schemas
            .iter()
            .find(|s| s.flow.eq_ignore_ascii_case(flow))
            .cloned()
    }

    /// The schema claiming a file of this name; an error when none or several do.
    pub fn route(&self, path: &Path) -> Result<Arc<Schema>, String> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let claimants: Vec<&Arc<Schema>> =
            self.schemas.iter().filter(|s| s.claims(&name)).collect();
        match claimants.as_slice() {
            [one] => Ok(Arc::clone(one)),
            [] => Err(format!(
                "no schema claims the name {name:?} (known: {}); use --schema FLOW",
                self.glob_summary()
            )),
            many => Err(format!(
                "the name {name:?} is claimed by several schemas ({}); use --schema FLOW",
                many.iter()
                    .map(|s| s.flow.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    fn glob_summary(&self) -> String {
        self.schemas
            .iter()
            .flat_map(|s| s.globs.iter().map(|g| g.as_str().to_string()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_folder_is_share_ponte_schemas_beside_bin() {
        let prefix = tempfile::tempdir().unwrap();
        let exe = prefix.path().join("bin").join("ponte");
        assert_eq!(installed_folder(&exe), None, "no folder yet");
        let dir = prefix.path().join("share/ponte/schemas");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(installed_folder(&exe), Some(dir));
        // A binary outside a `bin` folder (target/release/ponte) has no
        // install prefix, whatever lies beside it.
        let loose = prefix.path().join("release").join("ponte");
        assert_eq!(installed_folder(&loose), None);
    }

    #[test]
    fn built_in_schemas_all_load() {
        let r = Registry::built_in();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let flows: Vec<&str> = r.schemas.iter().map(|s| s.flow.as_str()).collect();
        assert_eq!(
            flows,
            ["ARTICOLI", "GIACENZE", "CLIENTI", "EVASIONI", "ORDINI"]
        );
    }

    #[test]
    fn routes_by_name() {
        let r = Registry::built_in();
        assert_eq!(
            r.route(Path::new("/x/ART20261128010000.txt")).unwrap().flow,
            "ARTICOLI"
        );
        assert_eq!(
            r.route(Path::new("GIA20261128010000.TXT")).unwrap().flow,
            "GIACENZE"
        );
        assert!(r
            .route(Path::new("README.md"))
            .unwrap_err()
            .contains("no schema claims"));
    }
}
