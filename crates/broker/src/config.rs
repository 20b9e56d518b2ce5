//! The broker's configuration: listeners, MQTT limits, authorization defaults, retained messages,
//! `$SYS`. Every field has a default, so an empty file (or none) runs a working broker. The binary
//! reads `hookmq.toml` into these structs; embedders build them in code.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::units::{ByteSize, HumanDuration};

/// The broker part of `hookmq.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerConfig {
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
    pub shared_subscriptions: crate::strategy::SharedSubscriptionsConfig,
    /// `[retained]`
    pub retained: RetainedConfig,
    /// `[sys]`
    pub sys: SysConfig,
    /// `[redirect]`
    pub redirect: RedirectConfig,
    /// `[persistence]`
    pub persistence: crate::persist::PersistenceConfig,
}

/// `[node]`: this broker's identity.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Node name shown to hooks (`node`) and in `$SYS/brokers/<name>/...`.
    pub name: String,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            name: "hookmq@127.0.0.1".into(),
        }
    }
}

/// `[listeners]`: named listeners of each kind.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenersConfig {
    /// Connections accepted at once over all listeners (0: no limit).
    pub max_connections: usize,
    /// `[listeners.tcp.<name>]` plain MQTT over TCP.
    pub tcp: BTreeMap<String, ListenerConfig>,
    /// `[listeners.tls.<name>]` MQTT over TLS.
    pub tls: BTreeMap<String, ListenerConfig>,
    /// `[listeners.ws.<name>]` MQTT over WebSocket.
    pub ws: BTreeMap<String, ListenerConfig>,
    /// `[listeners.wss.<name>]` MQTT over WebSocket over TLS.
    pub wss: BTreeMap<String, ListenerConfig>,
}

impl Default for ListenersConfig {
    fn default() -> Self {
        let mut tcp = BTreeMap::new();
        let bind = Some(SocketAddr::from((
            [0, 0, 0, 0],
            ListenerKind::Tcp.default_port(),
        )));
        tcp.insert(
            "default".to_owned(),
            ListenerConfig {
                bind,
                ..ListenerConfig::default()
            },
        );
        ListenersConfig {
            max_connections: 0,
            tcp,
            tls: BTreeMap::new(),
            ws: BTreeMap::new(),
            wss: BTreeMap::new(),
        }
    }
}

/// The kinds of listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Plain TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket.
    Ws,
    /// WebSocket over TLS.
    Wss,
}

impl ListenerKind {
    /// `tcp`, `tls`, `ws` or `wss`.
    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Tcp => "tcp",
            ListenerKind::Tls => "tls",
            ListenerKind::Ws => "ws",
            ListenerKind::Wss => "wss",
        }
    }

    /// The port used when `bind` is not given.
    pub fn default_port(self) -> u16 {
        match self {
            ListenerKind::Tcp => 1883,
            ListenerKind::Tls => 8883,
            ListenerKind::Ws => 8083,
            ListenerKind::Wss => 8084,
        }
    }

    /// Whether the kind uses TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, ListenerKind::Tls | ListenerKind::Wss)
    }

    /// Whether the kind uses WebSocket.
    pub fn is_ws(self) -> bool {
        matches!(self, ListenerKind::Ws | ListenerKind::Wss)
    }
}

/// Client certificate verification on TLS listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Verify {
    /// No client certificate is asked for.
    #[default]
    None,
    /// A certificate is asked for and verified if given; clients without one are let in.
    Optional,
    /// A verified client certificate is required.
    Required,
}

/// Which certificate field becomes the user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertField {
    /// Subject common name.
    Cn,
    /// Subject distinguished name.
    Dn,
}

