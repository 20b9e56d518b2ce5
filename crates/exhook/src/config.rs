//! `[[exhook.servers]]`: one [`ServerConfig`] per gRPC `HookProvider` server, read by the binary's
//! configuration loader (field errors carry their key, e.g. `exhook.servers[0].url`) and passed to
//! [`crate::ExhookManager`]; [`validate`] checks what spans fields or servers.

use std::path::PathBuf;

use hookmq_hooks::{BreakerConfig, FailedAction, HookPoint, Overflow};
use serde::{Deserialize, Deserializer, Serialize};
use tonic::codegen::http::Uri;

use crate::ExhookError;
use crate::duration::{AutoReconnect, ConfigDuration};
use crate::fleet::{FleetError, validate_all};

/// One `[[exhook.servers]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Unique name: letters, digits, `-` and `_`, starting with a letter or digit.
    #[serde(deserialize_with = "server_name")]
    pub name: String,
    /// Whether the server is loaded.
    #[serde(default = "yes")]
    pub enable: bool,
    /// `http://host:port` (HTTP/2 without TLS) or `https://host:port`.
    #[serde(deserialize_with = "server_url")]
    pub url: String,
    /// Deadline of each call; also sent to the server as `grpc-timeout`.
    #[serde(default = "five_seconds")]
    pub request_timeout: ConfigDuration,
    /// What a failed or timed-out call means for `client.authenticate`, `client.authorize` and
    /// `message.publish`: `deny` (the default, as in EMQX) or `ignore`.
    #[serde(default)]
    pub failed_action: FailedActionConfig,
    /// Whether the broker cannot do without this server's `client.authenticate`: while it is
    /// unavailable, new clients are refused with 0x88 Server unavailable (3.x: return code 3)
    /// instead of falling through to `allow_anonymous`.
    #[serde(default)]
    pub mandatory: bool,
    /// Failed calls within `breaker_window` that open the server's circuit breaker (calls are
    /// then skipped and the failure policy applies until `breaker_cooldown` has passed and a
    /// probe call succeeds); 0 (the default) disables it.
    #[serde(default)]
    pub breaker_failures: u32,
    /// The sliding window `breaker_failures` are counted in.
    #[serde(default = "breaker_window")]
    pub breaker_window: ConfigDuration,
    /// How long an open breaker skips calls before it lets one probe call through.
    #[serde(default = "breaker_cooldown")]
    pub breaker_cooldown: ConfigDuration,
    /// Interval for retrying the load handshake of a server that is down, or `false`.
    #[serde(default)]
    pub auto_reconnect: AutoReconnect,
    /// HTTP/2 connections to the server; a client's events always use the same one.
    #[serde(default = "eight", deserialize_with = "pool_size")]
    pub pool_size: usize,
    /// Protocol package: `v1`, `v2`, `v3` or `auto` (probe v3, then v2, then v1).
    #[serde(default)]
    pub proto: ProtoSetting,
    /// Notification hooks: `async` (queued per client, never slowing the broker) or `sync`
    /// (awaited in the client's task before the broker goes on, as EMQX does).
    #[serde(default)]
    pub notify: NotifyMode,
    /// Hooks the server only observes (names as in its `OnProviderLoaded` answer, e.g.
    /// `message.publish`): the broker never waits for them and ignores what they answer.
    #[serde(default, deserialize_with = "hook_names")]
    pub observe: Vec<String>,
    /// What a full queue does to notifications and observed events: `drop` (counted) or
    /// `block` (the client waits for room, up to `request_timeout`).
    #[serde(default)]
    pub overflow: OverflowConfig,
    /// Bound of each of its notification queues.
    #[serde(default = "queue_capacity", deserialize_with = "queue_bound")]
    pub queue_capacity: usize,
    /// TLS options (used with `https://` URLs).
    #[serde(default)]
    pub ssl: SslConfig,
}

impl ServerConfig {
    /// A configuration with every default, for `name` at `url`.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> ServerConfig {
        ServerConfig {
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
            pool_size: eight(),
            proto: ProtoSetting::default(),
            notify: NotifyMode::default(),
            observe: Vec::new(),
            overflow: OverflowConfig::default(),
            queue_capacity: queue_capacity(),
            ssl: SslConfig::default(),
        }
    }

    /// The circuit breaker its `breaker_*` keys configure.
    pub fn breaker(&self) -> BreakerConfig {
        breaker(
            self.breaker_failures,
            self.breaker_window,
            self.breaker_cooldown,
        )
    }

    /// Whether `point` is listed in `observe`.
    pub fn observes(&self, point: HookPoint) -> bool {
        self.observe
            .iter()
            .any(|n| HookPoint::from_name(n) == Some(point))
    }
}

