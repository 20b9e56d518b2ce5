//! Why a connection ends, and the work done when it does: tell the client (MQTT 5 DISCONNECT),
//! run `client.disconnected`, detach from the session (ending it or scheduling its expiry), and
//! publish the will, now or after its delay.

use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;
use hookmq_codec::{Disconnect, LastWill, Packet, Properties, Property, Protocol, ReasonCode};
use hookmq_hooks::{Action, ClientInfo, Event, HookPoint, Message, MessageHeaders};
use tokio::sync::oneshot;

use super::Conn;
use crate::config::RedirectConfig;
use crate::metrics::Metrics;
use crate::registry::Detached;
use crate::shared::Shared;

/// Why a connection ends.
#[derive(Debug)]
pub(crate) struct Close {
    /// MQTT 5 DISCONNECT reason to send, if any.
    pub(crate) send: Option<ReasonCode>,
    /// The reason `client.disconnected` reports.
    pub(crate) reason: &'static str,
    /// Publish the will.
    pub(crate) will: bool,
    /// Acknowledge a takeover once the hooks ran.
    pub(crate) ack: Option<oneshot::Sender<()>>,
    /// Server Reference for the DISCONNECT (a redirection at shutdown).
    pub(crate) reference: Option<ByteString>,
}

impl Close {
    fn new(send: Option<ReasonCode>, reason: &'static str, will: bool) -> Close {
        Close {
            send,
            reason,
            will,
            ack: None,
            reference: None,
        }
    }

    /// The client sent DISCONNECT with reason 0x00: no will.
    pub(crate) fn normal() -> Close {
        Close::new(None, "normal", false)
    }

    /// The client sent DISCONNECT 0x04 "with will message".
    pub(crate) fn normal_with_will() -> Close {
        Close::new(None, "normal", true)
    }

    /// The network connection closed without DISCONNECT.
    pub(crate) fn closed() -> Close {
        Close::new(None, "closed", true)
    }

    /// Keep alive expired.
    pub(crate) fn keepalive() -> Close {
        Close::new(
            Some(ReasonCode::KEEP_ALIVE_TIMEOUT),
            "keepalive_timeout",
            true,
        )
    }

    /// Another connection took the session.
    pub(crate) fn takeover(ack: oneshot::Sender<()>) -> Close {
        Close {
            ack: Some(ack),
            ..Close::new(Some(ReasonCode::SESSION_TAKEN_OVER), "takenover", true)
        }
    }

    /// The same close, acknowledging a takeover once the hooks ran.
    pub(crate) fn acknowledging(self, ack: oneshot::Sender<()>) -> Close {
        Close {
            ack: Some(ack),
            ..self
        }
    }

    /// The credentials the client was let in with expired (a token's `exp`): MQTT 5 gets
    /// 0xA0 Maximum connect time, the spec's code for "the maximum connection time authorized
    /// for this connection has been exceeded".
    pub(crate) fn credentials_expired() -> Close {
        tracing::debug!("credentials expired");
        Close::new(
            Some(ReasonCode::MAXIMUM_CONNECT_TIME),
            "credentials_expired",
            true,
        )
    }

    /// The credentials the client logged in with were taken away (a password file reload
    /// removed or changed its entry). MQTT 5 gets 0x87 Not authorized, not 0x98 Administrative
    /// action: the connection's authentication no longer holds, and reconnecting with the same
    /// credentials will be refused, which a client can only tell from 0x87. The will is
    /// published, as for any other close the client did not ask for.
    pub(crate) fn revoked() -> Close {
        Close::new(
            Some(ReasonCode::NOT_AUTHORIZED),
            "credentials_revoked",
            true,
        )
    }

    /// An operator or a hook service kicked the client (MQTT 5: DISCONNECT with `reason`).
    pub(crate) fn kicked(reason: ReasonCode) -> Close {
        Close::new(Some(reason), "kicked", true)
    }

    /// The client's queue held publishers back too long under `backpressure`.
    pub(crate) fn slow_consumer() -> Close {
        Close::new(Some(ReasonCode::QUOTA_EXCEEDED), "slow_consumer", true)
    }