/// One listener of any kind; TLS keys apply to `tls`/`wss`, `path` to `ws`/`wss`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenerConfig {
    /// Whether it is started.
    pub enable: bool,
    /// Address to listen on (default `0.0.0.0` and the kind's port: 1883, 8883, 8083, 8084);
    /// port 0 picks a free port.
    pub bind: Option<SocketAddr>,
    /// Connections this listener accepts at once (0: no limit beyond the global one).
    pub max_connections: usize,
    /// Topic prefix added to everything clients of this listener publish and subscribe to;
    /// `${clientid}` and `${username}` are replaced, and a client whose identity would change
    /// what the prefix matches is refused (`hookmq_codec::template`).
    pub mountpoint: Option<String>,
    /// TLS: server certificate chain (PEM).
    pub certfile: Option<std::path::PathBuf>,
    /// TLS: server private key (PEM).
    pub keyfile: Option<std::path::PathBuf>,
    /// TLS: CA certificates (PEM) that client certificates must chain to.
    pub cacertfile: Option<std::path::PathBuf>,
    /// TLS: client certificate verification.
    pub verify: Verify,
    /// TLS: use the client certificate's CN or DN as the user name.
    pub peer_cert_as_username: Option<CertField>,
    /// WebSocket: the HTTP path MQTT is served on.
    pub path: String,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            enable: true,
            bind: None,
            max_connections: 0,
            mountpoint: None,
            certfile: None,
            keyfile: None,
            cacertfile: None,
            verify: Verify::None,
            peer_cert_as_username: None,
            path: "/mqtt".to_owned(),
        }
    }
}

impl ListenerConfig {
    /// The address to bind for a listener of `kind`.
    pub fn bind_addr(&self, kind: ListenerKind) -> SocketAddr {
        self.bind
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], kind.default_port())))
    }
}

impl ListenersConfig {
    /// Every configured listener with its kind and name.
    pub fn all(&self) -> impl Iterator<Item = (ListenerKind, &String, &ListenerConfig)> {
        let kinds = [
            (ListenerKind::Tcp, &self.tcp),
            (ListenerKind::Tls, &self.tls),
            (ListenerKind::Ws, &self.ws),
            (ListenerKind::Wss, &self.wss),
        ];
        kinds
            .into_iter()
            .flat_map(|(k, m)| m.iter().map(move |(n, c)| (k, n, c)))
    }
}

/// What a session's full queue does with one more message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QueueDrop {
    /// Drop the oldest queued message to make room (EMQX's behaviour).
    #[default]
    Oldest,
    /// Drop the message that does not fit (Mosquitto's behaviour).
    Newest,
    /// Lose no QoS 1/2 message to a connected subscriber: queue it anyway and stop reading from
    /// the publisher until the queue has room again; a subscriber that holds publishers up for
    /// `slow_consumer_timeout` is disconnected with 0x97 (Quota exceeded). QoS 0 messages that
    /// do not fit, and messages for a disconnected session's full queue, are dropped (newest).
    Backpressure,
}