/// `overflow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OverflowConfig {
    /// Drop the event and count it.
    #[default]
    Drop,
    /// Wait for room, up to `request_timeout`.
    Block,
}

impl From<OverflowConfig> for Overflow {
    fn from(c: OverflowConfig) -> Self {
        match c {
            OverflowConfig::Drop => Overflow::Drop,
            OverflowConfig::Block => Overflow::Block,
        }
    }
}

/// `failed_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailedActionConfig {
    /// Refuse: login denied, publish/subscribe denied, message dropped.
    #[default]
    Deny,
    /// Skip the server.
    Ignore,
}

impl From<FailedActionConfig> for FailedAction {
    fn from(c: FailedActionConfig) -> Self {
        match c {
            FailedActionConfig::Deny => FailedAction::Deny,
            FailedActionConfig::Ignore => FailedAction::Ignore,
        }
    }
}

/// `proto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtoSetting {
    /// Try `emqx.exhook.v3`, then `v2`, then `v1`, moving on when the server answers
    /// UNIMPLEMENTED; the version found is kept until the next load.
    #[default]
    Auto,
    /// `emqx.exhook.v1` (EMQX 4.3 / 4.4 servers).
    V1,
    /// `emqx.exhook.v2` (EMQX 5.0 to 5.8 servers).
    V2,
    /// `emqx.exhook.v3` (EMQX 5.9+ and 6.x servers).
    V3,
}

/// `notify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyMode {
    /// Notifications are queued per client and sent in order in the background.
    #[default]
    Async,
    /// Every call is awaited in the client's own task (EMQX's behaviour).
    Sync,
}

/// `ssl`: TLS to the server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SslConfig {
    /// Use TLS; also implied by an `https://` URL.
    pub enable: bool,
    /// CA certificates (PEM) that sign the server's certificate.
    pub cacertfile: Option<PathBuf>,
    /// Client certificate chain (PEM), for servers that require one.
    pub certfile: Option<PathBuf>,
    /// Client private key (PEM).
    pub keyfile: Option<PathBuf>,
    /// Name sent in SNI and checked against the server's certificate; the URL's host if unset.
    pub server_name_indication: Option<String>,
    /// `verify_peer` (check the server's certificate against `cacertfile`) or `verify_none`.
    pub verify: Verify,
}

impl Default for SslConfig {
    fn default() -> Self {
        SslConfig {
            enable: false,
            cacertfile: None,
            certfile: None,
            keyfile: None,
            server_name_indication: None,
            verify: Verify::VerifyPeer,
        }
    }
}

/// `ssl.verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verify {
    /// Check the server's certificate chain and name.
    VerifyPeer,
    /// Accept any server certificate (encryption without authentication).
    VerifyNone,
}

fn yes() -> bool {
    true
}

/// The circuit breaker of `breaker_failures`, `breaker_window` and `breaker_cooldown` (shared
/// with `[[ext.servers]]`).
pub fn breaker(failures: u32, window: ConfigDuration, cooldown: ConfigDuration) -> BreakerConfig {
    BreakerConfig {
        failures,
        window: window.0,
        cooldown: cooldown.0,
    }
}

/// The default of `breaker_window`.
pub fn breaker_window() -> ConfigDuration {
    ConfigDuration(BreakerConfig::DEFAULT.window)
}

/// The default of `breaker_cooldown`.
pub fn breaker_cooldown() -> ConfigDuration {
    ConfigDuration(BreakerConfig::DEFAULT.cooldown)
}

fn five_seconds() -> ConfigDuration {
    ConfigDuration(std::time::Duration::from_secs(5))
}

fn eight() -> usize {
    8
}

fn queue_capacity() -> usize {
    4096
}

/// The longest notification queue a server may configure.
const MAX_QUEUE_CAPACITY: usize = 1 << 20;

fn queue_bound<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    if (1..=MAX_QUEUE_CAPACITY).contains(&n) {
        Ok(n)
    } else {
        Err(serde::de::Error::custom(format!(
            "must be between 1 and {MAX_QUEUE_CAPACITY}"
        )))
    }
}

fn hook_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    if let Some(bad) = names.iter().find(|n| HookPoint::from_name(n).is_none()) {
        return Err(serde::de::Error::custom(format!(
            "{bad:?} is not a hook name (e.g. message.publish)"
        )));
    }
    Ok(names)
}

/// Whether `name` is a valid server name: `^[A-Za-z0-9]+[A-Za-z0-9-_]*$`, at most 256 bytes.
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && name.len() <= 256
}

