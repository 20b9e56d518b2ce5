//! `hookmq hooks replay EVENTS.jsonl`: the test kit for hook authors. It loads the handlers a
//! configuration names (Python or Java port drivers, EMQX gRPC exhook servers, servers of
//! hookmq's own stream protocol) into a hook
//! registry of its own, with no broker and no MQTT listener, hands each event of the file to
//! each handler of its point ([`Hooks::probe`]) and prints every answer. With `--expect` it
//! compares the answers with expected ones and exits 1 on a difference, so a hook repository
//! can run it in CI.
//!
//! The events file is the trace's JSON-lines format (`docs/testing-hooks.md`): records of
//! `hookmq ctl --json trace follow`, or hand-written lines with just `point` and `event`.
//! Packet and end records are skipped; blank lines and lines starting with `#` too. A line that
//! cannot be read is reported with its number and skipped (or, with `--on-bad-line stop`, ends
//! the run); a handler that fails or hangs is reported with its deadline and the run goes on.
//! Exit codes: 0 all answered as expected, 1 an answer differed from `--expect` (or no handler
//! loaded), 64 usage or configuration, 65 a bad line in the events or expectations file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hookmq_hooks::trace::json::{answer_to_json, event_from_json};
use hookmq_hooks::{HookError, HookPoint, Hooks, ProbeCall};
use serde_json::{Value, json};

use crate::config;

/// Exit code: an answer differed from the expectation, or no handler could be loaded.
const EXIT_DIFFERENT: u8 = 1;
/// Exit code: usage or configuration error.
const EXIT_USAGE: u8 = 64;
/// Exit code: a bad line in an input file (EX_DATAERR).
const EXIT_DATA: u8 = 65;

/// What to do with a line of the events file that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OnBadLine {
    /// Report it and go on with the next line (the run still exits 65).
    Continue,
    /// Report it and stop.
    Stop,
}

/// `hookmq hooks replay` options.
#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// The events: JSON lines in the trace format.
    events: PathBuf,
    /// A hookmq.toml whose `[exhook.drivers.*]`, `conf_file`, `[[exhook.servers]]` and
    /// `[[ext.servers]]` name the handlers.
    #[arg(long)]
    config: Option<PathBuf>,
    /// An EMQX-style `extension_hook.conf` (Python or Java port drivers).
    #[arg(long)]
    conf: Option<PathBuf>,
    /// An EMQX exhook gRPC server, e.g. `http://127.0.0.1:9000` (repeatable).
    #[arg(long)]
    grpc: Vec<String>,
    /// A server of hookmq's extension (stream) protocol, e.g. `http://127.0.0.1:9200`
    /// (repeatable).
    #[arg(long)]
    stream: Vec<String>,
    /// Directory that relative paths (driver `path`, `conf_file`) resolve against; default:
    /// the directory of `--config`, else the current one.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Expected answers (JSON lines with `answer`, optionally `handler`, `decision`, `line`),
    /// one per answer printed, in order; an expected object matches an answer that has at
    /// least its fields.
    #[arg(long)]
    expect: Option<PathBuf>,
    /// What a bad line in the events file does.
    #[arg(long, value_enum, default_value_t = OnBadLine::Continue)]
    on_bad_line: OnBadLine,
    /// Print each answer as a JSON line.
    #[arg(long)]
    json: bool,
    /// How long to wait for the handlers to load, e.g. `30s`.
    #[arg(long, default_value = "30s")]
    wait: hookmq_broker::units::HumanDuration,
}

/// One answer as printed and compared.
struct Answer {
    line: usize,
    point: HookPoint,
    call: ProbeCall,
}

impl Answer {
    fn to_json(&self) -> Value {
        json!({
            "line": self.line,
            "point": self.point.name(),
            "handler": self.call.handler,
            "driver": self.call.driver,
            "answer": answer_to_json(&self.call.outcome),
            "decision": self.call.decision,
            "latency_us": self.call.latency.as_micros() as u64,
        })
    }

    fn to_text(&self) -> String {
        let c = &self.call;
        let said = match &c.outcome {
            Err(HookError::Timeout) => format!(
                "error timeout: no answer within the {} ms deadline",
                c.timeout.as_millis()
            ),
            Err(e) => format!("error {e}"),
            Ok(_) => {
                let a = answer_to_json(&c.outcome);
                match a.get("value") {
                    Some(v) => format!("{} {v}", a["verdict"].as_str().unwrap_or("?")),
                    None => a["verdict"].as_str().unwrap_or("?").to_owned(),
                }
            }
        };
        format!(
            "line {} {} [{}] -> {said} => {} ({} us)",
            self.line,
            self.point.name(),
            c.handler,
            c.decision,
            c.latency.as_micros()
        )
    }
}

/// Runs the command; returns the exit code.
pub(crate) fn run(args: ReplayArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hookmq: cannot start the runtime: {e}");
            return EXIT_DIFFERENT;
        }
    };
    match runtime.block_on(replay(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hookmq hooks replay: {e:#}");
            EXIT_USAGE
        }
    }
}

