//! `[[ext.servers]]`: one [`ExtConfig`] per extension server speaking hookmq's stream protocol,
//! read by the binary's configuration loader (field errors carry their key, e.g.
//! `ext.servers[0].url`) and passed to [`crate::ExtManager`]. The URL check, durations, TLS
//! options and failure policy are the exhook client's own types, so both read the same way.

use hookmq_exhook::fleet::{FleetError, validate_all};
use hookmq_exhook::{
    AutoReconnect, ConfigDuration, Endpoint, FailedActionConfig, SslConfig, breaker,
    breaker_cooldown, breaker_window, check_breaker, check_endpoint, server_name, server_url,
};
use hookmq_hooks::BreakerConfig;
use serde::{Deserialize, Deserializer, Serialize};

use crate::ExtError;

/// One `[[ext.servers]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtConfig {
    /// Unique name: letters, digits, `-` and `_`, starting with a letter or digit.
    #[serde(deserialize_with = "server_name")]
    pub name: String,
    /// Whether the server is loaded.
    #[serde(default = "yes")]
    pub enable: bool,
    /// `http://host:port` (HTTP/2 without TLS) or `https://host:port`.
    #[serde(deserialize_with = "server_url")]
    pub url: String,
    /// Deadline of each call that expects a reply, and of the handshake.
    #[serde(default = "five_seconds")]
    pub request_timeout: ConfigDuration,
    /// What a failed or timed-out call means for the valued points: `deny` or `ignore`.
    #[serde(default)]
    pub failed_action: FailedActionConfig,
    /// Whether the broker cannot do without this extension's `client.authenticate`: while its
    /// streams are down, new clients are refused with 0x88 Server unavailable (3.x: return code
    /// 3) instead of falling through to `allow_anonymous`.
    #[serde(default)]
    pub mandatory: bool,
    /// Failed calls within `breaker_window` that open the extension's circuit breaker (calls
    /// are then skipped and the failure policy applies until `breaker_cooldown` has passed and
    /// a probe call succeeds); 0 (the default) disables it.
    #[serde(default)]
    pub breaker_failures: u32,
    /// The sliding window `breaker_failures` are counted in.
    #[serde(default = "breaker_window")]
    pub breaker_window: ConfigDuration,
    /// How long an open breaker skips calls before it lets one probe call through.
    #[serde(default = "breaker_cooldown")]
    pub breaker_cooldown: ConfigDuration,
    /// Longest wait between reconnection attempts of a lost stream (the wait starts at 100 ms
    /// and doubles), or `false` to leave a lost stream down.
    #[serde(default)]
    pub auto_reconnect: AutoReconnect,
    /// Streams (one HTTP/2 connection each); a client's events always use the same one.
    #[serde(default = "two", deserialize_with = "pool_size")]
    pub pool_size: usize,
    /// Most events in one batch, and most replies accepted in one batch.
    #[serde(default = "max_batch_default", deserialize_with = "positive")]
    pub max_batch: usize,
    /// Most events awaiting a reply per stream; further calls wait (within their deadline).
    #[serde(default = "max_inflight_default", deserialize_with = "positive")]
    pub max_inflight: usize,
    /// Events queued per stream before they are sent. Notifications and observe-only events
    /// that find it full are dropped and counted (or wait, with `observe_policy = "block"`).
    #[serde(default = "queue_capacity_default", deserialize_with = "positive")]
    pub queue_capacity: usize,
    /// `drop` (default) or `block`: what happens to an observe-only or notification event when
    /// the stream's queue is full.
    #[serde(default)]
    pub observe_policy: ObservePolicy,
    /// Order against other hook handlers (higher first).
    #[serde(default)]
    pub priority: i32,
    /// How long a publisher's acknowledgement held by a `hold` reply waits for the extension's
    /// `ConfirmCommand` before `failed_action` decides it.
    #[serde(default = "five_seconds")]
    pub hold_timeout: ConfigDuration,
    /// TLS options (used with `https://` URLs), as for exhook servers.
    #[serde(default)]
    pub ssl: SslConfig,
}

/// `observe_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObservePolicy {
    /// Never make the broker wait: drop the event and count it.
    #[default]
    Drop,
    /// Wait for room in the queue, up to `request_timeout` (for handlers that must see every
    /// event; a slow extension then slows the clients whose events it observes).
    Block,
}

impl ExtConfig {
    /// The circuit breaker its `breaker_*` keys configure.
    pub fn breaker(&self) -> BreakerConfig {
        breaker(
            self.breaker_failures,
            self.breaker_window,
            self.breaker_cooldown,
        )
    }