    /// The broker is stopping: MQTT 5 clients are told so, or sent to the configured server
    /// (`redirect.on_shutdown`: 0x9C or 0x9D with a Server Reference, MQTT 5 §4.11).
    pub(crate) fn shutdown(redirect: &RedirectConfig) -> Close {
        match redirect.redirect().filter(|_| redirect.on_shutdown) {
            Some(r) => Close {
                reference: Some(r.server_reference.clone()),
                ..Close::new(Some(r.reason_code()), "shutdown", false)
            },
            None => Close::new(Some(ReasonCode::SERVER_SHUTTING_DOWN), "shutdown", false),
        }
    }

    /// The client broke a protocol rule.
    pub(crate) fn protocol_error(detail: &'static str) -> Close {
        tracing::debug!(detail, "protocol error");
        Close::new(Some(ReasonCode::PROTOCOL_ERROR), "protocol_error", true)
    }

    /// A refusal with a specific reason code.
    pub(crate) fn with_code(code: ReasonCode, reason: &'static str) -> Close {
        Close::new(Some(code), reason, true)
    }

    /// The bytes the client sent could not be decoded.
    pub(crate) fn decode_error(
        e: &hookmq_codec::DecodeError,
        _p: Protocol,
        metrics: &Metrics,
    ) -> Close {
        tracing::debug!(error = %e, "bad packet from client");
        Metrics::inc(&metrics.protocol_errors);
        if let hookmq_codec::DecodeError::PacketTooLarge { .. } = e {
            metrics.limit_hit(crate::metrics::Limit::MaxPacketSize);
        }
        let code = match e.reason_code() {
            // Only a second CONNECT gets here with an unknown protocol name or level. 0x84 is a
            // CONNACK code that DISCONNECT may not carry [MQTT-3.14.2-1]; a second CONNECT is a
            // Protocol Error whatever it holds [MQTT-3.1.0-2]. (Found by the `session` fuzz
            // target.)
            ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => ReasonCode::PROTOCOL_ERROR,
            code => code,
        };
        Close::new(Some(code), code.name(), true)
    }
}

impl Conn {
    /// Ends the connection: DISCONNECT, hooks, session detach, will.
    pub(crate) async fn finish(mut self, close: Close) {
        if let (Some(code), true) = (close.send, self.protocol.is_v5()) {
            let mut properties = Properties::default();
            if let Some(reference) = &close.reference {
                properties.push(Property::ServerReference(reference.clone()));
            }
            let d = Disconnect {
                reason: code,
                properties,
            };
            self.io.send(&Packet::Disconnect(d), self.protocol);
        }
        self.io.flush_within(Duration::from_secs(1)).await;
        self.io.shutdown().await;
        self.count_sent();
        self.shared
            .metrics
            .connections
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(reason = close.reason, "connection closed");

        let hooks = &self.shared.hooks;
        if hooks.has(HookPoint::ClientDisconnected) {
            hooks
                .notify(Event::ClientDisconnected {
                    clientinfo: self.clientinfo.clone(),
                    reason: close.reason.into(),
                    conninfo: self.conninfo.clone(),
                })
                .await;
        }
        let detached = self.shared.registry.detach(&self.session, self.id);
        let will = if close.will {
            self.will.take().map(|w| *w)
        } else {
            None
        };
        match detached {
            Detached::Terminated { subscriptions } => {
                if self.session.persists() {
                    self.shared.submit(vec![crate::persist::Op::DelSession(
                        self.session.clientid.clone(),
                    )]);
                }
                let reason = if close.reason == "takenover" {
                    "discarded"
                } else {
                    close.reason
                };
                self.shared
                    .end_session(self.clientinfo.clone(), subscriptions, reason);
                if let Some(cluster) = self.shared.cluster() {
                    let epoch = self.session.state.lock().cluster_epoch;
                    cluster.end_session(self.session.clientid.clone(), epoch);
                }
                if let Some(will) = will {
                    publish_will(self.shared.clone(), self.clientinfo.clone(), will).await;
                }
            }
            Detached::Kept {
                epoch,
                expiry,
                dropped,
            } => {
                self.shared.report_drops(dropped);
                self.shared
                    .schedule_expiry(self.session.clone(), epoch, expiry);
                let (now, later) = match will {
                    Some(w) => match w.properties.will_delay_interval().unwrap_or(0).min(expiry) {
                        0 => (Some(w), None),
                        delay => (None, Some((w, delay))),
                    },
                    None => (None, None),
                };
                if let Some(cluster) = self.shared.cluster() {
                    // Offline in the cluster, with a will still to come if it is delayed.
                    let pending = later.as_ref().map(|(w, _)| w.clone());
                    let record = self.shared.cluster_record(&self.session, pending);
                    cluster.save_session(record).await;
                }
                if let Some(will) = now {
                    publish_will(self.shared.clone(), self.clientinfo.clone(), will).await;
                }
                if let Some((will, delay)) = later {
                    schedule_will(
                        self.shared.clone(),
                        self.session.clone(),
                        epoch,
                        delay,
                        will,
                    );
                }
            }
            Detached::NotOwner => {
                // Taken over: a delayed will is cancelled by the new connection ([MQTT-3.1.3-9]).
                if let Some(will) =
                    will.filter(|w| w.properties.will_delay_interval().unwrap_or(0) == 0)
                {
                    publish_will(self.shared.clone(), self.clientinfo.clone(), will).await;
                }
            }
        }
        if let Some(ack) = close.ack {
            let _ = ack.send(());
        }
    }

