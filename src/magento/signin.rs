//! Signing in to a Magento target without tripping its lockout.
//!
//! Magento locks an admin user for 30 minutes after 6 failed sign-ins in a
//! row, the right password included. So an admin token is fetched once and
//! reused until Magento refuses it (kept in memory, and in the state
//! directory, mode 0600, for the next command); and once Magento refuses
//! the credentials themselves (a 401 right after a fresh sign-in, or to an
//! integration token), nothing is sent to that target until a wait has
//! passed: 5 minutes, doubling to at most 6 hours. The wait is kept on disk
//! too, so that `ponte ingest` run again and again cannot add failures
//! either. Both belong to the credentials they were obtained with: a
//! changed password or token is tried at once.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::SecretString;

/// The wait after the first refusal; it doubles with each one after.
const FIRST_WAIT: Duration = Duration::from_secs(5 * 60);
const LONGEST_WAIT: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Saved {
    /// Which credentials this is about (a hash, never the secret).
    credentials: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refused: Option<Refusal>,
    /// Magento has accepted these credentials at least once: a 401 then
    /// means a resource the integration may not use (Magento answers an
    /// unknown token and a missing ACL resource alike), not a bad token.
    #[serde(default)]
    worked: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Refusal {
    /// Unix seconds of the last refusal.
    at: u64,
    /// Refusals in a row.
    times: u32,
    message: String,
}

/// Magento has refused these credentials: no request before `until`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hold {
    pub message: String,
    /// Unix seconds.
    pub until: u64,
}

pub(crate) struct SignIn {
    file: Option<PathBuf>,
    saved: Mutex<Saved>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Refusal {
    fn until(&self) -> u64 {
        let doublings = self.times.saturating_sub(1).min(16);
        let wait = FIRST_WAIT
            .saturating_mul(1u32 << doublings)
            .min(LONGEST_WAIT);
        // A refusal saved while the clock ran ahead must not hold longer
        // than the longest wait from now.
        (self.at + wait.as_secs()).min(now() + LONGEST_WAIT.as_secs())
    }
}

impl SignIn {
    /// The sign-in state of `target` for `credentials` (what identifies
    /// them: the base URL and the user name and password, or the token).
    /// Without a state directory it lives in memory only.
    pub fn open(state_dir: Option<&Path>, target: &str, credentials: &[&str]) -> SignIn {
        let fingerprint = format!(
            "{:016x}",
            xxhash_rust::xxh3::xxh3_64(credentials.join("\0").as_bytes())
        );
        let file = state_dir.map(|d| d.join("sign-in").join(format!("{target}.json")));
        let saved = file
            .as_ref()
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| serde_json::from_slice::<Saved>(&bytes).ok())
            .filter(|s| s.credentials == fingerprint)
            .unwrap_or(Saved {
                credentials: fingerprint,
                ..Saved::default()
            });
        SignIn {
            file,
            saved: Mutex::new(saved),
        }
    }

    fn with<R>(&self, change: bool, f: impl FnOnce(&mut Saved) -> R) -> R {
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        let r = f(&mut saved);
        if change {
            if let Some(file) = &self.file {
                if let Err(e) = write_private(file, &saved) {
                    tracing::warn!(
                        "cannot keep the sign-in state in {}: {e} (it is kept in memory)",
                        file.display()
                    );
                }
            }
        }
        r
    }

    /// The admin token obtained earlier with these credentials.
    pub(crate) fn token(&self) -> Option<SecretString> {
        self.with(false, |s| s.token.clone().map(SecretString::new))
    }

    /// Magento gave a token: keep it, and forget any refusal.
    pub(crate) fn accepted(&self, token: Option<&SecretString>) {
        self.with(true, |s| {
            s.token = token.map(|t| t.expose().to_string());
            s.refused = None;
            s.worked = true;
        })
    }

