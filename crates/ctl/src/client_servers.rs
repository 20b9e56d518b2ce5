//! `hookmq ctl exhook servers ...`: gRPC exhook servers at runtime.

use serde_json::{Value, json};

use crate::table::{Table, breaker_cell};

/// `hookmq ctl exhook servers ...`
#[derive(Debug, clap::Subcommand)]
pub enum ServersCommand {
    /// List servers with their status and hooks.
    List,
    /// Show one server.
    Show {
        /// Server name.
        name: String,
    },
    /// Add (and load) a server.
    Add {
        /// Unique name.
        #[arg(long)]
        name: String,
        /// `http://host:port` or `https://host:port`.
        #[arg(long)]
        url: String,
        /// Deadline of each call, e.g. `5s`.
        #[arg(long)]
        request_timeout: Option<String>,
        /// `deny` or `ignore`.
        #[arg(long)]
        failed_action: Option<String>,
        /// HTTP/2 connections.
        #[arg(long)]
        pool_size: Option<usize>,
        /// `v1`, `v2`, `v3` or `auto`.
        #[arg(long)]
        proto: Option<String>,
        /// `async` or `sync` notifications.
        #[arg(long)]
        notify: Option<String>,
    },
    /// Enable (load) a server.
    Enable {
        /// Server name.
        name: String,
    },
    /// Disable (unload) a server.
    Disable {
        /// Server name.
        name: String,
    },
    /// Remove a server.
    Remove {
        /// Server name.
        name: String,
    },
    /// Run a server's load handshake again.
    Reload {
        /// Server name.
        name: String,
    },
    /// Change a server's place in the call order.
    Move {
        /// Server name.
        name: String,
        /// `front`, `rear`, `before:<name>` or `after:<name>`.
        position: String,
    },
    /// Per server × hook counters.
    Stats,
}

fn path(name: &str) -> String {
    format!("/api/v1/exhook/servers/{}", crate::client::segment(name))
}

/// The API request for a servers command: method, path, body.
pub(crate) fn request(cmd: &ServersCommand) -> (&'static str, String, Option<Value>) {
    match cmd {
        ServersCommand::List => ("GET", "/api/v1/exhook/servers".into(), None),
        ServersCommand::Show { name } => ("GET", path(name), None),
        ServersCommand::Add {
            name,
            url,
            request_timeout,
            failed_action,
            pool_size,
            proto,
            notify,
        } => {
            let body = add_body(
                name,
                url,
                &[
                    ("request_timeout", request_timeout),
                    ("failed_action", failed_action),
                    ("proto", proto),
                    ("notify", notify),
                ],
                *pool_size,
            );
            ("POST", "/api/v1/exhook/servers".into(), Some(body))
        }
        ServersCommand::Enable { name } => action(&path(name), "enable"),
        ServersCommand::Disable { name } => action(&path(name), "disable"),
        ServersCommand::Reload { name } => action(&path(name), "reload"),
        ServersCommand::Remove { name } => ("DELETE", path(name), None),
        ServersCommand::Move { name, position } => (
            "POST",
            format!("{}/move", path(name)),
            Some(json!({ "position": position })),
        ),
        ServersCommand::Stats => ("GET", "/api/v1/exhook/stats".into(), None),
    }
}

/// The body of a server's `add`, shared by `exhook servers add` and `ext add`: name and url, plus
/// each option the user gave.
pub(crate) fn add_body(
    name: &str,
    url: &str,
    options: &[(&str, &Option<String>)],
    pool_size: Option<usize>,
) -> Value {
    let mut body = json!({ "name": name, "url": url });
    for (k, v) in options {
        if let Some(v) = v {
            body[*k] = json!(v);
        }
    }
    if let Some(n) = pool_size {
        body["pool_size"] = json!(n);
    }
    body
}

/// A POST without a body to `<server>/<verb>` (enable, disable, reload), for exhook and ext
/// servers alike.
pub(crate) fn action(server: &str, verb: &str) -> (&'static str, String, Option<Value>) {
    ("POST", format!("{server}/{verb}"), Some(json!({})))
}

/// A JSON value as a table cell (`-` for null).
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn hooks_text(server: &Value) -> String {
    server["hooks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| text(&h["name"]))
        .collect::<Vec<_>>()
        .join(",")
}

/// Human-readable output of a servers command.
pub(crate) fn human(cmd: &ServersCommand, v: &Value) -> String {
    let one = |s: &Value| {
        let mut t = Table::new(&["KEY", "VALUE"]);
        for k in [
            "name",
            "url",
            "enable",
            "status",
            "proto",
            "registered",
            "failed_action",
            "notify",
            "last_error",
        ] {
            t.row(vec![k.to_owned(), text(&s[k])]);
        }
        t.row(vec!["hooks".to_owned(), hooks_text(s)]);
        t.row(vec!["breaker".to_owned(), breaker_cell(&s["breaker"])]);
        t.render()
    };
    match cmd {
        ServersCommand::List => {
            let mut t = Table::new(&["NAME", "STATUS", "PROTO", "URL", "HOOKS", "BREAKER"]);
            for s in v["data"].as_array().into_iter().flatten() {
                t.row(vec![
                    text(&s["name"]),
                    text(&s["status"]),
                    text(&s["proto"]),
                    text(&s["url"]),
                    hooks_text(s),
                    breaker_cell(&s["breaker"]),
                ]);
            }
            t.render()
        }
        ServersCommand::Stats => {
            let mut t = Table::new(&[
                "SERVER", "HOOK", "CALLS", "SUCCEED", "FAILED", "TIMEOUTS", "DROPPED",
            ]);
            for s in v["data"].as_array().into_iter().flatten() {
                for h in s["hooks"].as_array().into_iter().flatten() {
                    let m = &h["metrics"];
                    t.row(vec![
                        text(&s["name"]),
                        text(&h["name"]),
                        text(&m["calls"]),
                        text(&m["succeed"]),
                        text(&m["failed"]),
                        text(&m["timed_out"]),
                        text(&m["dropped"]),
                    ]);
                }
            }
            t.render()
        }
        ServersCommand::Remove { name } => format!("removed {name}\n"),
        ServersCommand::Move { .. } => format!(
            "order: {}\n",
            v["order"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => one(v),
    }
}
