//! Measuring for the benchmarks: the floor (read, split, hash), peak
//! memory from /proc, and the arithmetic of the table.

#![allow(dead_code)]

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

pub const FLOOR_BLOCK: usize = 4 << 20;

pub fn env_number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(s) => s
            .replace('_', "")
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={s:?}: {e}")),
    }
}

// ---------------------------------------------------------------- the floor

/// Reads the file in blocks, splits lines with memchr and hashes each with
/// xxh3. Returns the line count and a digest of the hashes.
pub fn floor(path: &Path) -> anyhow::Result<(u64, u64)> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 2 * FLOOR_BLOCK];
    let mut carry = 0usize;
    let mut lines = 0u64;
    let mut digest = 0u64;
    let mut hash = |line: &[u8]| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        digest = digest.rotate_left(5) ^ xxhash_rust::xxh3::xxh3_64(line);
        lines += 1;
    };
    loop {
        if buf.len() < carry + FLOOR_BLOCK {
            buf.resize(carry + FLOOR_BLOCK, 0);
        }
        let got = read_full(&mut file, &mut buf[carry..carry + FLOOR_BLOCK])?;
        let end = carry + got;
        if got == 0 {
            if end > 0 {
                hash(&buf[..end]);
            }
            break;
        }
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', &buf[..end]) {
            hash(&buf[start..nl]);
            start = nl + 1;
        }
        buf.copy_within(start..end, 0);
        carry = end - start;
    }
    Ok((lines, digest))
}

pub fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

// ---------------------------------------------------------------- memory

/// Resets the peak resident set to the current one; returns the current (kB).
pub fn reset_peak_rss() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kb("VmRSS:")
}

pub fn peak_rss_kb() -> Option<u64> {
    status_kb("VmHWM:")
}

pub fn status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

pub fn best_and_median(times: &[Duration]) -> (f64, f64) {
    let mut s: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    let median = if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    (s[0], median)
}
