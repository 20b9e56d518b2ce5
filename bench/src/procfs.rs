//! The broker process as `/proc` shows it: CPU time (utime + stime from `/proc/<pid>/stat`),
//! resident and peak resident memory (VmRSS, VmHWM from `/proc/<pid>/status`). The scenario
//! runner samples it at the start and end of the measurement window.

use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use serde::Serialize;

/// One sample of a process.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcSample {
    /// User plus system CPU time, in seconds.
    pub cpu_s: f64,
    /// Resident set, KiB.
    pub rss_kb: u64,
    /// Peak resident set since the process started, KiB.
    pub hwm_kb: u64,
}

/// Clock ticks per second for `/proc/<pid>/stat` times: `getconf CLK_TCK`, or Linux's usual 100
/// when `getconf` is missing.
pub fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// Samples process `pid`.
pub fn sample(pid: u32) -> Result<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    // The command name is in parentheses and may contain spaces: fields start after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("unexpected /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 (index 0 here); utime is field 14, stime field 15.
    let tick = |i: usize| -> Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| anyhow!("no field {} in /proc/{pid}/stat", i + 3))
    };
    let cpu_s = (tick(11)? + tick(12)?) / clock_ticks();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(ProcSample {
        cpu_s,
        rss_kb: kb("VmRSS:"),
        hwm_kb: kb("VmHWM:"),
    })
}

/// Samples every process of `pids` and adds them up (a cluster's nodes and its NATS server);
/// `None` if any cannot be read or the list is empty.
pub fn sample_sum(pids: &[u32]) -> Option<ProcSample> {
    if pids.is_empty() {
        return None;
    }
    let mut sum = ProcSample::default();
    for &pid in pids {
        let s = sample(pid).ok()?;
        sum.cpu_s += s.cpu_s;
        sum.rss_kb += s.rss_kb;
        sum.hwm_kb += s.hwm_kb;
    }
    Some(sum)
}