/// The handlers, loaded into a registry of their own.
struct Handlers {
    hooks: Arc<Hooks>,
    exhook: Arc<hookmq_exhook::ExhookManager>,
    ext: Arc<hookmq_ext_client::ExtManager>,
    port: Arc<hookmq_port::PortDrivers>,
}

async fn load(args: &ReplayArgs) -> anyhow::Result<Handlers> {
    let mut cfg = config::load(args.config.as_deref(), std::env::vars())?;
    let base_dir = match (&args.dir, &args.config) {
        (Some(d), _) => d.clone(),
        (None, Some(c)) => c.parent().map(Path::to_path_buf).unwrap_or_default(),
        (None, None) => std::env::current_dir()?,
    };
    let base_dir = if base_dir.as_os_str().is_empty() {
        std::env::current_dir()?
    } else {
        base_dir
    };
    if let Some(conf) = &args.conf {
        cfg.exhook.drivers.conf_file = std::path::absolute(conf)?.display().to_string();
    }
    for (i, url) in args.grpc.iter().enumerate() {
        cfg.exhook.servers.push(hookmq_exhook::ServerConfig::new(
            numbered("replay", i),
            url.clone(),
        ));
    }
    hookmq_exhook::validate(&cfg.exhook.servers).context("--grpc")?;
    for (i, url) in args.stream.iter().enumerate() {
        cfg.ext.servers.push(hookmq_ext_client::ExtConfig::new(
            numbered("stream", i),
            url.clone(),
        ));
    }
    hookmq_ext_client::validate(&cfg.ext.servers).context("--stream")?;
    let hooks = Arc::new(Hooks::new());
    let info = hookmq_exhook::BrokerInfo {
        node: cfg.node.name.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        sysdescr: "hookmq hooks replay".to_owned(),
        started_at: std::time::SystemTime::now(),
        cluster_name: "hookmq".to_owned(),
    };
    let servers = cfg.exhook.servers.clone();
    let exhook = hookmq_exhook::ExhookManager::start(servers, hooks.clone(), info.clone()).await?;
    let ext =
        hookmq_ext_client::ExtManager::start(cfg.ext.servers.clone(), hooks.clone(), info).await?;
    let node = hookmq_hooks::NodeName::new(cfg.node.name.clone());
    let port =
        hookmq_port::PortDrivers::start(cfg.exhook.drivers.clone(), hooks.clone(), base_dir, node)
            .await?;
    // gRPC servers register once their load handshake succeeded, and port workers start one
    // by one: wait until every server is registered and every worker runs, so the first
    // events meet a ready handler.
    let deadline = tokio::time::Instant::now() + args.wait.0;
    loop {
        let servers = exhook
            .list()
            .into_iter()
            .filter(|s| s.enable && !s.registered)
            .map(|s| format!("{} ({})", s.name, s.last_error.unwrap_or_default()));
        let streams = ext
            .list()
            .into_iter()
            .filter(|s| s.enable && !s.registered)
            .map(|s| format!("{} ({})", s.name, s.last_error.unwrap_or_default()));
        let workers = port.drivers().into_iter().flat_map(|d| {
            let name = d.name;
            d.workers
                .into_iter()
                .filter(|w| w.state != "running")
                .map(move |w| format!("{name} worker {} ({})", w.index, w.state))
        });
        let waiting: Vec<String> = servers.chain(streams).chain(workers).collect();
        if waiting.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "hook server(s) not loaded after {}: {}",
                args.wait,
                waiting.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Handlers {
        hooks,
        exhook,
        ext,
        port,
    })
}

/// `base` for the first server given on the command line, `base1`, `base2`, ... after it.
fn numbered(base: &str, i: usize) -> String {
    if i == 0 {
        base.to_owned()
    } else {
        format!("{base}{i}")
    }
}

