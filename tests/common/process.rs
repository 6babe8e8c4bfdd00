//! A `ponte` process run by a test: its output collected, killed (and its
//! output printed) if the test fails while it still runs.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A `ponte` process, killed (and its output printed) if the test fails
/// while it still runs.
pub struct Service {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Service {
    /// `ponte [--config CONFIG] ARGS...`, from the package root.
    pub fn start(config: Option<&Path>, args: &[&str]) -> Service {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ponte"));
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .args(args)
            .current_dir(super::root())
            .env_remove("PONTE_SCHEMAS")
            .env_remove("RUST_LOG")
            .env("PONTE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ponte");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        Service {
            child,
            stdout,
            stderr,
            readers,
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn signal(&self, name: &str) {
        assert!(self.status.is_none(), "the process already ended");
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} {}", self.pid());
    }

    /// SIGKILL: a crash, no chance to clean up.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.code().is_none(), "killed by a signal: {status:?}");
        self.finish(status);
    }

    /// Waits for the process to end (panics past `limit`), then for its
    /// output to be read to the end.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        match self.ends_within(limit) {
            Some(status) => status,
            None => panic!("ponte (pid {}) still runs after {limit:?}", self.pid()),
        }
    }

    fn finish(&mut self, status: ExitStatus) {
        self.status = Some(status);
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    /// Polls `cond` until it holds; past `limit` the test fails, naming
    /// what it waited for.
    pub fn wait_until(&self, what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !cond() {
            assert!(
                Instant::now() < deadline,
                "waited {limit:?} for {what} in vain"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    /// SIGTERM.
    pub fn sigterm(&self) {
        self.signal("TERM");
    }

    /// Bytes the process read so far, by any read call (/proc/PID/io).
    pub fn bytes_read(&self) -> u64 {
        let io = std::fs::read_to_string(format!("/proc/{}/io", self.pid())).unwrap();
        io.lines()
            .find_map(|l| l.strip_prefix("rchar: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap()
    }

    /// The exit status, if the process ends within `limit`.
    pub fn ends_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.status {
            return Some(s);
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.finish(status);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status, which must come within `limit`.
    pub fn stop_promptly(&mut self, limit: Duration) -> ExitStatus {
        let sent = Instant::now();
        self.sigterm();
        let status = self.ends_within(limit);
        assert!(
            status.is_some(),
            "ponte still runs {:?} after SIGTERM",
            sent.elapsed()
        );
        status.unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- ponte (pid {}) stdout:\n{}\n--- stderr:\n{}",
                self.pid(),
                self.stdout(),
                self.stderr()
            );
        }
    }
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => into
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    })
}