    /// Adds the packets written since the last call to the sent counter.
    pub(crate) fn count_sent(&mut self) {
        let n = std::mem::take(&mut self.io.wr.packets_out);
        self.shared
            .metrics
            .packets_sent
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

pub(crate) fn schedule_will(
    shared: Arc<Shared>,
    session: Arc<crate::session::Session>,
    epoch: u64,
    delay: u32,
    will: LastWill,
) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(u64::from(delay))).await;
        let clientinfo = {
            let st = session.state.lock();
            // [MQTT-3.1.3-9] resumed before the delay passed: no will. A session that ended
            // meanwhile (expiry) still sends it ([MQTT-3.1.2-8]).
            if st.link.is_some() || st.moved || (st.epoch != epoch && !st.terminated) {
                return;
            }
            st.clientinfo.clone()
        };
        publish_will(shared.clone(), clientinfo, will).await;
        if let Some(cluster) = shared.cluster() {
            // The will is out: the cluster's record no longer carries it.
            let live = {
                let st = session.state.lock();
                !st.terminated && !st.moved && st.link.is_none()
            };
            if live {
                cluster
                    .save_session(shared.cluster_record(&session, None))
                    .await;
            }
        }
    });
}

/// Publishes a will message on the client's behalf, subject to authorization and
/// `message.publish` like any publish.
pub(crate) async fn publish_will(shared: Arc<Shared>, clientinfo: Arc<ClientInfo>, will: LastWill) {
    let topic = will.topic.as_bytestring().clone();
    if topic.starts_with("$SYS/") && !shared.config.mqtt.allow_sys_publish {
        return;
    }
    let mut authz = crate::recheck::Authorizer {
        shared: &shared,
        clientinfo: &clientinfo,
        cache: None,
    };
    if !authz.allowed(Action::Publish, &topic).await {
        tracing::debug!(%topic, "will not authorized");
        Metrics::inc(&shared.metrics.authz_denied);
        return;
    }
    let mut message = Message::new(
        clientinfo.clientid.clone(),
        will.topic,
        will.payload,
        will.qos,
        will.retain,
    );
    message.properties = will.properties;
    message
        .properties
        .remove(hookmq_codec::PropertyId::WillDelayInterval);
    message.headers = MessageHeaders {
        username: clientinfo.username.clone(),
        peerhost: Some(clientinfo.peer.ip()),
        protocol: Some(clientinfo.protocol),
        hops: 0,
    };
    let _ = shared.publish(Arc::new(message), Vec::new()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_connect_of_an_unknown_protocol_is_a_protocol_error() {
        let e = hookmq_codec::DecodeError::UnsupportedProtocol {
            name: "MqTT".into(),
            level: 5,
        };
        let close = Close::decode_error(&e, Protocol::V5, &Metrics::default());
        assert_eq!(close.send, Some(ReasonCode::PROTOCOL_ERROR));
    }
}