    /// A configuration with every default, for `name` at `url`.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> ExtConfig {
        ExtConfig {
            name: name.into(),
            enable: true,
            url: url.into(),
            request_timeout: five_seconds(),
            failed_action: FailedActionConfig::default(),
            mandatory: false,
            breaker_failures: BreakerConfig::DEFAULT.failures,
            breaker_window: breaker_window(),
            breaker_cooldown: breaker_cooldown(),
            auto_reconnect: AutoReconnect::default(),
            pool_size: two(),
            max_batch: max_batch_default(),
            max_inflight: max_inflight_default(),
            queue_capacity: queue_capacity_default(),
            observe_policy: ObservePolicy::default(),
            priority: 0,
            hold_timeout: five_seconds(),
            ssl: SslConfig::default(),
        }
    }
}

fn yes() -> bool {
    true
}

fn five_seconds() -> ConfigDuration {
    ConfigDuration(std::time::Duration::from_secs(5))
}

fn two() -> usize {
    2
}

fn max_batch_default() -> usize {
    256
}

fn max_inflight_default() -> usize {
    4096
}

fn queue_capacity_default() -> usize {
    8192
}

fn pool_size<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    if (1..=MAX_POOL_SIZE).contains(&n) {
        Ok(n)
    } else {
        Err(serde::de::Error::custom(format!(
            "must be between 1 and {MAX_POOL_SIZE}"
        )))
    }
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    if (1..=1_000_000).contains(&n) {
        Ok(n)
    } else {
        Err(serde::de::Error::custom("must be between 1 and 1000000"))
    }
}

/// The largest `pool_size` of an extension server.
const MAX_POOL_SIZE: usize = 64;

/// Checks one server's configuration; `key` is its position for messages, e.g.
/// `ext.servers[0]`.
pub fn validate_server(config: &ExtConfig, key: &str) -> Result<(), ExtError> {
    check(config, key).map_err(ExtError::from)
}

/// [`validate_server`] with the fleet's error: the settings every gRPC hook server has are
/// checked by exhook's [`check_endpoint`], the stream's own limits here.
pub(crate) fn check(config: &ExtConfig, key: &str) -> Result<(), FleetError> {
    check_endpoint(
        &Endpoint {
            name: &config.name,
            url: &config.url,
            request_timeout: config.request_timeout.0,
            pool_size: config.pool_size,
            max_pool_size: MAX_POOL_SIZE,
            ssl: &config.ssl,
        },
        key,
    )?;
    check_breaker(&config.breaker(), key)?;
    for (field, n) in [
        ("max_batch", config.max_batch),
        ("max_inflight", config.max_inflight),
        ("queue_capacity", config.queue_capacity),
    ] {
        if !(1..=1_000_000).contains(&n) {
            return Err(FleetError::Config {
                key: format!("{key}.{field}"),
                message: "must be between 1 and 1000000".into(),
            });
        }
    }
    Ok(())
}

/// Checks every server's configuration and that names are unique.
pub fn validate(servers: &[ExtConfig]) -> Result<(), ExtError> {
    validate_all::<crate::server::Server>(servers).map_err(ExtError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Section {
        servers: Vec<ExtConfig>,
    }

    fn read(text: &str) -> Result<Vec<ExtConfig>, String> {
        toml::from_str::<Section>(text)
            .map(|s| s.servers)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_every_key() {
        let s = read("[[servers]]\nname = \"x\"\nurl = \"http://127.0.0.1:9000\"\n").unwrap();
        assert_eq!(s[0], ExtConfig::new("x", "http://127.0.0.1:9000"));
        let s = read(
            r#"[[servers]]
name = "acl"
enable = false
url = "http://127.0.0.1:9001"
request_timeout = "2s"
failed_action = "ignore"
auto_reconnect = "5s"
pool_size = 3
max_batch = 64
max_inflight = 100
queue_capacity = 1000
observe_policy = "block"
priority = 5
"#,
        )
        .unwrap();
        let c = &s[0];
        assert_eq!(
            (c.pool_size, c.max_batch, c.max_inflight, c.queue_capacity),
            (3, 64, 100, 1000)
        );
        assert_eq!(c.observe_policy, ObservePolicy::Block);
        assert_eq!(c.priority, 5);
        validate(&s).unwrap();
    }

    #[test]
    fn bad_values_name_their_key() {
        let base = "[[servers]]\nname = \"a\"\nurl = \"http://127.0.0.1:9000\"\n";
        for (extra, key) in [
            ("pool_size = 0\n", "pool_size"),
            ("max_batch = 0\n", "max_batch"),
            ("observe_policy = \"maybe\"\n", "observe_policy"),
            ("colour = 1\n", "colour"),
        ] {
            let e = read(&format!("{base}{extra}")).unwrap_err();
            assert!(e.contains(key), "{extra}: {e}");
        }
        let two = read(&format!("{base}{base}")).unwrap();
        let e = validate(&two).unwrap_err().to_string();
        assert!(e.contains("ext.servers[1].name"), "{e}");
        let e = validate(&[ExtConfig::new("t", "https://h:1")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("ext.servers[0].ssl.cacertfile"), "{e}");
    }
}
