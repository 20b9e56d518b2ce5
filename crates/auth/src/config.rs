//! The `[auth]` section of `hookmq.toml`: one table per built-in source, each off by default.
//! The binary deserializes it and hands it to [`crate::AuthSources::start`].

use std::path::PathBuf;
use std::time::Duration;

use hookmq_hooks::FailedAction;
use serde::{Deserialize, Deserializer};

/// A duration written like `500ms`, `5s`, `1m`, `2h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval(pub Duration);

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map(Interval)
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a duration ({e})")))
    }
}

/// What a source answers when it has no rule or user for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoMatch {
    /// Refuse (login refused, publish/subscribe denied) and end the chain.
    Deny,
    /// Allow and end the chain.
    Allow,
    /// No opinion: the next handler (or the broker's default) decides.
    Ignore,
}

impl NoMatch {
    /// The verdict for the chain.
    pub(crate) fn verdict(self) -> hookmq_hooks::Verdict {
        use hookmq_hooks::{Value, Verdict};
        match self {
            NoMatch::Deny => Verdict::Stop(Value::Allow(false)),
            NoMatch::Allow => Verdict::Stop(Value::Allow(true)),
            NoMatch::Ignore => Verdict::Ignore,
        }
    }
}

/// The syntax of an ACL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AclFormat {
    /// EMQX if the first rule starts with `{`, else Mosquitto.
    Auto,
    /// Mosquitto's `acl_file` (`user`, `topic`, `pattern` lines).
    Mosquitto,
    /// EMQX's `acl.conf` (Erlang terms).
    Emqx,
}

/// What the password source answers for a user name it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownUser {
    /// Refuse the login, with the answer a wrong password gets.
    Deny,
    /// No opinion: the next handler (or `mqtt.allow_anonymous`) decides.
    Ignore,
}

/// `[auth]`
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `[auth.password_file]`
    pub password_file: PasswordFileConfig,
    /// `[auth.acl_file]`
    pub acl_file: AclFileConfig,
    /// `[auth.jwt]`
    pub jwt: JwtConfig,
    /// `[auth.http_authn]`: `client.authenticate` over HTTP.
    pub http_authn: HttpConfig,
    /// `[auth.http_authz]`: `client.authorize` over HTTP.
    pub http_authz: HttpConfig,
}

/// Where the JWT source finds the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFrom {
    /// The CONNECT password.
    Password,
    /// The CONNECT user name.
    Username,
}

/// `[auth.jwt]`: tokens verified with a secret, a public key or a JWKS.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// Whether the source is registered.
    pub enable: bool,
    /// Where the token is.
    pub from: TokenFrom,
    /// HS256 shared secret; empty: none.
    pub secret: String,
    /// The secret is base64.
    pub secret_base64: bool,
    /// RS256 / ES256 public key PEM file; empty: none.
    pub public_key: PathBuf,
    /// JWKS file; empty: none.
    pub jwks_file: PathBuf,
    /// JWKS URL; empty: none.
    pub jwks_url: String,
    /// How often the JWKS URL is fetched again.
    pub jwks_refresh: Interval,
    /// How often the JWKS file's modification stamp is checked; `0s`: only on SIGHUP.
    pub reload_interval: Interval,
    /// Claims that must equal a template (`${username}`, `${clientid}`), e.g. `sub = "${username}"`.
    pub verify_claims: std::collections::BTreeMap<String, String>,
    /// The claim holding ACL rules; a token without it leaves authorization to others.
    pub acl_claim: String,
    /// When the token's ACL has no matching rule.
    pub acl_no_match: NoMatch,
    /// Disconnect the client when the token's `exp` passes.
    pub disconnect_on_expire: bool,
    /// Order on the chain (higher first).
    pub priority: i32,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            enable: false,
            from: TokenFrom::Password,
            secret: String::new(),
            secret_base64: false,
            public_key: PathBuf::new(),
            jwks_file: PathBuf::new(),
            jwks_url: String::new(),
            jwks_refresh: Interval(Duration::from_secs(300)),
            reload_interval: Interval(Duration::from_secs(5)),
            verify_claims: Default::default(),
            acl_claim: "acl".into(),
            acl_no_match: NoMatch::Deny,
            disconnect_on_expire: true,
            priority: 100,
        }
    }
}