/// `[mqtt]`: protocol limits and behaviour.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    /// Let clients in when no authentication handler decides.
    pub allow_anonymous: bool,
    /// Largest packet accepted from clients (and announced to MQTT 5 clients).
    pub max_packet_size: ByteSize,
    /// QoS 1/2 messages in flight to one client (capped further by the client's Receive Maximum).
    pub max_inflight: u16,
    /// QoS 1/2 messages a client may have in flight towards the broker (our Receive Maximum).
    pub receive_maximum: u16,
    /// Messages queued per session beyond the inflight window.
    pub max_queue_len: usize,
    /// What a full queue does: drop the oldest or newest message, or hold the publisher back.
    pub queue_drop: QueueDrop,
    /// `queue_drop` for persistent sessions (session expiry above zero); none: `queue_drop`.
    pub queue_drop_persistent: Option<QueueDrop>,
    /// Under `backpressure`, how long a subscriber may hold a publisher back before it is
    /// disconnected with 0x97 (Quota exceeded) as a slow consumer.
    pub slow_consumer_timeout: HumanDuration,
    /// Queue QoS 0 messages for disconnected persistent sessions.
    pub queue_qos0_offline: bool,
    /// Longest session expiry interval granted; also the expiry of MQTT 3.x persistent sessions.
    pub session_expiry_max: HumanDuration,
    /// Longest client identifier accepted.
    pub max_clientid_len: usize,
    /// Keep alive imposed on MQTT 5 clients (Server Keep Alive); none: the client's own. MQTT
    /// 3.x clients cannot be told, so for them it is a ceiling like `max_keepalive`.
    pub server_keepalive: Option<u16>,
    /// Longest keep alive accepted (none: no limit). MQTT 5 clients asking for more, or for
    /// none (0), are told this one; MQTT 3.x clients are refused.
    pub max_keepalive: Option<u16>,
    /// A connection is closed after this many keep-alive periods without a packet.
    pub keepalive_multiplier: f64,
    /// Time a new TCP connection has to send CONNECT.
    pub connect_timeout: HumanDuration,
    /// Topic aliases a client may use towards the broker (our Topic Alias Maximum).
    pub max_topic_alias: u16,
    /// Use topic aliases towards MQTT 5 clients that allow them.
    pub outbound_topic_alias: bool,
    /// Response Information for MQTT 5 clients that ask for it (Request Response Information
    /// 1): a topic prefix template such as `reply/${clientid}/`, filled in like a mount point.
    pub response_information: Option<String>,
    /// Highest QoS accepted.
    pub max_qos: u8,
    /// Accept retained messages.
    pub retain_available: bool,
    /// Accept wildcard subscriptions.
    pub wildcard_subscription: bool,
    /// Accept shared subscriptions.
    pub shared_subscription: bool,
    /// Subscriptions per client (0: unlimited).
    pub max_subscriptions: usize,
    /// Levels in a topic name or filter (at most 1024). The specification sets no limit; a topic
    /// beyond it is refused with the specification's codes.
    pub max_topic_levels: usize,
    /// Incoming QoS 2 messages awaiting PUBREL per client.
    pub max_awaiting_rel: usize,
    /// PUBLISH packets per second accepted from one client (0: no limit). Beyond it the broker
    /// stops reading from the client until the rate is back under the limit.
    pub max_publish_rate: u32,
    /// Let clients publish to `$SYS/...` topics.
    pub allow_sys_publish: bool,
    /// Let non-superusers subscribe to `$SYS` with wildcard filters such as `$SYS/#` (root
    /// wildcards like `#` never match `$SYS` topics; exact `$SYS` topics are always allowed).
    pub allow_sys_wildcard_subscribe: bool,
    /// Let `${clientid}` and `${username}` put a `/` into a mount point (or any topic template):
    /// user `a/b` then shares a subtree with user `a`. Off, such clients are refused.
    pub topic_template_allow_slash: bool,
}

impl MqttConfig {
    /// The queue policy of a session of this class.
    pub fn queue_policy(&self, persistent: bool) -> QueueDrop {
        match (persistent, self.queue_drop_persistent) {
            (true, Some(policy)) => policy,
            _ => self.queue_drop,
        }
    }
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            allow_anonymous: true,
            max_packet_size: ByteSize(1024 * 1024),
            max_inflight: 32,
            receive_maximum: 32,
            max_queue_len: 1000,
            queue_drop: QueueDrop::Oldest,
            queue_drop_persistent: None,
            slow_consumer_timeout: HumanDuration(Duration::from_secs(30)),
            queue_qos0_offline: false,
            session_expiry_max: HumanDuration(Duration::from_secs(2 * 3600)),
            max_clientid_len: 65535,
            server_keepalive: None,
            max_keepalive: None,
            keepalive_multiplier: 1.5,
            connect_timeout: HumanDuration(Duration::from_secs(10)),
            max_topic_alias: 1024,
            outbound_topic_alias: true,
            response_information: None,
            max_qos: 2,
            retain_available: true,
            wildcard_subscription: true,
            shared_subscription: true,
            max_subscriptions: 0,
            max_topic_levels: 512,
            max_awaiting_rel: 100,
            max_publish_rate: 0,
            allow_sys_publish: false,
            allow_sys_wildcard_subscribe: false,
            topic_template_allow_slash: false,
        }
    }
}

/// Result when no handler decides an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoMatch {
    /// Allow (EMQX's `acl_nomatch = allow`).
    #[default]
    Allow,
    /// Deny.
    Deny,
}

