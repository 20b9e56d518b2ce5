//! Results: every run as one JSON line in the raw results file, and per-configuration medians
//! over the rounds as a Markdown table with ratios (hookmq / mosquitto, or each hook driver /
//! no hook). `main` records each run here and prints the summary at the end.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::conn::ConnResult;
use crate::scenario::LoadResult;

/// The measured part of one run.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Measured {
    /// A pub/sub run.
    Load(LoadResult),
    /// A conn run.
    Conn(ConnResult),
}

/// One run with where it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// `hookmq`, `mosquitto` or `external`.
    pub target: String,
    /// Hook driver variant (`none` without hooks).
    pub driver: String,
    /// Hook point of the variant, if any.
    pub hook: Option<String>,
    /// Round number from 1.
    pub round: usize,
    /// Unix time of the run's end, seconds.
    pub unix_time: u64,
    /// The 1-minute load average when the run ended.
    pub loadavg_1m: f64,
    /// What was measured.
    pub result: Measured,
}

impl Record {
    /// The configuration this run belongs to (the rows of the summary).
    pub fn label(&self) -> String {
        if self.driver == "none" {
            self.target.clone()
        } else {
            format!("{}+{}", self.target, self.driver)
        }
    }
}

/// The 1-minute load average from `/proc/loadavg` (0 if unreadable).
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// Appends a record to the JSON-lines file at `path`.
pub fn append(path: &Path, record: &Record) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(record)?)?;
    Ok(())
}

/// The median of `values` (0 when empty).
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Labels in first-seen order.
fn labels(records: &[Record]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        let l = r.label();
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// The baseline row the others are compared with: mosquitto when present, else no hook.
fn baseline(labels: &[String]) -> Option<&String> {
    labels
        .iter()
        .find(|l| *l == "mosquitto")
        .or_else(|| labels.iter().find(|l| *l == "hookmq"))
}

/// The Markdown summary (medians over rounds) of the records of one scenario.
pub fn summary(title: &str, records: &[Record]) -> String {
    let mut s = String::new();
    let labels = labels(records);
    let base = baseline(&labels).cloned();
    let rounds = records.iter().map(|r| r.round).max().unwrap_or(0);
    let load = median(records.iter().map(|r| r.loadavg_1m).collect());
    let _ = writeln!(
        s,
        "\n### {title}\n\nmedian of {rounds} rounds; load average (1 min) during the runs: median {load:.2}\n"
    );
    let pick = |label: &str, f: &dyn Fn(&Measured) -> f64| -> f64 {
        median(
            records
                .iter()
                .filter(|r| r.label() == label)
                .map(|r| f(&r.result))
                .collect(),
        )
    };
    let is_conn = matches!(records.first().map(|r| &r.result), Some(Measured::Conn(_)));
    if is_conn {
        let _ = writeln!(
            s,
            "| broker | conn/s | connect p50 ms | connect p99 ms | bytes/idle conn | broker CPU µs/conn | failed | conn/s ratio |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
        let cps = |m: &Measured| {
            if let Measured::Conn(c) = m {
                c.conn_per_s
            } else {
                0.0
            }
        };
        let base_cps = base.as_deref().map(|b| pick(b, &cps));
        for l in &labels {
            let get = |f: &dyn Fn(&ConnResult) -> f64| {
                pick(l, &|m| if let Measured::Conn(c) = m { f(c) } else { 0.0 })
            };
            let ratio = ratio(get(&|c| c.conn_per_s), base_cps);
            let _ = writeln!(
                s,
                "| {l} | {:.0} | {:.2} | {:.2} | {:.0} | {:.1} | {:.0} | {ratio} |",
                get(&|c| c.conn_per_s),
                get(&|c| c.connect_latency.p50_us as f64) / 1000.0,
                get(&|c| c.connect_latency.p99_us as f64) / 1000.0,
                get(&|c| c.bytes_per_conn),
                get(&|c| c.cpu_us_per_conn),
                get(&|c| c.failed as f64),
            );
        }
    } else {
        let _ = writeln!(
            s,
            "| broker | msgs/s in | msgs/s out | p50 ms | p90 ms | p99 ms | max ms | lost | dup | broker CPU % | CPU µs/msg out | peak RSS MiB | out ratio | p99 Δ ms |"
        );
        let _ = writeln!(
            s,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let out = |m: &Measured| {
            if let Measured::Load(r) = m {
                r.msgs_out_per_s
            } else {
                0.0
            }
        };
        let p99 = |m: &Measured| {
            if let Measured::Load(r) = m {
                r.latency.p99_us as f64
            } else {
                0.0
            }
        };
        let base_out = base.as_deref().map(|b| pick(b, &out));
        let base_p99 = base.as_deref().map(|b| pick(b, &p99));
        for l in &labels {
            let get = |f: &dyn Fn(&LoadResult) -> f64| {
                pick(l, &|m| if let Measured::Load(r) = m { f(r) } else { 0.0 })
            };
            let broker = |f: &dyn Fn(&crate::scenario::BrokerUsage) -> f64| {
                get(&|r| r.broker.as_ref().map_or(0.0, f))
            };
            let this_out = get(&|r| r.msgs_out_per_s);
            let this_p99 = get(&|r| r.latency.p99_us as f64);
            let delta = base_p99.map_or("–".to_owned(), |b| {
                format!("{:+.2}", (this_p99 - b) / 1000.0)
            });
            let _ = writeln!(
                s,
                "| {l} | {:.0} | {this_out:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {:.2} | {:.1} | {} | {delta} |",
                get(&|r| r.msgs_in_per_s),
                get(&|r| r.latency.p50_us as f64) / 1000.0,
                get(&|r| r.latency.p90_us as f64) / 1000.0,
                this_p99 / 1000.0,
                get(&|r| r.latency.max_us as f64) / 1000.0,
                get(&|r| r.integrity.lost as f64),
                get(&|r| r.integrity.duplicated as f64),
                broker(&|b| b.cpu_pct),
                broker(&|b| b.cpu_us_per_msg_out),
                broker(&|b| b.peak_rss_kb as f64) / 1024.0,
                ratio(this_out, base_out),
            );
        }
        let shares: Vec<String> = labels
            .iter()
            .filter_map(|l| {
                let v: Vec<f64> = records
                    .iter()
                    .filter(|r| r.label() == *l)
                    .filter_map(|r| match &r.result {
                        Measured::Load(x) => x.share_max_min,
                        Measured::Conn(_) => None,
                    })
                    .collect();
                (!v.is_empty()).then(|| format!("{l} {:.2}", median(v)))
            })
            .collect();
        let slow = records
            .iter()
            .any(|r| matches!(&r.result, Measured::Load(x) if x.spec.sub_rate > 0.0));
        if slow {
            let delivered: Vec<String> = labels
                .iter()
                .map(|l| {
                    let f = pick(l, &|m| match m {
                        Measured::Load(r) => r.delivered_fraction,
                        Measured::Conn(_) => 0.0,
                    });
                    format!("{l} {f:.3}")
                })
                .collect();
            let _ = writeln!(
                s,
                "\nDelivered of what was published, over the whole run (median): {}.",
                delivered.join(", ")
            );
        }
        if !shares.is_empty() {
            let _ = writeln!(
                s,
                "\nShared-subscription balance, largest member's share over the smallest's (median): {}.",
                shares.join(", ")
            );
        }
    }
    s
}

fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(b) if b > 0.0 => format!("{:.2}", value / b),
        _ => "–".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians_of_odd_even_and_empty_lists() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
