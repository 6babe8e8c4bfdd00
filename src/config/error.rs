//! The configuration's error, and how a deserialisation error becomes one:
//! its key path written as an operator reads the file, its message in the
//! file's words, and never the value it was about.

use std::path::PathBuf;

use serde_path_to_error::Segment;

/// Everything wrong with a configuration, always naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file does not exist.
    #[error(
        "{path}: configuration file not found (tried {tried}); pass --config PATH, \
         or start from samples/ponte.toml",
        path = .path.display(),
        tried = .tried.display()
    )]
    NotFound { path: PathBuf, tried: PathBuf },
    /// The configuration file exists but cannot be read.
    #[error("{path}: cannot read configuration: {source}", path = .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not TOML at all (the message carries the line and column).
    #[error("{source_name}: not valid TOML: {message}")]
    Syntax {
        source_name: String,
        message: String,
    },
    /// A key ponte does not know, a missing key or a bad value. `key` is the
    /// path, such as `intake.settle_spacing` or `target "b2c": concurrency`.
    #[error("{source_name}: {key}: {message}")]
    Invalid {
        source_name: String,
        key: String,
        message: String,
    },
    /// A secret that cannot be read; `what` names the variable or file.
    #[error("{what}: {message}")]
    Secret { what: String, message: String },
}

/// A key path as the messages show it: `intake.scan_interval`, and inside
/// a target, `target "b2c": auth.token` (or `target #2: ...` while its
/// name is not known to be good).
pub(super) struct KeyPath {
    target: Option<String>,
    keys: Vec<String>,
}

impl KeyPath {
    pub(super) fn root() -> KeyPath {
        KeyPath {
            target: None,
            keys: Vec::new(),
        }
    }

    /// Inside the target at `index` (from 0), shown by `name` when given.
    pub(super) fn target(index: usize, name: Option<&str>) -> KeyPath {
        let shown = match name {
            Some(n) => format!("target \"{n}\""),
            None => format!("target #{}", index + 1),
        };
        KeyPath {
            target: Some(shown),
            keys: Vec::new(),
        }
    }

    /// This path with `key` appended.
    pub(super) fn key(&self, key: &str) -> KeyPath {
        let mut keys = self.keys.clone();
        keys.push(quote_key(key));
        KeyPath {
            target: self.target.clone(),
            keys,
        }
    }

    pub(super) fn invalid(&self, source_name: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            source_name: source_name.to_string(),
            key: self.to_string(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dotted = self.keys.join(".");
        match (&self.target, dotted.is_empty()) {
            (Some(t), true) => f.write_str(t),
            (Some(t), false) => write!(f, "{t}: {dotted}"),
            (None, _) => f.write_str(&dotted),
        }
    }
}

/// A key as TOML would need it written: bare if it can be, else quoted.
fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// A deserialisation error of the file. `target_name` gives the name of
/// the target at an index when it is a good one, so the path can say
/// which target rather than which position.
pub(super) fn from_deserialize(
    source_name: &str,
    target_name: impl Fn(usize) -> Option<String>,
    err: serde_path_to_error::Error<toml::de::Error>,
) -> ConfigError {
    let mut segments = err.path().iter().peekable();
    let mut path = KeyPath::root();
    if let Some(Segment::Map { key }) = segments.peek() {
        if key == "target" {
            segments.next();
            match segments.next() {
                Some(Segment::Seq { index }) => {
                    path = KeyPath::target(*index, target_name(*index).as_deref());
                }
                _ => path = path.key("target"),
            }
        }
    }
    for segment in segments {
        path = match segment {
            Segment::Map { key } => path.key(key),
            Segment::Seq { index } => {
                let mut p = path;
                if let Some(last) = p.keys.last_mut() {
                    last.push_str(&format!("[{index}]"));
                }
                p
            }
            Segment::Enum { variant } => path.key(variant),
            Segment::Unknown => path.key("?"),
        };
    }
    path.invalid(source_name, plain_words(err.inner().message()))
}

/// serde's messages in the file's words. A type error is rewritten without
/// the value serde quotes (`invalid type: string "s3cr3t", expected ...`):
/// whatever was typed in the wrong place may be a secret.
fn plain_words(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        return match rest.split_once("`, expected ") {
            Some((_, expected)) => format!("unknown key; expected {expected}"),
            None => "unknown key".to_string(),
        };
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.rsplit_once(", expected ") {
            return format!(
                "expected {}, found {}",
                expected_words(expected),
                kind(found)
            );
        }
        return "wrong type".to_string();
    }
    message.to_string()
}

/// What serde says was found, as a kind of TOML value, without the value.
fn kind(found: &str) -> &'static str {
    let starts = |p: &str| found.starts_with(p);
    if starts("string") || starts("char") {
        "a string"
    } else if starts("integer") {
        "an integer"
    } else if starts("floating point") {
        "a float"
    } else if starts("boolean") {
        "a boolean"
    } else if starts("map") {
        "a table"
    } else if starts("sequence") {
        "an array"
    } else {
        "another kind of value"
    }
}

/// What serde says was expected, as the file would say it.
fn expected_words(expected: &str) -> &str {
    match expected {
        "i64" | "u64" | "i32" | "u32" | "usize" => "an integer",
        "f64" | "f32" => "a number",
        "a sequence" => "an array",
        "a map" => "a table",
        e if e.starts_with("struct ") => "a table",
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_never_repeat_the_value() {
        let m = plain_words("invalid type: string \"tok, expected x\", expected i64");
        assert_eq!(m, "expected an integer, found a string");
        let m = plain_words("invalid type: integer `5`, expected struct Secret");
        assert_eq!(m, "expected a table, found an integer");
    }

    #[test]
    fn unknown_fields_are_unknown_keys() {
        let m = plain_words("unknown field `inbox`, expected one of `state_dir`, `inbound`");
        assert_eq!(m, "unknown key; expected one of `state_dir`, `inbound`");
        assert_eq!(
            plain_words("unknown field `x`, there are no fields"),
            "unknown key"
        );
    }

    #[test]
    fn paths_name_the_target() {
        let p = KeyPath::target(1, Some("b2c")).key("carriers").key("B R T");
        assert_eq!(p.to_string(), "target \"b2c\": carriers.\"B R T\"");
        assert_eq!(KeyPath::target(0, None).to_string(), "target #1");
        assert_eq!(
            KeyPath::root().key("intake").key("x").to_string(),
            "intake.x"
        );
    }
}