/// What happens to a client whose publish is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DenyAction {
    /// Refuse the message (MQTT 5: reason 0x87 in PUBACK/PUBREC; 3.x: acknowledged, not routed).
    #[default]
    Ignore,
    /// Disconnect the client (MQTT 5: DISCONNECT 0x87).
    Disconnect,
}

/// When a granted subscription is authorized again, so that a revoked right stops delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Recheck {
    /// Only at SUBSCRIBE: a granted subscription delivers until it ends (EMQX's behaviour).
    Subscribe,
    /// Also when a session is resumed and when a client is re-authorized (management API,
    /// `hookmq ctl clients reauthorize`, hook services): denied subscriptions are removed and
    /// queued messages the client may not read are dropped.
    #[default]
    Resume,
    /// Also every message before it is sent, through the client's authorization cache
    /// (Mosquitto's behaviour): a revocation takes effect within the cache's `ttl`.
    Deliver,
}

/// `[authorization]`: defaults around `client.authorize`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthorizationConfig {
    /// Result when no handler decides.
    pub no_match: NoMatch,
    /// What a denied publish does to the client.
    pub deny_action: DenyAction,
    /// When granted subscriptions are checked again.
    pub recheck: Recheck,
    /// `[authorization.cache]`
    pub cache: AuthzCacheSettings,
}

impl Default for AuthorizationConfig {
    fn default() -> Self {
        AuthorizationConfig {
            no_match: NoMatch::Allow,
            deny_action: DenyAction::Ignore,
            recheck: Recheck::Resume,
            cache: AuthzCacheSettings::default(),
        }
    }
}

/// What happens when a client resumes a session that another identity (user name, certificate
/// subject) owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OwnerChange {
    /// Resume it, but authorize every subscription again for the new identity (denied ones are
    /// removed) and drop the queued and in-flight messages it may not read.
    #[default]
    Reauthorize,
    /// Discard the old session and start a new one (Session Present 0).
    Discard,
    /// Resume it unchanged: the new identity reads what the old one left (the behaviour before
    /// this setting existed; only for deployments where client ids are bound to users by a hook).
    Allow,
}

/// `[session]`: who may resume a session.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A client id's session resumed by another identity.
    pub owner_change: OwnerChange,
}

/// `[authorization.cache]`: per-client cache of authorization results.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthzCacheSettings {
    /// Cache results.
    pub enable: bool,
    /// Entries per client.
    pub max_size: usize,
    /// Lifetime of an entry.
    pub ttl: HumanDuration,
}

impl Default for AuthzCacheSettings {
    fn default() -> Self {
        AuthzCacheSettings {
            enable: true,
            max_size: 32,
            ttl: HumanDuration(Duration::from_secs(60)),
        }
    }
}

/// `[limits]`: broker-wide resource limits.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Resident memory above which the broker refuses new connections and stops reading from
    /// publishers, until it is back under 95 % of it (0: no cap).
    pub memory_high_watermark: ByteSize,
    /// How often resident memory is sampled when the cap is on.
    pub memory_check_interval: HumanDuration,
    /// How often the connection count is checked to return freed memory to the system after
    /// many clients left (glibc builds; "0s": never).
    pub memory_trim_interval: HumanDuration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            memory_high_watermark: ByteSize(0),
            memory_check_interval: HumanDuration(Duration::from_millis(100)),
            memory_trim_interval: HumanDuration(Duration::from_secs(1)),
        }
    }
}

/// `[retained]`: limits of the retained message store.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetainedConfig {
    /// Retained messages kept (0: unlimited); beyond it new topics are not retained.
    pub max_messages: usize,
    /// Largest retained payload.
    pub max_payload_size: ByteSize,
}

impl Default for RetainedConfig {
    fn default() -> Self {
        RetainedConfig {
            max_messages: 0,
            max_payload_size: ByteSize(1024 * 1024),
        }
    }
}

/// `[sys]`: the `$SYS/brokers/<node>/...` topics.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SysConfig {
    /// Publish them.
    pub enable: bool,
    /// How often.
    pub interval: HumanDuration,
}

impl Default for SysConfig {
    fn default() -> Self {
        SysConfig {
            enable: true,
            interval: HumanDuration(Duration::from_secs(10)),
        }
    }
}

