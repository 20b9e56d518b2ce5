//! `hookmq ctl ext ...`: extension servers (hookmq's stream protocol) at runtime.

use serde_json::Value;

use crate::client_servers::{action, add_body, text};
use crate::table::{Table, breaker_cell};

/// `hookmq ctl ext ...`
#[derive(Debug, clap::Subcommand)]
pub enum ExtCommand {
    /// List extension servers with their status, streams and points.
    List,
    /// Show one server, with its stream counters.
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
        /// Deadline of each call that awaits a reply, e.g. `5s`.
        #[arg(long)]
        request_timeout: Option<String>,
        /// `deny` or `ignore`.
        #[arg(long)]
        failed_action: Option<String>,
        /// Streams (HTTP/2 connections).
        #[arg(long)]
        pool_size: Option<usize>,
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
    /// Load a server again (new streams, a new registration).
    Reload {
        /// Server name.
        name: String,
    },
}

fn path(name: &str) -> String {
    format!("/api/v1/ext/servers/{}", crate::client::segment(name))
}

/// The API request for an ext command: method, path, body.
pub(crate) fn request(cmd: &ExtCommand) -> (&'static str, String, Option<Value>) {
    match cmd {
        ExtCommand::List => ("GET", "/api/v1/ext/servers".into(), None),
        ExtCommand::Show { name } => ("GET", path(name), None),
        ExtCommand::Add {
            name,
            url,
            request_timeout,
            failed_action,
            pool_size,
        } => {
            let body = add_body(
                name,
                url,
                &[
                    ("request_timeout", request_timeout),
                    ("failed_action", failed_action),
                ],
                *pool_size,
            );
            ("POST", "/api/v1/ext/servers".into(), Some(body))
        }
        ExtCommand::Enable { name } => action(&path(name), "enable"),
        ExtCommand::Disable { name } => action(&path(name), "disable"),
        ExtCommand::Reload { name } => action(&path(name), "reload"),
        ExtCommand::Remove { name } => ("DELETE", path(name), None),
    }
}

fn points(server: &Value) -> String {
    server["hooks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            let name = text(&h["name"]);
            if h["observe"].as_bool() == Some(true) {
                format!("{name}(observe)")
            } else {
                name
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Human-readable output of an ext command.
pub(crate) fn human(cmd: &ExtCommand, v: &Value) -> String {
    match cmd {
        ExtCommand::List => {
            let mut t = Table::new(&["NAME", "STATUS", "STREAMS", "URL", "POINTS", "BREAKER"]);
            for s in v["data"].as_array().into_iter().flatten() {
                t.row(vec![
                    text(&s["name"]),
                    text(&s["status"]),
                    format!("{}/{}", text(&s["streams_up"]), text(&s["pool_size"])),
                    text(&s["url"]),
                    points(s),
                    breaker_cell(&s["breaker"]),
                ]);
            }
            t.render()
        }
        ExtCommand::Remove { name } => format!("removed {name}\n"),
        _ => {
            let mut t = Table::new(&["KEY", "VALUE"]);
            for k in [
                "name",
                "url",
                "enable",
                "status",
                "streams_up",
                "pool_size",
                "registered",
                "failed_action",
                "observe_policy",
                "last_error",
            ] {
                t.row(vec![k.to_owned(), text(&v[k])]);
            }
            t.row(vec!["points".to_owned(), points(v)]);
            t.row(vec!["breaker".to_owned(), breaker_cell(&v["breaker"])]);
            if let Some(stats) = v["stats"].as_object() {
                for (k, n) in stats {
                    t.row(vec![format!("stats.{k}"), text(n)]);
                }
            }
            t.render()
        }
    }
}
