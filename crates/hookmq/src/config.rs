//! Loading `hookmq.toml`: the file (optional), `HOOKMQ_*` environment overrides, and validation
//! with errors that name the offending key. `main` calls [`load`] and exits 64 on any error;
//! the `config_toml` fuzz target (`crates/fuzzcheck`) calls [`parse`] with arbitrary text.

use std::path::{Path, PathBuf};

use hookmq_broker::BrokerConfig;
use hookmq_broker::config::{
    AuthorizationConfig, LimitsConfig, ListenersConfig, MqttConfig, NodeConfig, RetainedConfig,
    SessionConfig, SysConfig,
};
use serde::Deserialize;

/// The default configuration file, with every key documented.
pub const DEFAULT_TOML: &str = include_str!("../default.toml");

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[node]`
    pub node: NodeConfig,
    /// `[listeners]`
    pub listeners: ListenersConfig,
    /// `[mqtt]`
    pub mqtt: MqttConfig,
    /// `[authorization]`
    pub authorization: AuthorizationConfig,
    /// `[session]`
    pub session: SessionConfig,
    /// `[limits]`
    pub limits: LimitsConfig,
    /// `[shared_subscriptions]`
    pub shared_subscriptions: hookmq_broker::SharedSubscriptionsConfig,
    /// `[retained]`
    pub retained: RetainedConfig,
    /// `[sys]`
    pub sys: SysConfig,
    /// `[redirect]`
    pub redirect: hookmq_broker::config::RedirectConfig,
    /// `[persistence]`
    pub persistence: hookmq_broker::PersistenceConfig,
    /// `[log]`
    pub log: LogConfig,
    /// `[exhook]`: hook drivers and gRPC servers.
    pub exhook: ExhookSection,
    /// `[ext]`: extension servers speaking hookmq's stream protocol.
    pub ext: ExtSection,
    /// `[api]`: the management API.
    pub api: hookmq_api::ApiConfig,
    /// `[auth]`: built-in authentication and authorization sources.
    pub auth: hookmq_auth::AuthConfig,
    /// `[cluster]`: several nodes as one broker, on NATS.
    pub cluster: hookmq_cluster::ClusterConfig,
}

/// `[ext]`
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ExtSection {
    /// `[[ext.servers]]`: extension servers (hookmq's gRPC stream protocol).
    pub servers: Vec<hookmq_ext_client::ExtConfig>,
}

/// `[exhook]`
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ExhookSection {
    /// `[[exhook.servers]]`: EMQX-compatible gRPC `HookProvider` servers, called in this order.
    pub servers: Vec<hookmq_exhook::ServerConfig>,
    /// `[exhook.drivers.<name>]`: Python and Java hooks over the Erlang-port protocol.
    pub drivers: hookmq_port::DriversConfig,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Level or tracing filter.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Config {
    /// The broker's part.
    pub fn broker(&self) -> BrokerConfig {
        BrokerConfig {
            node: self.node.clone(),
            listeners: self.listeners.clone(),
            mqtt: self.mqtt.clone(),
            authorization: self.authorization.clone(),
            session: self.session.clone(),
            limits: self.limits.clone(),
            shared_subscriptions: self.shared_subscriptions.clone(),
            retained: self.retained.clone(),
            sys: self.sys.clone(),
            redirect: self.redirect.clone(),
            persistence: self.persistence.clone(),
        }
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key is unknown or its value is wrong.
    #[error("invalid configuration key {key}: {message}")]
    Invalid {
        /// Dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads the configuration: `path` (if any), then `HOOKMQ_*` variables from `env`.
pub fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, LoadError> {
    from_table(read_table(path, env)?)
}

/// The file's table (empty without a file) with the `HOOKMQ_*` overrides applied.
fn read_table(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<toml::Table, LoadError> {
    let mut table = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| LoadError::Read {
                path: p.into(),
                source,
            })?;
            text.parse::<toml::Table>().map_err(|e| LoadError::Syntax {
                path: p.into(),
                message: e.to_string().trim().to_owned(),
            })?
        }
        None => toml::Table::new(),
    };
    apply_env(&mut table, env)?;
    Ok(table)
}

/// Keys whose values never leave the broker: the management API shows them masked.
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "token"
        || k == "secret"
        || k.contains("password")
        || k.ends_with("_secret")
        || k.ends_with("_token")
}

/// The configuration in force, for the management API and the dashboard: the documented
/// defaults, then the file, then `HOOKMQ_*` variables, merged key by key, with secrets masked.
pub fn effective(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<serde_json::Value, LoadError> {
    fn merge(into: &mut toml::Table, from: toml::Table) {
        for (k, v) in from {
            match (into.get_mut(&k), v) {
                (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
                (_, v) => {
                    into.insert(k, v);
                }
            }
        }
    }
    fn mask(v: &mut toml::Value) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t.iter_mut() {
                    match v {
                        toml::Value::String(s) if is_secret(k) && !s.is_empty() => {
                            *s = "********".into()
                        }
                        other => mask(other),
                    }
                }
            }
            toml::Value::Array(a) => a.iter_mut().for_each(mask),
            _ => {}
        }
    }
    let mut table: toml::Table = DEFAULT_TOML.parse().unwrap_or_default();
    let mut user = read_table(path, env)?;
    normalize_single_listener(&mut user);
    merge(&mut table, user);
    let mut value = toml::Value::Table(table);
    mask(&mut value);
    serde_json::to_value(&value).map_err(|e| LoadError::Invalid {
        key: String::new(),
        message: e.to_string(),
    })
}

/// Parses and validates configuration text (no environment overrides), as [`load`] does with
/// a file's text; `origin` names the file in syntax errors.
pub fn parse(text: &str, origin: &Path) -> Result<Config, LoadError> {
    let table = text.parse::<toml::Table>().map_err(|e| LoadError::Syntax {
        path: origin.into(),
        message: e.to_string().trim().to_owned(),
    })?;
    from_table(table)
}

fn from_table(mut table: toml::Table) -> Result<Config, LoadError> {
    normalize_single_listener(&mut table);
    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            LoadError::Invalid {
                key,
                message: e.into_inner().to_string().trim().to_owned(),
            }
        })?;
    config.broker().validate().map_err(|e| LoadError::Invalid {
        key: e.key,
        message: e.message,
    })?;
    config.cluster.validate().map_err(|e| LoadError::Invalid {
        key: e.key,
        message: e.message,
    })?;
    hookmq_exhook::validate(&config.exhook.servers).map_err(|e| match e {
        hookmq_exhook::ExhookError::Config { key, message } => LoadError::Invalid { key, message },
        other => LoadError::Invalid {
            key: "exhook.servers".into(),
            message: other.to_string(),
        },
    })?;
    hookmq_ext_client::validate(&config.ext.servers).map_err(|e| match e {
        hookmq_ext_client::ExtError::Config { key, message } => LoadError::Invalid { key, message },
        other => LoadError::Invalid {
            key: "ext.servers".into(),
            message: other.to_string(),
        },
    })?;
    Ok(config)
}

/// Accepts `[listeners.tcp] bind = "..."` as the listener named `default`.
fn normalize_single_listener(table: &mut toml::Table) {
    let Some(toml::Value::Table(listeners)) = table.get_mut("listeners") else {
        return;
    };
    for kind in ["tcp", "tls", "ws", "wss"] {
        let Some(toml::Value::Table(t)) = listeners.get_mut(kind) else {
            continue;
        };
        if t.values().any(|v| !v.is_table()) {
            let single = std::mem::take(t);
            t.insert("default".into(), toml::Value::Table(single));
        }
    }
}

/// Applies `HOOKMQ_A__B__C=value` as `a.b.c = value` (the value read as TOML if it parses,
/// else as a string).
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), LoadError> {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("HOOKMQ_") && k.contains("__"))
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let path: Vec<String> = name["HOOKMQ_".len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        let key = path.join(".");
        if path.iter().any(|p| p.is_empty()) {
            return Err(LoadError::Invalid {
                key: name,
                message: "empty key segment".into(),
            });
        }
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        let mut node = &mut *table;
        for segment in &path[..path.len() - 1] {
            let entry = node
                .entry(segment.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = match entry {
                toml::Value::Table(t) => t,
                _ => {
                    return Err(LoadError::Invalid {
                        key,
                        message: "is not a table".into(),
                    });
                }
            };
        }
        if let Some(last) = path.last() {
            node.insert(last.clone(), value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_default_file_is_the_default() {
        let parsed = parse(DEFAULT_TOML, Path::new("default.toml")).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = parse("[mqtt]\nmax_inflihgt = 3\n", Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mqtt") && err.contains("max_inflihgt"),
            "{err}"
        );
        let err = parse("[mqtt]\nmax_qos = 7\n", Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("mqtt.max_qos"), "{err}");
        let err = parse("[mqtt]\nconnect_timeout = \"soon\"\n", Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("mqtt.connect_timeout"), "{err}");
        let err = parse("[listeners.tcp.a]\nbind = \"nowhere\"\n", Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("listeners.tcp.a.bind"), "{err}");
    }

    #[test]
    fn a_single_unnamed_listener_is_the_default_one() {
        let c = parse("[listeners.tcp]\nbind = \"127.0.0.1:0\"\n", Path::new("x")).unwrap();
        assert_eq!(
            c.listeners.tcp["default"]
                .bind
                .map(|b| b.to_string())
                .as_deref(),
            Some("127.0.0.1:0")
        );
    }

    #[test]
    fn environment_variables_override_the_file() {
        let env = vec![
            ("HOOKMQ_MQTT__MAX_INFLIGHT".to_owned(), "64".to_owned()),
            ("HOOKMQ_NODE__NAME".to_owned(), "n1@host".to_owned()),
            (
                "HOOKMQ_LISTENERS__TCP__DEFAULT__BIND".to_owned(),
                "127.0.0.1:1999".to_owned(),
            ),
            ("HOOKMQ_CONFIG".to_owned(), "ignored".to_owned()),
        ];
        let c = load(None, env).unwrap();
        assert_eq!(c.mqtt.max_inflight, 64);
        assert_eq!(c.node.name, "n1@host");
        assert_eq!(
            c.listeners.tcp["default"].bind.map(|b| b.port()),
            Some(1999)
        );
        let bad = vec![("HOOKMQ_MQTT__MAX_INFLIGHT".to_owned(), "lots".to_owned())];
        assert!(
            load(None, bad)
                .unwrap_err()
                .to_string()
                .contains("mqtt.max_inflight")
        );
    }
}