/// `[redirect]`: send MQTT 5 clients to another server (Server Reference, MQTT 5 §4.11), for
/// a node that moved or is being taken down for maintenance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedirectConfig {
    /// The Server Reference (`host:port`, several separated by spaces); empty: no redirection.
    pub server_reference: String,
    /// A permanent move (0x9D Server moved) rather than a temporary one (0x9C Use another
    /// server).
    pub moved: bool,
    /// Refuse new connections with it (MQTT 3.x clients: return code 3, server unavailable).
    pub refuse_connect: bool,
    /// Send it in the DISCONNECT that connected MQTT 5 clients get when the broker shuts down.
    pub on_shutdown: bool,
}

impl Default for RedirectConfig {
    fn default() -> Self {
        RedirectConfig {
            server_reference: String::new(),
            moved: false,
            refuse_connect: true,
            on_shutdown: true,
        }
    }
}

impl RedirectConfig {
    /// The redirection, if a Server Reference is configured.
    pub fn redirect(&self) -> Option<hookmq_hooks::Redirect> {
        (!self.server_reference.is_empty()).then(|| hookmq_hooks::Redirect {
            server_reference: self.server_reference.as_str().into(),
            moved: self.moved,
        })
    }
}

/// A configuration value that is well-formed but unusable, naming its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Dotted key, e.g. `mqtt.max_qos`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl BrokerConfig {
    /// Checks ranges the types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &str, message: &str| {
            Err(ConfigError {
                key: key.to_owned(),
                message: message.to_owned(),
            })
        };
        let m = &self.mqtt;
        if m.max_qos > 2 {
            return err("mqtt.max_qos", "must be 0, 1 or 2");
        }
        if m.max_packet_size.0 < 16 || m.max_packet_size.0 > 268_435_460 {
            return err("mqtt.max_packet_size", "must be between 16B and 256MB");
        }
        if m.max_inflight == 0 {
            return err("mqtt.max_inflight", "must be at least 1");
        }
        if m.receive_maximum == 0 {
            return err("mqtt.receive_maximum", "must be at least 1");
        }
        if !(m.keepalive_multiplier >= 1.0 && m.keepalive_multiplier <= 10.0) {
            return err("mqtt.keepalive_multiplier", "must be between 1.0 and 10.0");
        }
        if m.max_keepalive == Some(0) {
            return err(
                "mqtt.max_keepalive",
                "must be at least 1 (leave it unset for no limit)",
            );
        }
        if let (Some(s), Some(max)) = (m.server_keepalive, m.max_keepalive)
            && (s > max || s == 0)
        {
            return err(
                "mqtt.server_keepalive",
                "must be between 1 and mqtt.max_keepalive when both are set",
            );
        }
        if m.max_clientid_len < 23 {
            return err(
                "mqtt.max_clientid_len",
                "must be at least 23 (MQTT-3.1.3-5)",
            );
        }
        if m.max_queue_len == 0 {
            return err("mqtt.max_queue_len", "must be at least 1");
        }
        if let Some(t) = &m.response_information
            && (t.is_empty() || t.contains(['+', '#', '\0']))
        {
            return err(
                "mqtt.response_information",
                "must be a topic prefix without wildcards",
            );
        }
        if m.max_topic_levels == 0 || m.max_topic_levels > crate::topic_tree::MAX_DEPTH {
            return err("mqtt.max_topic_levels", "must be between 1 and 1024");
        }
        if let Some(key) = self.shared_subscriptions.bad_key() {
            return err(
                &format!("shared_subscriptions.groups.{key}"),
                "a group name (no '/', '+', '#'), or a prefix followed by a final '*'",
            );
        }
        if self.limits.memory_check_interval.0 < Duration::from_millis(10) {
            return err("limits.memory_check_interval", "must be at least 10ms");
        }
        if self.node.name.is_empty() {
            return err("node.name", "must not be empty");
        }
        if let Some(name) = self.listeners.tcp.keys().find(|n| n.is_empty()) {
            return err(
                &format!("listeners.tcp.{name}"),
                "listener names must not be empty",
            );
        }
        Ok(())
    }
}
