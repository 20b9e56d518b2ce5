//! `hookmq ctl trace ...`: start, list and stop hook traces, and follow one live. `follow` reads
//! the API's server-sent event stream and prints each record as a readable line, or as the
//! record's own JSON line with `--json` (the format `hookmq hooks replay` reads, so
//! `hookmq ctl --json trace follow ... > events.jsonl` records a replayable file).

use std::io::{BufRead, BufReader, Write};

use serde_json::{Value, json};

use crate::client::{Api, EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE};
use crate::table::Table;

/// `hookmq ctl trace ...`
#[derive(Debug, clap::Subcommand)]
pub enum TraceCommand {
    /// Start a trace; prints its id.
    Start {
        /// The selection.
        #[command(flatten)]
        selection: Selection,
    },
    /// Stop a running trace.
    Stop {
        /// Trace id.
        id: u64,
    },
    /// List running traces with their counts of records and drops.
    List,
    /// Print a trace's records as they come. Without an id, starts a trace with the selection
    /// given here and follows it.
    Follow {
        /// Trace id; omitted: start one.
        id: Option<u64>,
        /// The selection of a trace started here.
        #[command(flatten)]
        selection: Selection,
        /// Exit after this many hook and packet records.
        #[arg(long)]
        max: Option<u64>,
    },
}

/// What a trace records and how much.
#[derive(Debug, Clone, clap::Args)]
pub struct Selection {
    /// Only this client id.
    #[arg(long = "client")]
    pub clientid: Option<String>,
    /// Only this user name.
    #[arg(long)]
    pub username: Option<String>,
    /// Only events and packets whose topic matches this MQTT filter.
    #[arg(long)]
    pub topic: Option<String>,
    /// Only this hook point (repeatable), e.g. `message.publish`.
    #[arg(long = "point")]
    pub points: Vec<String>,
    /// Leave out the clients' MQTT packets (recorded by default unless `--point` is given).
    #[arg(long)]
    pub no_packets: bool,
    /// Records per second at most (more are counted as dropped).
    #[arg(long)]
    pub rate: Option<u32>,
    /// How long the trace runs, e.g. `90s`, `10m` (default 5m).
    #[arg(long)]
    pub duration: Option<String>,
}

impl Selection {
    /// The body of `POST /api/v1/traces`.
    pub fn body(&self) -> Value {
        let mut b = json!({ "points": self.points });
        if self.no_packets {
            b["packets"] = json!(false);
        }
        for (k, v) in [
            ("clientid", &self.clientid),
            ("username", &self.username),
            ("topic", &self.topic),
            ("duration", &self.duration),
        ] {
            if let Some(v) = v {
                b[k] = json!(v);
            }
        }
        if let Some(r) = self.rate {
            b["max_rate"] = json!(r);
        }
        b
    }
}

/// The request of every command but `follow`.
pub(crate) fn request(cmd: &TraceCommand) -> (&'static str, String, Option<Value>) {
    match cmd {
        TraceCommand::Start { selection } | TraceCommand::Follow { selection, .. } => {
            ("POST", "/api/v1/traces".into(), Some(selection.body()))
        }
        TraceCommand::Stop { id } => ("DELETE", format!("/api/v1/traces/{id}"), None),
        TraceCommand::List => ("GET", "/api/v1/traces".into(), None),
    }
}