async fn replay(args: ReplayArgs) -> anyhow::Result<u8> {
    let events = std::fs::read_to_string(&args.events)
        .with_context(|| format!("cannot read {}", args.events.display()))?;
    let expected = match &args.expect {
        None => None,
        Some(p) => Some(read_expectations(p)?),
    };
    let handlers = load(&args).await?;
    if handlers.hooks.handlers().is_empty() {
        eprintln!("hookmq hooks replay: no handler loaded (see the messages above)");
        stop(&handlers).await;
        return Ok(EXIT_DIFFERENT);
    }
    let mut out = std::io::stdout().lock();
    let mut answers = Vec::new();
    let mut bad_lines = 0usize;
    for (i, text) in events.lines().enumerate() {
        let line = i + 1;
        let parsed = match parse_line(text) {
            Ok(None) => continue,
            Ok(Some(p)) => p,
            Err(why) => {
                bad_lines += 1;
                eprintln!("{}:{line}: {why}", args.events.display());
                if args.on_bad_line == OnBadLine::Stop {
                    break;
                }
                continue;
            }
        };
        let (point, event) = parsed;
        for call in handlers.hooks.probe(event).await {
            let a = Answer { line, point, call };
            let printed = if args.json {
                a.to_json().to_string()
            } else {
                a.to_text()
            };
            writeln!(out, "{printed}")?;
            answers.push(a);
        }
    }
    out.flush()?;
    drop(out);
    stop(&handlers).await;
    let mut code = if bad_lines > 0 { EXIT_DATA } else { 0 };
    if let Some(expected) = expected {
        let differences = compare(&answers, &expected);
        for d in &differences {
            eprintln!("{d}");
        }
        if differences.is_empty() {
            eprintln!("{} answers as expected", answers.len());
        } else {
            eprintln!(
                "{} difference(s) from {}",
                differences.len(),
                args.expect
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            code = EXIT_DIFFERENT;
        }
    }
    Ok(code)
}

async fn stop(h: &Handlers) {
    h.port.stop().await;
    h.exhook.stop().await;
    h.ext.stop().await;
}

/// One line of the events file: `None` for lines to skip, the point and event otherwise.
fn parse_line(text: &str) -> Result<Option<(HookPoint, hookmq_hooks::Event)>, String> {
    let t = text.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(t).map_err(|e| format!("not JSON: {e}"))?;
    match v.get("type").and_then(Value::as_str) {
        None | Some("hook") => {}
        Some("packet" | "end") => return Ok(None),
        Some(other) => return Err(format!("unknown record type {other:?}")),
    }
    let name = v
        .get("point")
        .and_then(Value::as_str)
        .ok_or("no \"point\"")?;
    let point = HookPoint::from_name(name).ok_or_else(|| format!("unknown hook point {name:?}"))?;
    let event = event_from_json(point, v.get("event").unwrap_or(&Value::Null))
        .map_err(|e| e.to_string())?;
    Ok(Some((point, event)))
}

fn read_expectations(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let v: Value = serde_json::from_str(t)
            .with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
        if v.get("type").is_some_and(|t| t != "hook") {
            continue;
        }
        anyhow::ensure!(
            v.get("answer").is_some(),
            "{}:{}: no \"answer\"",
            path.display(),
            i + 1
        );
        out.push(v);
    }
    Ok(out)
}

/// Whether `actual` has everything `expected` has: objects by their keys, anything else equal.
fn contains(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, ev)| contains(ev, a.get(k).unwrap_or(&Value::Null))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| contains(x, y))
        }
        _ => expected == actual,
    }
}

/// The differences between the answers and the expectations, in order.
fn compare(answers: &[Answer], expected: &[Value]) -> Vec<String> {
    let mut diffs = Vec::new();
    for (i, (a, e)) in answers.iter().zip(expected).enumerate() {
        let got = a.to_json();
        let mut want = json!({ "answer": e["answer"] });
        for key in ["handler", "decision", "line"] {
            if let Some(v) = e.get(key)
                && (key != "line" || e.get("type").is_none())
            {
                want[key] = v.clone();
            }
        }
        if !contains(&want, &got) {
            diffs.push(format!(
                "answer {} (events line {}, {} [{}]): expected {}, got {}",
                i + 1,
                a.line,
                a.point.name(),
                a.call.handler,
                want,
                json!({"answer": got["answer"], "decision": got["decision"]})
            ));
        }
    }
    if answers.len() != expected.len() {
        diffs.push(format!(
            "{} answers but {} expected",
            answers.len(),
            expected.len()
        ));
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_match_by_subset() {
        let actual = json!({"answer": {"verdict": "stop", "value": {"allow": false}}, "x": 1});
        assert!(contains(&json!({"answer": {"verdict": "stop"}}), &actual));
        assert!(!contains(
            &json!({"answer": {"verdict": "continue"}}),
            &actual
        ));
        assert!(!contains(
            &json!({"answer": {"value": {"allow": true}}}),
            &actual
        ));
        assert!(contains(&json!({}), &actual));
    }

    #[test]
    fn lines_are_skipped_read_or_refused() {
        assert!(parse_line("").unwrap().is_none());
        assert!(parse_line("# a comment").unwrap().is_none());
        assert!(
            parse_line(r#"{"type":"packet","packet":{}}"#)
                .unwrap()
                .is_none()
        );
        let (p, _) = parse_line(r#"{"point":"message.publish","event":{"message":{"topic":"t"}}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(p, HookPoint::MessagePublish);
        assert!(parse_line("{not json").unwrap_err().contains("not JSON"));
        assert!(
            parse_line(r#"{"point":"nope"}"#)
                .unwrap_err()
                .contains("unknown hook point")
        );
        let e = parse_line(r#"{"point":"message.publish","event":{"message":{"topic":"a/#"}}}"#)
            .unwrap_err();
        assert!(e.contains("event.message.topic"), "{e}");
    }
}
