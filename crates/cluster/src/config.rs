//! `[cluster]` in `hookmq.toml`: whether this node joins a cluster, the NATS servers and how to
//! authenticate to them, the cluster's name, and the lease and timeouts that decide when a node
//! is dead. The binary deserializes it; [`crate::NatsCluster::start`] reads it.

use std::path::PathBuf;
use std::time::Duration;

use hookmq_broker::units::HumanDuration;
use serde::{Deserialize, Serialize};

/// `[cluster]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Join a cluster. Off: a single node, no NATS.
    pub enable: bool,
    /// Cluster name: the nodes with the same name on the same NATS servers are one broker. It
    /// prefixes every subject and names the key-value buckets, so several clusters can share
    /// NATS servers.
    pub name: String,
    /// NATS server URLs (`nats://host:port`, `tls://host:port`); the client connects to one
    /// and fails over to the others.
    pub nats: Vec<String>,
    /// Also use the servers the NATS cluster advertises beyond the ones listed.
    pub discover: bool,
    /// A node that has not renewed its lease for this long is dead: a survivor publishes the
    /// wills of its clients and adopts its persistent sessions.
    pub lease: HumanDuration,
    /// How long a takeover waits for the node holding the session, and a cluster-wide query
    /// for the nodes' answers.
    pub request_timeout: HumanDuration,
    /// How long the first connection to NATS may take at start.
    pub connect_timeout: HumanDuration,
    /// Replicas of the key-value buckets (registry, retained messages, leases): 1, or 3 for a
    /// registry that survives the loss of a NATS server; at most the number of JetStream
    /// servers.
    pub replicas: usize,
    /// User name for NATS (with `password`).
    pub user: String,
    /// Password for NATS.
    pub password: String,
    /// Token for NATS.
    pub token: String,
    /// NKey seed for NATS.
    pub nkey: String,
    /// Credentials file (JWT and NKey seed, `.creds`) for NATS.
    pub credentials_file: Option<PathBuf>,
    /// Require TLS to NATS.
    pub tls_required: bool,
    /// CA certificates (PEM) to verify the NATS servers with.
    pub tls_ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for NATS servers that verify clients.
    pub tls_cert_file: Option<PathBuf>,
    /// Key (PEM) of the client certificate.
    pub tls_key_file: Option<PathBuf>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            enable: false,
            name: "hookmq".into(),
            nats: vec!["nats://127.0.0.1:4222".into()],
            discover: true,
            lease: HumanDuration(Duration::from_secs(10)),
            request_timeout: HumanDuration(Duration::from_secs(3)),
            connect_timeout: HumanDuration(Duration::from_secs(5)),
            replicas: 1,
            user: String::new(),
            password: String::new(),
            token: String::new(),
            nkey: String::new(),
            credentials_file: None,
            tls_required: false,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// A `[cluster]` value that cannot work, with the key it is about.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration key {key}: {message}")]
pub struct ConfigError {
    /// Dotted key.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ClusterConfig {
    /// Checks what deserialization cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError {
                key: format!("cluster.{key}"),
                message: message.into(),
            })
        };
        if !self.enable {
            return Ok(());
        }
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad("name", "must be letters, digits, '-' or '_'");
        }
        if self.nats.is_empty() {
            return bad("nats", "needs at least one NATS server URL");
        }
        if self.lease.0 < Duration::from_secs(1) {
            return bad("lease", "must be at least 1s");
        }
        if self.request_timeout.0.is_zero() || self.request_timeout.0 >= self.lease.0 {
            return bad("request_timeout", "must be above 0 and below the lease");
        }
        if !(1..=5).contains(&self.replicas) {
            return bad("replicas", "must be 1 to 5");
        }
        if self.password.is_empty() != self.user.is_empty() {
            return bad("user", "user and password go together");
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return bad(
                "tls_cert_file",
                "tls_cert_file and tls_key_file go together",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        let mut c = ClusterConfig {
            enable: true,
            ..Default::default()
        };
        assert!(c.validate().is_ok());
        c.name = "a.b".into();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("cluster.name")
        );
        c.name = "ok".into();
        c.request_timeout = c.lease;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("cluster.request_timeout"), "{e}");
    }
}
