//! A real SMB share for the tests: Samba from Debian's packages (`smbd`,
//! `smbclient`; `.ci/run` installs them when missing), started on a free
//! high loopback port with a configuration of its own, serving a folder of
//! a temporary directory. ponte watches that folder, as it does where the
//! Linux box itself exports the share to the ERP; the ERP's files are
//! written through `smbclient`, as its Windows machine would.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Samba {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

fn smbd() -> PathBuf {
    ["/usr/sbin/smbd", "/usr/local/sbin/smbd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("smbd is not installed: apt-get install samba smbclient (.ci/run does)")
}

fn free_port() -> u16 {
    // Bound and let go: the kernel hands out ports in turn, so the next
    // bind by smbd gets it unless another test takes it in between, which
    // `start` notices and retries.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Samba {
    /// Starts smbd serving `share/` of a new temporary directory as `erp`,
    /// writable by guests (mapped to the user running the tests).
    pub fn start() -> Samba {
        for _ in 0..5 {
            if let Some(s) = Samba::try_start() {
                return s;
            }
        }
        panic!("smbd did not start (see its log above)");
    }

    fn try_start() -> Option<Samba> {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        for sub in [
            "run", "lock", "state", "cache", "private", "ncalrpc", "share",
        ] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let port = free_port();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let conf = format!(
            "[global]\n  server role = standalone server\n  smb ports = {port}\n  \
             interfaces = lo\n  bind interfaces only = yes\n  pid directory = {d}/run\n  \
             lock directory = {d}/lock\n  state directory = {d}/state\n  \
             cache directory = {d}/cache\n  private dir = {d}/private\n  \
             ncalrpc dir = {d}/ncalrpc\n  log file = {d}/log.%m\n  \
             map to guest = Bad User\n  guest account = {user}\n  load printers = no\n  \
             printing = bsd\n  printcap name = /dev/null\n  disable spoolss = yes\n  \
             server min protocol = SMB2\n\
             [erp]\n  path = {d}/share\n  read only = no\n  guest ok = yes\n  \
             force user = {user}\n",
            d = d.display()
        );
        std::fs::write(d.join("smb.conf"), conf).unwrap();
        let child = Command::new(smbd())
            .arg("--foreground")
            .arg("--no-process-group")
            .arg(format!("--configfile={}", d.join("smb.conf").display()))
            .arg("--debug-stdout")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(d.join("smbd.out")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start smbd");
        let mut samba = Samba { dir, child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = samba.child.try_wait() {
                eprintln!(
                    "{}",
                    std::fs::read_to_string(d.join("smbd.out")).unwrap_or_default()
                );
                return None;
            }
            if samba.client().call(&["-c", "ls"]).is_ok() {
                return Some(samba);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = samba.child.kill();
        None
    }

    /// The folder the share serves.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("share")
    }

    /// A client of the share, which can go to another thread.
    pub fn client(&self) -> Client {
        Client { port: self.port }
    }

    /// Runs smbclient commands (`put`, `mkdir`, `utimes`...) on the share.
    pub fn run(&self, commands: &str) {
        self.client().run(commands)
    }

    /// The smbd log, for a failing test.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("smbd.out")).unwrap_or_default()
    }
}

/// smbclient, as the ERP's Windows machine writes to the share.
#[derive(Clone, Copy)]
pub struct Client {
    port: u16,
}

impl Client {
    pub fn new(port: u16) -> Client {
        Client { port }
    }

    fn call(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("smbclient")
            .arg("//127.0.0.1/erp")
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-N")
            .arg("-m")
            .arg("SMB3")
            .args(args)
            .output()
            .map_err(|e| format!("smbclient: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() && !text.contains("NT_STATUS_") {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// Runs smbclient commands (`put`, `mkdir`, `utimes`...) on the share.
    pub fn run(&self, commands: &str) {
        if let Err(e) = self.call(&["-c", commands]) {
            panic!("smbclient -c {commands:?}: {e}");
        }
    }

    /// Writes `bytes` as `remote` (such as `inbound/ART...txt`) the way a
    /// Windows copy does: the file grows in `chunks` with `pause` between
    /// them, then gets the source's old modification time (a Windows copy
    /// keeps it), here 2026-11-01 08:00.
    pub fn copy_like_windows(&self, bytes: &[u8], remote: &str, chunks: usize, pause: Duration) {
        let local = tempfile::NamedTempFile::new().unwrap();
        let chunks = chunks.max(1);
        for i in 1..=chunks {
            let end = bytes.len() * i / chunks;
            std::fs::write(local.path(), &bytes[..end]).unwrap();
            self.run(&format!("put {} {remote}", local.path().display()));
            if i < chunks {
                std::thread::sleep(pause);
            }
        }
        self.run(&format!("utimes {remote} -1 -1 26:11:01-08:00:00 -1"));
    }
}

impl Drop for Samba {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `path` holds a file named `name`.
pub fn has(path: &Path, name: &str) -> bool {
    path.join(name).exists()
}
