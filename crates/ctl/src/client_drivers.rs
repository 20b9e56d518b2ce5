//! `hookmq ctl plugins ...` and `hookmq ctl exhook drivers ...`: the `extension_hook` plugin and
//! its Python/Java port drivers. Requests map one to one onto the endpoints in `hookmq-api`'s
//! `drivers.rs`; answers print as tables (or JSON with `--json`). A refusal, a failed load or an
//! unknown name exits 1 with the broker's message (for a failed load: which driver and why,
//! with the Python traceback or Java stack trace).

use serde_json::Value;

use crate::table::{Table, breaker_cell};

/// `hookmq ctl plugins ...`
#[derive(Debug, clap::Subcommand)]
pub enum PluginsCommand {
    /// List plugins.
    List,
    /// Load a plugin (`extension_hook`, or EMQX's name `emqx_extension_hook`): reads
    /// etc/plugins/extension_hook.conf and starts the drivers. Loading a loaded plugin is a
    /// no-op that succeeds.
    Load {
        /// Plugin name.
        name: String,
    },
    /// Unload a plugin: every driver's deinit(), then the workers stop.
    Unload {
        /// Plugin name.
        name: String,
    },
    /// Reload a plugin: re-read its .conf file, then unload and load.
    Reload {
        /// Plugin name.
        name: String,
    },
}

/// `hookmq ctl exhook drivers ...`
#[derive(Debug, clap::Subcommand)]
pub enum DriversCommand {
    /// List drivers.
    List,
    /// Enable a driver and start it.
    Enable {
        /// Driver name (e.g. python3, java).
        name: String,
    },
    /// Disable a driver: deinit(), then its workers stop.
    Disable {
        /// Driver name.
        name: String,
    },
    /// A driver's workers and per-hook call metrics.
    Stats {
        /// Driver name.
        name: String,
    },
}

/// Percent-encodes a path segment.
pub(crate) fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The API request for a plugins command: method, path, body.
pub(crate) fn plugins_request(cmd: &PluginsCommand) -> (&'static str, String, Option<Value>) {
    let action = |name: &str, what: &str| {
        (
            "POST",
            format!("/api/v1/plugins/{}/{what}", segment(name)),
            Some(Value::Null),
        )
    };
    match cmd {
        PluginsCommand::List => ("GET", "/api/v1/plugins".into(), None),
        PluginsCommand::Load { name } => action(name, "load"),
        PluginsCommand::Unload { name } => action(name, "unload"),
        PluginsCommand::Reload { name } => action(name, "reload"),
    }
}