    /// Magento answered a call made with these credentials: a refusal
    /// recorded earlier is over, and its count starts again.
    pub(crate) fn answered(&self) {
        let changed = self.with(false, |s| s.refused.is_some() || !s.worked);
        if changed {
            self.with(true, |s| {
                s.refused = None;
                s.worked = true;
            })
        }
    }

    /// Whether Magento ever accepted these credentials.
    pub(crate) fn worked(&self) -> bool {
        self.with(false, |s| s.worked)
    }

    /// Magento refused a token that was kept: it expired or was revoked.
    pub(crate) fn forget_token(&self, token: &SecretString) {
        self.with(true, |s| {
            if s.token.as_deref() == Some(token.expose()) {
                s.token = None;
            }
        })
    }

    /// Magento refused the credentials: hold every request for a while.
    /// The requests already in flight when the hold began are refused too;
    /// they count as the same attempt, not as more.
    pub(crate) fn refused(&self, message: &str) -> Hold {
        if let Some(hold) = self.hold() {
            return hold;
        }
        self.with(true, |s| {
            let times = s.refused.as_ref().map_or(0, |r| r.times) + 1;
            let refusal = Refusal {
                at: now(),
                times,
                message: message.to_string(),
            };
            let hold = Hold {
                message: message.to_string(),
                until: refusal.until(),
            };
            s.token = None;
            s.refused = Some(refusal);
            hold
        })
    }

    /// The refusal still in force, if any.
    pub(crate) fn hold(&self) -> Option<Hold> {
        self.with(false, |s| {
            let r = s.refused.as_ref()?;
            let until = r.until();
            (until > now()).then(|| Hold {
                message: r.message.clone(),
                until,
            })
        })
    }
}

/// Written whole under a temporary name, then renamed, readable by the
/// owner only: it may hold a token.
fn write_private(file: &Path, saved: &Saved) -> std::io::Result<()> {
    use std::io::Write;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = file.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(&serde_json::to_vec(saved).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_holds_and_its_wait_doubles_to_a_ceiling() {
        let r = |times| {
            Refusal {
                at: 1000,
                times,
                message: String::new(),
            }
            .until()
                - 1000
        };
        assert_eq!(r(1), 300);
        assert_eq!(r(2), 600);
        assert_eq!(r(3), 1200);
        assert_eq!(r(30), 6 * 3600);
        // Saved with the clock a year ahead: no longer than the longest wait.
        let ahead = Refusal {
            at: now() + 365 * 86400,
            times: 1,
            message: String::new(),
        };
        assert!(ahead.until() <= now() + 6 * 3600);
    }

    #[test]
    fn an_answer_ends_a_refusal_and_its_count() {
        let s = SignIn::open(None, "b2c", &["http://x", "token"]);
        assert!(!s.worked());
        s.refused("no");
        s.answered();
        assert!(s.worked() && s.hold().is_none());
        // The next refusal waits the first wait again, not a doubled one.
        let hold = s.refused("no");
        assert!(hold.until <= now() + 5 * 60);
    }

    #[test]
    fn the_state_belongs_to_its_credentials_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let s = SignIn::open(Some(dir.path()), "b2b", &["http://x", "ponte", "pw"]);
        assert_eq!(s.hold(), None);
        s.accepted(Some(&SecretString::new("tok".into())));
        let again = SignIn::open(Some(dir.path()), "b2b", &["http://x", "ponte", "pw"]);
        assert_eq!(
            again.token().map(|t| t.expose().to_string()),
            Some("tok".into())
        );
        let hold = again.refused("no");
        assert!(hold.until > now());
        let again = SignIn::open(Some(dir.path()), "b2b", &["http://x", "ponte", "pw"]);
        assert_eq!(again.hold().map(|h| h.message), Some("no".into()));
        assert!(again.token().is_none());
        // A new password is tried at once.
        let changed = SignIn::open(Some(dir.path()), "b2b", &["http://x", "ponte", "pw2"]);
        assert_eq!(changed.hold(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("sign-in/b2b.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