/// Reads a server name for `#[serde(deserialize_with)]`, refusing invalid ones (the stream
/// protocol's configuration reads its names the same way).
pub fn server_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    if valid_name(&name) {
        Ok(name)
    } else {
        Err(serde::de::Error::custom(format!(
            "{name:?} is not a valid server name (letters, digits, '-' and '_', starting with a letter or digit)"
        )))
    }
}

/// Checks a gRPC server URL: `http://` or `https://`, a host, no path.
pub fn check_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(format!(
                "{url:?} must start with http:// (HTTP/2 without TLS) or https://"
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(format!("{url:?} must not have a path"));
    }
    Ok(uri)
}

/// Reads a server URL for `#[serde(deserialize_with)]`, checked by [`check_url`].
pub fn server_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let url = String::deserialize(d)?;
    check_url(&url).map_err(serde::de::Error::custom)?;
    Ok(url)
}

fn pool_size<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    if (1..=1024).contains(&n) {
        Ok(n)
    } else {
        Err(serde::de::Error::custom("must be between 1 and 1024"))
    }
}

/// The settings every kind of gRPC hook server has (exhook's and the stream protocol's), checked
/// the same way by [`check_endpoint`].
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// `name`.
    pub name: &'a str,
    /// `url`.
    pub url: &'a str,
    /// `request_timeout`.
    pub request_timeout: std::time::Duration,
    /// `pool_size`, and the largest this kind of server allows.
    pub pool_size: usize,
    /// The largest `pool_size`.
    pub max_pool_size: usize,
    /// `ssl`.
    pub ssl: &'a SslConfig,
}

/// Checks what [`Endpoint`] holds; `key` is the entry's place for messages, e.g.
/// `exhook.servers[0]`. Returns the parsed URL.
pub fn check_endpoint(e: &Endpoint<'_>, key: &str) -> Result<Uri, FleetError> {
    let err = |field: &str, message: String| FleetError::Config {
        key: format!("{key}.{field}"),
        message,
    };
    if !valid_name(e.name) {
        return Err(err(
            "name",
            format!("{:?} is not a valid server name", e.name),
        ));
    }
    let uri = check_url(e.url).map_err(|m| err("url", m))?;
    if e.request_timeout.is_zero() {
        return Err(err("request_timeout", "must be positive".into()));
    }
    if !(1..=e.max_pool_size).contains(&e.pool_size) {
        return Err(err(
            "pool_size",
            format!("must be between 1 and {}", e.max_pool_size),
        ));
    }
    let ssl = e.ssl;
    if ssl.enable && uri.scheme_str() == Some("http") {
        return Err(err("ssl.enable", "TLS needs an https:// url".into()));
    }
    if uri.scheme_str() == Some("https") {
        if ssl.verify == Verify::VerifyPeer && ssl.cacertfile.is_none() {
            return Err(err(
                "ssl.cacertfile",
                "required with ssl.verify = \"verify_peer\" (or set verify = \"verify_none\")"
                    .into(),
            ));
        }
        if ssl.certfile.is_some() != ssl.keyfile.is_some() {
            return Err(err(
                "ssl.keyfile",
                "certfile and keyfile go together".into(),
            ));
        }
    }
    Ok(uri)
}

/// The largest `pool_size` of an exhook server.
const MAX_POOL_SIZE: usize = 1024;

/// Checks one server's configuration; `key` is its position for messages, e.g.
/// `exhook.servers[0]`.
pub fn validate_server(config: &ServerConfig, key: &str) -> Result<(), ExhookError> {
    check(config, key).map_err(ExhookError::from)
}

/// [`validate_server`] with the fleet's error.
pub(crate) fn check(config: &ServerConfig, key: &str) -> Result<(), FleetError> {
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
    let err = |field: &str, message: String| FleetError::Config {
        key: format!("{key}.{field}"),
        message,
    };
    check_breaker(&config.breaker(), key)?;
    if !(1..=MAX_QUEUE_CAPACITY).contains(&config.queue_capacity) {
        return Err(err(
            "queue_capacity",
            format!("must be between 1 and {MAX_QUEUE_CAPACITY}"),
        ));
    }
    if let Some(bad) = config
        .observe
        .iter()
        .find(|n| HookPoint::from_name(n).is_none())
    {
        return Err(err(
            "observe",
            format!("{bad:?} is not a hook name (e.g. message.publish)"),
        ));
    }
    Ok(())
}

/// A circuit breaker that can open needs a window to count in and a cool-down to wait (shared
/// with `[[ext.servers]]`).
pub fn check_breaker(breaker: &BreakerConfig, key: &str) -> Result<(), FleetError> {
    if !breaker.enabled() {
        return Ok(());
    }
    for (field, d) in [
        ("breaker_window", breaker.window),
        ("breaker_cooldown", breaker.cooldown),
    ] {
        if d.is_zero() {
            return Err(FleetError::Config {
                key: format!("{key}.{field}"),
                message: "must be more than 0 when breaker_failures is set".into(),
            });
        }
    }
    Ok(())
}