/// What a failed HTTP call (timeout, no connection, bad status or body) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Refuse: login refused, publish/subscribe denied.
    Deny,
    /// No opinion: the next handler decides.
    Ignore,
}

/// `[auth.http_authn]` / `[auth.http_authz]`: ask a URL, EMQX-style.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Whether the source is registered.
    pub enable: bool,
    /// The URL; `${...}` placeholders are percent-encoded.
    pub url: String,
    /// `post` (JSON body) or `get` (body fields as query parameters).
    pub method: String,
    /// Extra request headers.
    pub headers: std::collections::BTreeMap<String, String>,
    /// Body fields (templates); empty: the role's default fields.
    pub body: std::collections::BTreeMap<String, String>,
    /// Deadline of each request (connect included).
    pub timeout: Interval,
    /// Idle keep-alive connections kept per host.
    pub pool_size: usize,
    /// How long an answer is reused for an identical request; `0s`: no cache.
    pub cache_ttl: Interval,
    /// Answers cached at most.
    pub cache_max: usize,
    /// A failed request: `deny` or `ignore`.
    pub failed_action: OnFailure,
    /// Order on the chain (higher first).
    pub priority: i32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enable: false,
            url: String::new(),
            method: "post".into(),
            headers: Default::default(),
            body: Default::default(),
            timeout: Interval(Duration::from_secs(5)),
            pool_size: 8,
            cache_ttl: Interval(Duration::ZERO),
            cache_max: 10_000,
            failed_action: OnFailure::Deny,
            priority: 100,
        }
    }
}

/// `[auth.acl_file]`: allow/deny rules in a Mosquitto or EMQX ACL file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AclFileConfig {
    /// Whether the source is registered.
    pub enable: bool,
    /// The file, relative to the working directory.
    pub path: PathBuf,
    /// Its syntax.
    pub format: AclFormat,
    /// The answer when no rule matches.
    pub no_match: NoMatch,
    /// How often the file's modification stamp is checked; `0s`: only on SIGHUP.
    pub reload_interval: Interval,
    /// Order on the chain (higher first).
    pub priority: i32,
}

impl Default for AclFileConfig {
    fn default() -> Self {
        AclFileConfig {
            enable: false,
            path: PathBuf::from("etc/acl.conf"),
            format: AclFormat::Auto,
            no_match: NoMatch::Deny,
            reload_interval: Interval(Duration::from_secs(5)),
            priority: 100,
        }
    }
}

/// `[auth.password_file]`: user names and salted password hashes in a file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordFileConfig {
    /// Whether the source is registered.
    pub enable: bool,
    /// The file, relative to the working directory.
    pub path: PathBuf,
    /// How often the file's modification stamp is checked; `0s`: only on SIGHUP.
    pub reload_interval: Interval,
    /// A user name that is not in the file: `deny` or `ignore`. Clients without a user name
    /// are always left to the next handler (and `mqtt.allow_anonymous`).
    pub unknown_user: UnknownUser,
    /// Password checks running at once (argon2id takes 19 MiB each); 0: one per CPU.
    pub max_concurrent: usize,
    /// Order on the chain (higher first).
    pub priority: i32,
}

impl Default for PasswordFileConfig {
    fn default() -> Self {
        PasswordFileConfig {
            enable: false,
            path: PathBuf::from("etc/passwd"),
            reload_interval: Interval(Duration::from_secs(5)),
            unknown_user: UnknownUser::Deny,
            max_concurrent: 0,
            priority: 100,
        }
    }
}

/// A refusal of a source's failure as the chain applies it: the built-in sources fail closed.
pub(crate) const FAIL_CLOSED: FailedAction = FailedAction::Deny;
