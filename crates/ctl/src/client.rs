//! `hookmq ctl ...`: the command-line client of the management API. Prints human-readable tables
//! (or the API's JSON with `--json`). Exit codes: 0 ok, 1 not found or refused, 2 broker
//! unreachable, 64 usage.

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use crate::table::Table;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: not found, refused, or an error answer.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: the API could not be reached.
pub const EXIT_UNREACHABLE: u8 = 2;
/// Exit code: bad usage.
pub const EXIT_USAGE: u8 = 64;

/// `hookmq ctl` options.
#[derive(Debug, clap::Args)]
pub struct CtlArgs {
    /// Management API address.
    #[arg(long, env = "HOOKMQ_CTL_URL", default_value = "http://127.0.0.1:18083")]
    pub url: String,
    /// Bearer token (`[api] token`).
    #[arg(long, env = "HOOKMQ_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// `hookmq ctl` commands.
#[derive(Debug, clap::Subcommand)]
pub enum CtlCommand {
    /// Broker status.
    Status,
    /// Cluster membership: members, their connections and sessions, the NATS link.
    Cluster,
    /// Clients: list, show, kick, reauthorize.
    Clients {
        /// What to do.
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Subscriptions.
    Subscriptions {
        /// What to do.
        #[command(subcommand)]
        command: SubscriptionsCommand,
    },
    /// Retained messages: list, show, delete.
    Retained {
        /// What to do.
        #[command(subcommand)]
        command: RetainedCommand,
    },
    /// Publish a message as the broker.
    Publish {
        /// Topic.
        topic: String,
        /// Payload (text).
        payload: String,
        /// QoS.
        #[arg(long, default_value_t = 0)]
        qos: u8,
        /// Retain flag.
        #[arg(long)]
        retain: bool,
    },
    /// Registered hook handlers, their metrics and circuit breakers.
    Hooks {
        /// What to do; omitted: list the handlers.
        #[command(subcommand)]
        command: Option<HooksCommand>,
    },
    /// Prometheus metrics text.
    Metrics,
    /// The `extension_hook` plugin (Python and Java drivers): list, load, unload, reload.
    Plugins {
        /// What to do.
        #[command(subcommand)]
        command: crate::client_drivers::PluginsCommand,
    },
    /// Hook drivers and gRPC exhook servers.
    Exhook {
        /// What to do.
        #[command(subcommand)]
        command: ExhookCommand,
    },
    /// Hook traces: start, stop, list, follow live.
    Trace {
        /// What to do.
        #[command(subcommand)]
        command: crate::client_trace::TraceCommand,
    },
    /// Extension servers (hookmq's stream protocol).
    Ext {
        /// What to do.
        #[command(subcommand)]
        command: crate::client_ext::ExtCommand,
    },
    /// Show or change the log level.
    Log {
        /// New level or tracing filter; omitted: show the current one.
        level: Option<String>,
    },
}

/// `hookmq ctl hooks ...`
#[derive(Debug, clap::Subcommand)]
pub enum HooksCommand {
    /// List the handlers (the default).
    List,
    /// Close a handler's circuit breaker now, so calls resume without waiting for the
    /// cool-down and its probe.
    ResetBreaker {
        /// Handler name as `hooks` lists it (e.g. python3, exhook:auth, ext:audit).
        name: String,
    },
}

/// `hookmq ctl exhook ...`
#[derive(Debug, clap::Subcommand)]
pub enum ExhookCommand {
    /// Python and Java drivers.
    Drivers {
        /// What to do.
        #[command(subcommand)]
        command: crate::client_drivers::DriversCommand,
    },
    /// gRPC exhook servers.
    Servers {
        /// What to do.
        #[command(subcommand)]
        command: crate::client_servers::ServersCommand,
    },
}

/// `hookmq ctl clients ...`
#[derive(Debug, clap::Subcommand)]
pub enum ClientsCommand {
    /// List sessions.
    List {
        /// The clients of every node of the cluster, each with its node.
        #[arg(long)]
        cluster: bool,
        /// Only connected clients.
        #[arg(long)]
        connected: bool,
        /// Only this user name.
        #[arg(long)]
        username: Option<String>,
        /// Client ids containing this text.
        #[arg(long)]
        like: Option<String>,
    },
    /// Show one client.
    Show {
        /// Client id.
        clientid: String,
    },
    /// Disconnect a client.
    Kick {
        /// Client id.
        clientid: String,
    },
    /// Check sessions again against what authorization answers now (after rights changed):
    /// subscriptions now denied are removed, unreadable queued messages dropped.
    Reauthorize {
        /// Client id.
        #[arg(required_unless_present = "all")]
        clientid: Option<String>,
        /// Every session, connected or not.
        #[arg(long, conflicts_with = "clientid")]
        all: bool,
    },
}

/// `hookmq ctl subscriptions ...`
#[derive(Debug, clap::Subcommand)]
pub enum SubscriptionsCommand {
    /// List subscriptions.
    List {
        /// Only this client's.
        #[arg(long)]
        clientid: Option<String>,
    },
}

/// `hookmq ctl retained ...`
#[derive(Debug, clap::Subcommand)]
pub enum RetainedCommand {
    /// List retained messages.
    List,
    /// Show the retained message of a topic.
    Show {
        /// Topic.
        topic: String,
    },
    /// Delete the retained message of a topic.
    Delete {
        /// Topic.
        topic: String,
    },
}

/// An HTTP answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The API's error message and the status, e.g. `no running trace 7 (404)`.
    pub(crate) fn error_text(&self) -> String {
        let msg = self
            .json()
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or(self.body.clone());
        format!("{} ({})", msg.trim(), self.status)
    }
}

/// The management API at one address.
pub(crate) struct Api {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
}

impl Api {
    /// Opens a long-lived GET (a server-sent event stream): no overall timeout, only one for
    /// connecting. A non-2xx answer is an error with the API's message.
    pub(crate) fn stream(&self, path: &str) -> Result<ureq::Body, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .into();
        let url = format!("{}{}", self.url.trim_end_matches('/'), path);
        let mut r = agent.get(&url).header("Accept", "text/event-stream");
        if let Some(t) = &self.token {
            r = r.header("Authorization", format!("Bearer {t}"));
        }
        let resp = r
            .call()
            .map_err(|e| format!("cannot reach the management API at {}: {e}", self.url))?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let answer = Answer {
                status,
                body: resp.into_body().read_to_string().unwrap_or_default(),
            };
            return Err(answer.error_text());
        }
        Ok(resp.into_body())
    }

    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer, String> {
        let url = format!("{}{}", self.url.trim_end_matches('/'), path);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let result = match (method, body) {
            ("GET", _) => {
                let mut r = self.agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            ("DELETE", _) => {
                let mut r = self.agent.delete(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            (m, body) => {
                let mut r = if m == "PUT" {
                    self.agent.put(&url)
                } else {
                    self.agent.post(&url)
                };
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send_json(body.unwrap_or(Value::Null))
            }
        };
        let mut resp =
            result.map_err(|e| format!("cannot reach the management API at {}: {e}", self.url))?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Ok(Answer { status, body })
    }
}

/// Percent-encodes a path segment (client ids and topics may hold any character).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A topic as a path: each level encoded, slashes kept.
fn topic_path(topic: &str) -> String {
    topic.split('/').map(segment).collect::<Vec<_>>().join("/")
}

/// Runs a ctl command, writing to `out` and `err`; returns the exit code.
pub fn run(args: CtlArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let api = Api {
        agent,
        url: args.url.clone(),
        token: args.token.clone(),
    };
    if let CtlCommand::Trace {
        command: crate::client_trace::TraceCommand::Follow { id, selection, max },
    } = &args.command
    {
        return crate::client_trace::follow(&api, *id, selection, *max, args.json, out, err);
    }
    let (method, path, body) = request(&args.command);
    let answer = match api.call(method, &path, body) {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(err, "hookmq ctl: {e}");
            return EXIT_UNREACHABLE;
        }
    };
    if !(200..300).contains(&answer.status) {
        let _ = writeln!(err, "hookmq ctl: {}", answer.error_text());
        return EXIT_REFUSED;
    }
    if args.json || matches!(args.command, CtlCommand::Metrics) {
        let _ = writeln!(out, "{}", answer.body.trim_end());
        return EXIT_OK;
    }
    let _ = write!(out, "{}", human(&args.command, &answer));
    EXIT_OK
}

fn request(cmd: &CtlCommand) -> (&'static str, String, Option<Value>) {
    match cmd {
        CtlCommand::Status => ("GET", "/api/v1/status".into(), None),
        CtlCommand::Cluster => ("GET", "/api/v1/cluster".into(), None),
        CtlCommand::Clients { command } => match command {
            ClientsCommand::List {
                cluster,
                connected,
                username,
                like,
            } => {
                let mut q = Vec::new();
                if *cluster {
                    q.push("cluster=true".to_owned());
                }
                if *connected {
                    q.push("connected=true".to_owned());
                }
                if let Some(u) = username {
                    q.push(format!("username={}", segment(u)));
                }
                if let Some(l) = like {
                    q.push(format!("like={}", segment(l)));
                }
                let qs = if q.is_empty() {
                    String::new()
                } else {
                    format!("?{}", q.join("&"))
                };
                ("GET", format!("/api/v1/clients{qs}"), None)
            }
            ClientsCommand::Show { clientid } => (
                "GET",
                format!("/api/v1/clients/{}", segment(clientid)),
                None,
            ),
            ClientsCommand::Kick { clientid } => (
                "DELETE",
                format!("/api/v1/clients/{}", segment(clientid)),
                None,
            ),
            ClientsCommand::Reauthorize {
                clientid: Some(clientid),
                ..
            } => (
                "POST",
                format!("/api/v1/clients/{}/reauthorize", segment(clientid)),
                None,
            ),
            ClientsCommand::Reauthorize { clientid: None, .. } => {
                ("POST", "/api/v1/reauthorize".into(), None)
            }
        },
        CtlCommand::Subscriptions {
            command: SubscriptionsCommand::List { clientid },
        } => match clientid {
            Some(c) => (
                "GET",
                format!("/api/v1/subscriptions?clientid={}", segment(c)),
                None,
            ),
            None => ("GET", "/api/v1/subscriptions".into(), None),
        },
        CtlCommand::Retained { command } => match command {
            RetainedCommand::List => ("GET", "/api/v1/retained".into(), None),
            RetainedCommand::Show { topic } => (
                "GET",
                format!("/api/v1/retained/{}", topic_path(topic)),
                None,
            ),
            RetainedCommand::Delete { topic } => (
                "DELETE",
                format!("/api/v1/retained/{}", topic_path(topic)),
                None,
            ),
        },
        CtlCommand::Publish {
            topic,
            payload,
            qos,
            retain,
        } => (
            "POST",
            "/api/v1/publish".into(),
            Some(json!({"topic": topic, "payload": payload, "qos": qos, "retain": retain})),
        ),
        CtlCommand::Hooks {
            command: None | Some(HooksCommand::List),
        } => ("GET", "/api/v1/hooks".into(), None),
        CtlCommand::Hooks {
            command: Some(HooksCommand::ResetBreaker { name }),
        } => (
            "POST",
            format!(
                "/api/v1/hooks/{}/breaker/reset",
                crate::client_drivers::segment(name)
            ),
            Some(Value::Null),
        ),
        CtlCommand::Metrics => ("GET", "/metrics".into(), None),
        CtlCommand::Plugins { command } => crate::client_drivers::plugins_request(command),
        CtlCommand::Exhook {
            command: ExhookCommand::Drivers { command },
        } => crate::client_drivers::drivers_request(command),
        CtlCommand::Exhook {
            command: ExhookCommand::Servers { command },
        } => crate::client_servers::request(command),
        CtlCommand::Trace { command } => crate::client_trace::request(command),
        CtlCommand::Ext { command } => crate::client_ext::request(command),
        CtlCommand::Log { level: None } => ("GET", "/api/v1/log/level".into(), None),
        CtlCommand::Log { level: Some(l) } => {
            ("PUT", "/api/v1/log/level".into(), Some(json!({"level": l})))
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

fn human(cmd: &CtlCommand, a: &Answer) -> String {
    let v = a.json();
    let rows = |cols: &[&str], keys: &[&str]| {
        let mut t = Table::new(cols);
        for item in v
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            t.row(keys.iter().map(|k| text(&item[*k])).collect());
        }
        t.render()
    };
    match cmd {
        CtlCommand::Status
        | CtlCommand::Clients {
            command: ClientsCommand::Show { .. },
        } => {
            let mut t = Table::new(&["KEY", "VALUE"]);
            if let Some(map) = v.as_object() {
                for (k, val) in map {
                    t.row(vec![k.clone(), text(val)]);
                }
            }
            t.render()
        }
        CtlCommand::Cluster => cluster_text(&v),
        CtlCommand::Clients {
            command: ClientsCommand::List { cluster, .. },
        } => {
            // A cluster-wide list leads with each client's node.
            let skip = usize::from(!*cluster);
            rows(&CLIENT_HEADERS[skip..], &CLIENT_KEYS[skip..])
        }
        CtlCommand::Clients {
            command: ClientsCommand::Kick { clientid },
        } => format!("kicked {clientid}\n"),
        CtlCommand::Clients {
            command: ClientsCommand::Reauthorize { .. },
        } => {
            let mut t = Table::new(&["CLIENTID", "UNSUBSCRIBED", "DROPPED"]);
            let one = [v.clone()];
            let reports = v
                .get("data")
                .and_then(Value::as_array)
                .map_or(&one[..], |a| a);
            for r in reports {
                let unsubscribed: Vec<String> = r["unsubscribed"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect();
                let unsubscribed = if unsubscribed.is_empty() {
                    "-".to_owned()
                } else {
                    unsubscribed.join(" ")
                };
                t.row(vec![
                    text(&r["clientid"]),
                    unsubscribed,
                    text(&r["dropped"]),
                ]);
            }
            t.render()
        }
        CtlCommand::Subscriptions { .. } => rows(
            &["CLIENTID", "TOPIC", "QOS", "NL", "RAP", "RH", "SUBID"],
            &["clientid", "topic", "qos", "nl", "rap", "rh", "subid"],
        ),
        CtlCommand::Retained {
            command: RetainedCommand::List,
        } => rows(
            &["TOPIC", "QOS", "FROM", "PAYLOAD"],
            &["topic", "qos", "from", "payload"],
        ),
        CtlCommand::Retained {
            command: RetainedCommand::Show { .. },
        } => {
            let mut t = Table::new(&["KEY", "VALUE"]);
            for k in [
                "topic",
                "qos",
                "from",
                "timestamp",
                "payload_encoding",
                "payload",
            ] {
                t.row(vec![k.to_owned(), text(&v[k])]);
            }
            t.render()
        }
        CtlCommand::Retained {
            command: RetainedCommand::Delete { topic },
        } => format!("deleted retained message on {topic}\n"),
        CtlCommand::Publish { .. } => format!(
            "published {} to {} session(s)\n",
            text(&v["id"]),
            text(&v["delivered_to"])
        ),
        CtlCommand::Hooks {
            command: Some(HooksCommand::ResetBreaker { name }),
        } => format!(
            "circuit breaker of {name} {} ({})\n",
            if v["was_open"] == Value::Bool(true) {
                "closed"
            } else {
                "was already closed"
            },
            crate::table::breaker_cell(&v["breaker"])
        ),
        CtlCommand::Hooks { .. } => {
            let mut t = Table::new(&[
                "HANDLER", "DRIVER", "HOOK", "TOPICS", "CALLS", "FAILED", "TIMEOUTS", "DROPPED",
                "SKIPPED", "BREAKER",
            ]);
            for h in v
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for (hook, m) in h["hooks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .zip(h["metrics"].as_array().into_iter().flatten())
                {
                    t.row(vec![
                        text(&h["name"]),
                        text(&h["driver"]),
                        text(&hook["name"]),
                        hook["topics"]
                            .as_array()
                            .map(|a| a.iter().map(text).collect::<Vec<_>>().join(","))
                            .unwrap_or_default(),
                        text(&m["calls"]),
                        text(&m["failed"]),
                        text(&m["timed_out"]),
                        text(&m["dropped"]),
                        text(&m["skipped"]),
                        crate::table::breaker_cell(&h["breaker"]),
                    ]);
                }
            }
            t.render()
        }
        CtlCommand::Metrics => a.body.clone(),
        CtlCommand::Plugins { command } => crate::client_drivers::plugins_human(command, &v),
        CtlCommand::Exhook {
            command: ExhookCommand::Drivers { command },
        } => crate::client_drivers::drivers_human(command, &v),
        CtlCommand::Exhook {
            command: ExhookCommand::Servers { command },
        } => crate::client_servers::human(command, &v),
        CtlCommand::Trace { command } => crate::client_trace::human(command, &v),
        CtlCommand::Ext { command } => crate::client_ext::human(command, &v),
        CtlCommand::Log { .. } => format!("log level: {}\n", text(&v["level"])),
    }
}

/// Columns of `clients list`; the first (the node) only with `--cluster`.
const CLIENT_HEADERS: [&str; 9] = [
    "NODE",
    "CLIENTID",
    "USERNAME",
    "CONNECTED",
    "PEER",
    "PROTO",
    "SUBS",
    "QUEUED",
    "INFLIGHT",
];
const CLIENT_KEYS: [&str; 9] = [
    "node",
    "clientid",
    "username",
    "connected",
    "peerhost",
    "proto_ver",
    "subscriptions",
    "queued",
    "inflight",
];

/// `hookmq ctl cluster`: the link and counters as KEY VALUE lines, then one row per member.
fn cluster_text(v: &Value) -> String {
    if v["enabled"] != Value::Bool(true) {
        return format!("clustering is off on {}\n", text(&v["node"]));
    }
    let mut t = Table::new(&["KEY", "VALUE"]);
    for k in [
        "name",
        "node",
        "link",
        "link_server",
        "reconnects",
        "forwarded",
        "unforwarded",
        "received",
        "takeovers_in",
        "takeovers_out",
        "adopted",
        "orphan_wills",
    ] {
        t.row(vec![k.to_owned(), text(&v[k])]);
    }
    let mut m = Table::new(&["MEMBER", "CONNECTIONS", "SESSIONS", "LAST_SEEN_MS", "API"]);
    for item in v["members"].as_array().into_iter().flatten() {
        m.row(
            ["node", "connections", "sessions", "last_seen_ms", "api"]
                .iter()
                .map(|k| text(&item[*k]))
                .collect(),
        );
    }
    format!("{}\n{}", t.render(), m.render())
}