/// Checks every server's configuration and that names are unique.
pub fn validate(servers: &[ServerConfig]) -> Result<(), ExhookError> {
    validate_all::<crate::server::Server>(servers).map_err(ExhookError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Section {
        servers: Vec<ServerConfig>,
    }

    fn read(text: &str) -> Result<Vec<ServerConfig>, String> {
        toml::from_str::<Section>(text)
            .map(|s| s.servers)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_match_emqx_except_notify_and_verify() {
        let s = read("[[servers]]\nname = \"auth\"\nurl = \"http://127.0.0.1:9000\"\n").unwrap();
        assert_eq!(s[0], ServerConfig::new("auth", "http://127.0.0.1:9000"));
        let c = &s[0];
        assert!(c.enable);
        assert_eq!(c.request_timeout.0, std::time::Duration::from_secs(5));
        assert_eq!(c.failed_action, FailedActionConfig::Deny);
        assert_eq!(c.auto_reconnect, AutoReconnect::default());
        assert_eq!(
            (c.pool_size, c.proto, c.notify),
            (8, ProtoSetting::Auto, NotifyMode::Async)
        );
        validate(&s).unwrap();
    }

    #[test]
    fn every_key_reads() {
        let s = read(
            r#"[[servers]]
name = "a-1_b"
enable = false
url = "https://hooks.local:9443"
request_timeout = "800ms"
failed_action = "ignore"
auto_reconnect = false
pool_size = 2
proto = "v1"
notify = "sync"
observe = ["message.publish", "client.check_acl"]
overflow = "block"
queue_capacity = 100
ssl = { enable = true, cacertfile = "ca.pem", certfile = "c.pem", keyfile = "c.key", server_name_indication = "hooks", verify = "verify_peer" }
"#,
        )
        .unwrap();
        let c = &s[0];
        assert_eq!(c.proto, ProtoSetting::V1);
        assert_eq!(c.notify, NotifyMode::Sync);
        assert!(c.observes(HookPoint::MessagePublish) && c.observes(HookPoint::ClientAuthorize));
        assert!(!c.observes(HookPoint::MessageAcked));
        assert_eq!((c.overflow, c.queue_capacity), (OverflowConfig::Block, 100));
        assert_eq!(c.auto_reconnect, AutoReconnect(None));
        assert_eq!(c.ssl.server_name_indication.as_deref(), Some("hooks"));
        validate(&s).unwrap();
    }

    #[test]
    fn bad_values_are_refused_with_their_key() {
        let base = "[[servers]]\nname = \"a\"\nurl = \"http://127.0.0.1:9000\"\n";
        for (extra, key) in [
            ("pool_size = 0\n", "pool_size"),
            ("proto = \"v4\"\n", "proto"),
            ("failed_action = \"maybe\"\n", "failed_action"),
            ("request_timeout = \"soon\"\n", "request_timeout"),
            ("colour = \"red\"\n", "colour"),
            ("observe = [\"message.sent\"]\n", "message.sent"),
            ("overflow = \"wait\"\n", "overflow"),
            ("queue_capacity = 0\n", "queue_capacity"),
        ] {
            let e = read(&format!("{base}{extra}")).unwrap_err();
            assert!(e.contains(key), "{extra}: {e}");
        }
        assert!(read("[[servers]]\nname = \"-x\"\nurl = \"http://h:1\"\n").is_err());
        assert!(read("[[servers]]\nname = \"x\"\nurl = \"ftp://h:1\"\n").is_err());
        assert!(read("[[servers]]\nname = \"x\"\nurl = \"http://h:1/path\"\n").is_err());

        let two = read(&format!("{base}{base}")).unwrap();
        let e = validate(&two).unwrap_err().to_string();
        assert!(e.contains("exhook.servers[1].name"), "{e}");

        let mut tls = ServerConfig::new("t", "https://h:1");
        let e = validate(&[tls.clone()]).unwrap_err().to_string();
        assert!(e.contains("exhook.servers[0].ssl.cacertfile"), "{e}");
        tls.ssl.verify = Verify::VerifyNone;
        validate(&[tls]).unwrap();
        let mut plain = ServerConfig::new("p", "http://h:1");
        plain.ssl.enable = true;
        let e = validate(&[plain]).unwrap_err().to_string();
        assert!(e.contains("ssl.enable"), "{e}");
    }

    #[test]
    fn names_follow_the_emqx_pattern() {
        for ok in ["a", "A9", "0-x_y", "auth-server_2"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-a", "_a", "a b", "a.b", "é"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
