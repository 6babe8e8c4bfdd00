//! Where a credential comes from, and the value once read.
//!
//! The configuration names a secret's place (an environment variable or a
//! file), never the secret itself. The value is read only when a client needs
//! it, held in a [`SecretString`] that prints as `[redacted]`, and no error
//! built here ever carries it: they name the variable or the file instead.

use std::fmt;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// Where a credential is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// The value of this environment variable.
    Env(String),
    /// The content of this file (relative paths are already resolved against
    /// the configuration file's directory).
    File(PathBuf),
}

impl Secret {
    /// Reads the secret. Surrounding whitespace (a trailing newline, most
    /// often) is trimmed; an empty value, a missing variable or an unreadable
    /// file is an error naming the variable or file. A secret file that group
    /// or others may read is used, with a warning.
    pub fn resolve(&self) -> Result<SecretString, ConfigError> {
        match self {
            Secret::Env(var) => {
                let what = format!("environment variable {var}");
                let raw = match std::env::var(var) {
                    Ok(v) => v,
                    Err(std::env::VarError::NotPresent) => {
                        return Err(secret_error(what, "is not set"));
                    }
                    Err(std::env::VarError::NotUnicode(_)) => {
                        return Err(secret_error(what, "is not valid UTF-8"));
                    }
                };
                checked(what, raw)
            }
            Secret::File(path) => {
                let what = format!("secret file {}", path.display());
                warn_if_shared(path);
                let bytes = std::fs::read(path)
                    .map_err(|e| secret_error(what.clone(), format!("cannot be read: {e}")))?;
                let raw = String::from_utf8(bytes)
                    .map_err(|_| secret_error(what.clone(), "is not valid UTF-8"))?;
                checked(what, raw)
            }
        }
    }
}

fn secret_error(what: String, message: impl Into<String>) -> ConfigError {
    ConfigError::Secret {
        what,
        message: message.into(),
    }
}

/// Trims, then refuses empty values and values with control characters inside
/// (a second line in a token file would end up in an HTTP header).
fn checked(what: String, raw: String) -> Result<SecretString, ConfigError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(secret_error(what, "is empty"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(secret_error(
            what,
            "contains control characters (a line break?); it must hold the secret alone",
        ));
    }
    Ok(SecretString(trimmed.to_string()))
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                mode = %format!("{mode:o}"),
                "secret file is readable by group or others; restrict it with chmod 600"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

/// A credential read from its [`Secret`]. `Debug` and `Display` print
/// `[redacted]`; the value is reachable only through [`SecretString::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a credential obtained at run time (a fetched admin token).
    pub fn new(value: String) -> SecretString {
        SecretString(value)
    }

    /// The secret itself: use it where it is sent, never in a message.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const VALUE: &str = "s3cr3t-t0ken-value";

    #[test]
    fn env_secret_resolves_trimmed() {
        let var = "PONTE_TEST_SECRET_ENV_OK";
        std::env::set_var(var, format!("  {VALUE}\n"));
        let s = Secret::Env(var.into()).resolve().expect("resolves");
        assert_eq!(s.expose(), VALUE);
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert!(!format!("{:?}", Some(&s)).contains(VALUE));
    }

    #[test]
    fn missing_and_empty_env_name_the_variable() {
        let var = "PONTE_TEST_SECRET_ENV_MISSING";
        std::env::remove_var(var);
        let e = Secret::Env(var.into()).resolve().unwrap_err().to_string();
        assert!(e.contains(var) && e.contains("not set"), "{e}");

        let var = "PONTE_TEST_SECRET_ENV_EMPTY";
        std::env::set_var(var, "  \n");
        let e = Secret::Env(var.into()).resolve().unwrap_err().to_string();
        assert!(e.contains(var) && e.contains("empty"), "{e}");
    }

    #[test]
    fn file_secret_resolves_and_errors_do_not_leak() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        let mut f = std::fs::File::create(&path).expect("create");
        writeln!(f, "{VALUE}").expect("write");
        drop(f);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let s = Secret::File(path.clone()).resolve().expect("resolves");
        assert_eq!(s.expose(), VALUE);

        // Two lines: refused, and the message carries neither line.
        std::fs::write(&path, format!("{VALUE}\nsecond-line-{VALUE}\n")).expect("write");
        let e = Secret::File(path.clone()).resolve().unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("token") && !shown.contains(VALUE), "{shown}");

        std::fs::write(&path, "\n").expect("write");
        let e = Secret::File(path.clone())
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty") && e.contains("token"), "{e}");

        let missing = dir.path().join("absent");
        let e = Secret::File(missing).resolve().unwrap_err().to_string();
        assert!(e.contains("absent") && e.contains("cannot be read"), "{e}");
    }

    #[test]
    fn env_errors_do_not_leak_a_bad_value() {
        let var = "PONTE_TEST_SECRET_ENV_TWO_LINES";
        std::env::set_var(var, format!("{VALUE}\r\nX-Injected: {VALUE}"));
        let e = Secret::Env(var.into()).resolve().unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(shown.contains(var) && !shown.contains(VALUE), "{shown}");
    }
}