/// Human output of every command but `follow`.
pub(crate) fn human(cmd: &TraceCommand, v: &Value) -> String {
    match cmd {
        TraceCommand::Start { .. } | TraceCommand::Follow { .. } => format!(
            "trace {} started: {} for {}s at most {}/s\n",
            v["id"],
            text(&v["selection"]),
            v["duration_secs"],
            v["max_rate"]
        ),
        TraceCommand::Stop { id } => format!(
            "trace {id} stopped: {} records, {} dropped\n",
            v["recorded"], v["dropped"]
        ),
        TraceCommand::List => {
            let mut t = Table::new(&["ID", "SELECTION", "RATE", "LEFT", "RECORDED", "DROPPED"]);
            for item in v["data"].as_array().into_iter().flatten() {
                t.row(vec![
                    text(&item["id"]),
                    text(&item["selection"]),
                    format!("{}/s", item["max_rate"]),
                    format!("{}s", item["remaining_secs"]),
                    text(&item["recorded"]),
                    text(&item["dropped"]),
                ]);
            }
            t.render()
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `hookmq ctl trace follow`: follows trace `id`, or starts one with `selection`, follows it,
/// and stops it when done (after `max` records, or when the trace ends).
pub(crate) fn follow(
    api: &Api,
    id: Option<u64>,
    selection: &Selection,
    max: Option<u64>,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let (id, started) = match id {
        Some(id) => (id, false),
        None => match api.call("POST", "/api/v1/traces", Some(selection.body())) {
            Err(e) => {
                let _ = writeln!(err, "hookmq ctl: {e}");
                return EXIT_UNREACHABLE;
            }
            Ok(a) if !(200..300).contains(&a.status) => {
                let _ = writeln!(err, "hookmq ctl: {}", a.error_text());
                return EXIT_REFUSED;
            }
            Ok(a) => {
                let v = a.json();
                let _ = writeln!(
                    err,
                    "{}",
                    human(
                        &TraceCommand::Start {
                            selection: selection.clone()
                        },
                        &v
                    )
                    .trim_end()
                );
                (v["id"].as_u64().unwrap_or(0), true)
            }
        },
    };
    let code = match api.stream(&format!("/api/v1/traces/{id}/stream")) {
        Err(e) => {
            let _ = writeln!(err, "hookmq ctl: {e}");
            EXIT_REFUSED
        }
        Ok(body) => match follow_stream(body.into_reader(), json, max, out) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                let _ = writeln!(err, "hookmq ctl: the trace stream broke: {e}");
                EXIT_UNREACHABLE
            }
        },
    };
    if started {
        let _ = api.call("DELETE", &format!("/api/v1/traces/{id}"), None);
    }
    code
}

/// Reads a server-sent event stream, handing each record line to `out` (JSON as is, or as
/// text). Returns when the trace ends, the stream closes, or `max` records were printed.
pub(crate) fn follow_stream(
    body: impl std::io::Read,
    json: bool,
    max: Option<u64>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut event = String::new();
    let mut printed = 0u64;
    for line in BufReader::new(body).lines() {
        let line = line?;
        if let Some(kind) = line.strip_prefix("event:") {
            event = kind.trim().to_owned();
            continue;
        }
        let Some(data) = line.strip_prefix("data:") else {
            if line.is_empty() {
                event.clear();
            }
            continue;
        };
        let data = data.trim_start();
        let v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
        if event == "lost" {
            writeln!(
                out,
                "{}",
                if json {
                    data.to_owned()
                } else {
                    format!("# this follower lost {} records (too slow)", v["lost"])
                }
            )?;
            continue;
        }
        let end = v["type"] == "end";
        if json {
            writeln!(out, "{data}")?;
        } else {
            writeln!(out, "{}", readable(&v))?;
        }
        out.flush()?;
        if end {
            return Ok(());
        }
        printed += 1;
        if max.is_some_and(|m| printed >= m) {
            return Ok(());
        }
    }
    Ok(())
}

/// One record as a line of text: time, client, what happened.
pub fn readable(v: &Value) -> String {
    let ts = v["ts"].as_u64().unwrap_or(0);
    let time = format!(
        "{:02}:{:02}:{:02}.{:03}",
        ts / 3_600_000 % 24,
        ts / 60_000 % 60,
        ts / 1000 % 60,
        ts % 1000
    );
    match v["type"].as_str() {
        Some("hook") => {
            let answer = &v["answer"];
            let said = match (answer["verdict"].as_str(), answer["error"].as_str()) {
                (Some(verdict), _) => match answer.get("value") {
                    Some(value) => format!("{verdict} {value}"),
                    None => verdict.to_owned(),
                },
                (None, Some(err)) => format!("error {err}: {}", text(&answer["message"])),
                _ => answer.to_string(),
            };
            format!(
                "{time} {} {} [{}] -> {} => {} ({} us) {}",
                text(&v["clientid"]),
                text(&v["point"]),
                text(&v["handler"]),
                said,
                text(&v["decision"]),
                v["latency_us"],
                v["event"]
            )
        }
        Some("packet") => {
            let arrow = if v["direction"] == "in" { "<-" } else { "->" };
            format!(
                "{time} {} {arrow} {} {}",
                text(&v["clientid"]),
                text(&v["packet"]["type"]),
                v["packet"]
            )
        }
        Some("end") => format!(
            "{time} trace {} ended ({}), {} dropped by the rate limit",
            v["trace"],
            text(&v["reason"]),
            v["dropped"]
        ),
        _ => v.to_string(),
    }
}