/// The API request for a drivers command: method, path, body.
pub(crate) fn drivers_request(cmd: &DriversCommand) -> (&'static str, String, Option<Value>) {
    let base = "/api/v1/exhook/drivers";
    match cmd {
        DriversCommand::List => ("GET", base.into(), None),
        DriversCommand::Enable { name } => (
            "POST",
            format!("{base}/{}/enable", segment(name)),
            Some(Value::Null),
        ),
        DriversCommand::Disable { name } => (
            "POST",
            format!("{base}/{}/disable", segment(name)),
            Some(Value::Null),
        ),
        DriversCommand::Stats { name } => ("GET", format!("{base}/{}/stats", segment(name)), None),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

fn warnings(answer: &Value) -> String {
    items(&answer["warnings"])
        .map(|w| format!("warning: {}\n", text(w)))
        .collect()
}

/// Human-readable output of a plugins command.
pub(crate) fn plugins_human(cmd: &PluginsCommand, answer: &Value) -> String {
    match cmd {
        PluginsCommand::List => {
            let mut t = Table::new(&["NAME", "STATE", "DRIVERS", "CONF_FILE", "DESCRIPTION"]);
            for p in items(&answer["data"]) {
                t.row(vec![
                    text(&p["name"]),
                    text(&p["state"]),
                    text(&p["drivers"]),
                    text(&p["conf_file"]),
                    text(&p["description"]),
                ]);
            }
            t.render()
        }
        PluginsCommand::Load { name } if answer["already_loaded"] == Value::Bool(true) => {
            format!("plugin {name} is already loaded\n")
        }
        PluginsCommand::Load { name } | PluginsCommand::Reload { name } => {
            let verb = if matches!(cmd, PluginsCommand::Load { .. }) {
                "loaded"
            } else {
                "reloaded"
            };
            let started = text(&answer["started"]);
            let started = if started.is_empty() {
                "none".into()
            } else {
                started
            };
            format!(
                "{}plugin {name} {verb}; drivers started: {started}\n",
                warnings(answer)
            )
        }
        PluginsCommand::Unload { name } => format!("plugin {name} unloaded\n"),
    }
}

/// Human-readable output of a drivers command.
pub(crate) fn drivers_human(cmd: &DriversCommand, answer: &Value) -> String {
    match cmd {
        DriversCommand::List => {
            let mut t = Table::new(&[
                "NAME",
                "KIND",
                "STATE",
                "WORKERS",
                "RESTARTS",
                "INIT_MODULE",
                "SOURCE",
                "HOOKS",
                "BREAKER",
            ]);
            let mut errors = String::new();
            for d in items(&answer["data"]) {
                let running = items(&d["workers"])
                    .filter(|w| w["state"] == "running")
                    .count();
                t.row(vec![
                    text(&d["name"]),
                    text(&d["kind"]),
                    text(&d["state"]),
                    format!("{running}/{}", text(&d["pool_size"])),
                    text(&d["restarts"]),
                    text(&d["init_module"]),
                    text(&d["source"]),
                    items(&d["hooks"])
                        .map(|h| match h["observe"].as_bool() {
                            Some(true) => format!("{}(observe)", text(&h["name"])),
                            _ => text(&h["name"]),
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    breaker_cell(&d["breaker"]),
                ]);
                if let Some(e) = d["error"].as_str() {
                    errors.push_str(&format!("{}: {e}\n", text(&d["name"])));
                }
            }
            t.render() + &errors
        }
        DriversCommand::Enable { name } | DriversCommand::Disable { name } => {
            let verb = if matches!(cmd, DriversCommand::Enable { .. }) {
                "enabled"
            } else {
                "disabled"
            };
            format!("driver {name} {verb} ({})\n", text(&answer["state"]))
        }
        DriversCommand::Stats { .. } => stats_human(answer),
    }
}

fn stats_human(d: &Value) -> String {
    let mut info = Table::new(&["KEY", "VALUE"]);
    for key in [
        "name",
        "kind",
        "state",
        "error",
        "source",
        "init_module",
        "path",
        "pool_size",
        "call_timeout_ms",
        "failed_action",
        "overflow",
        "restarts",
    ] {
        info.row(vec![key.to_owned(), text(&d[key])]);
    }
    info.row(vec!["breaker".to_owned(), breaker_cell(&d["breaker"])]);
    let mut workers = Table::new(&[
        "WORKER",
        "STATE",
        "PID",
        "PROTOCOL",
        "RESTARTS",
        "INFLIGHT",
        "LAST_ERROR",
    ]);
    for w in items(&d["workers"]) {
        workers.row(vec![
            text(&w["index"]),
            text(&w["state"]),
            text(&w["pid"]),
            text(&w["protocol"]),
            text(&w["restarts"]),
            text(&w["inflight"]),
            text(&w["last_error"]),
        ]);
    }
    let mut hooks = Table::new(&[
        "HOOK",
        "CALLS",
        "IGNORED",
        "STOPPED",
        "FAILED",
        "TIMEOUTS",
        "DROPPED",
        "VALUES_IGNORED",
        "AVG_US",
    ]);
    for m in items(&d["metrics"]) {
        hooks.row(
            [
                "hook",
                "calls",
                "ignored",
                "stopped",
                "failed",
                "timed_out",
                "dropped",
                "values_ignored",
                "latency_avg_us",
            ]
            .iter()
            .map(|k| text(&m[*k]))
            .collect(),
        );
    }
    format!(
        "{}\n{}\n{}",
        info.render(),
        workers.render(),
        hooks.render()
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn requests_name_the_plugin_and_driver() {
        let (m, p, _) = plugins_request(&PluginsCommand::Load {
            name: "emqx_extension_hook".into(),
        });
        assert_eq!(
            (m, p.as_str()),
            ("POST", "/api/v1/plugins/emqx_extension_hook/load")
        );
        let (m, p, _) = drivers_request(&DriversCommand::Stats {
            name: "python3".into(),
        });
        assert_eq!(
            (m, p.as_str()),
            ("GET", "/api/v1/exhook/drivers/python3/stats")
        );
    }

    #[test]
    fn load_output_says_already_loaded_or_what_started() {
        let load = PluginsCommand::Load {
            name: "extension_hook".into(),
        };
        assert_eq!(
            plugins_human(&load, &json!({"already_loaded": true})),
            "plugin extension_hook is already loaded\n"
        );
        let out = plugins_human(
            &load,
            &json!({"already_loaded": false, "started": ["python3"], "warnings": ["x ignored"]}),
        );
        assert_eq!(
            out,
            "warning: x ignored\nplugin extension_hook loaded; drivers started: python3\n"
        );
    }

    #[test]
    fn driver_list_shows_workers_and_errors() {
        let answer = json!({"data": [{
            "name": "python3", "kind": "python3", "state": "failed", "pool_size": 2,
            "workers": [], "restarts": 0, "init_module": "hooks", "source": "hookmq.toml",
            "hooks": [], "error": "boom"
        }]});
        let out = drivers_human(&DriversCommand::List, &answer);
        assert!(out.contains("python3  python3  failed  0/2"), "{out}");
        assert!(out.ends_with("python3: boom\n"), "{out}");
    }
}
