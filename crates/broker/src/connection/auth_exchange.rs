//! MQTT 5 enhanced authentication (§4.12) in the connection task: the exchange of AUTH packets
//! that a CONNECT with an Authentication Method starts ([`initial`], called by `connect.rs`
//! before CONNACK) and that a connected client starts again with AUTH 0x19 (re-authentication,
//! [`Conn::on_auth`]). Each step asks `client.enhanced_authenticate`; its answer continues the
//! exchange (AUTH 0x18 with data), admits the client (CONNACK 0x00 or AUTH 0x00, with the method
//! and the final data) or refuses it (CONNACK, or after a re-authentication DISCONNECT, with the
//! reason code). With a method set, this replaces `client.authenticate`.
//!
//! Every wait is bounded and local to the client's own task: handlers by their timeouts, the
//! client by `mqtt.connect_timeout` per exchange (a client that never answers is closed then),
//! so an exchange never holds up another connection.

use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::{Auth, Packet, PacketType, Properties, Property, Protocol, ReasonCode};
use hookmq_hooks::{
    AssignedIdRules, AuthRequest, AuthResult, AuthStep, ClientInfo, EnhancedAuth, Grant, Login,
};
use tokio::time::Instant;

use super::{Close, Conn, Io};
use crate::metrics::Metrics;
use crate::shared::Shared;

/// What a connection that authenticated with a method keeps: the method (every later AUTH must
/// carry it) and the re-authentication in progress, if one is.
#[derive(Debug)]
pub(crate) struct Enhanced {
    method: ByteString,
    exchange: Option<Exchange>,
}

/// A re-authentication waiting for the client's next AUTH.
#[derive(Debug)]
struct Exchange {
    /// The handler's state for the next step.
    state: Option<Bytes>,
    /// The client must have finished by then.
    deadline: Instant,
}

impl Enhanced {
    /// A connection admitted through `method`.
    pub(super) fn new(method: ByteString) -> Enhanced {
        Enhanced {
            method,
            exchange: None,
        }
    }

    /// When the re-authentication in progress times out, if one is.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.exchange.as_ref().map(|x| x.deadline)
    }
}

/// The outcome of a successful initial exchange.
pub(super) struct Admitted {
    /// As `client.authenticate` would have decided it.
    pub(super) login: Login,
    /// The method, for CONNACK.
    pub(super) method: ByteString,
    /// Final Authentication Data for CONNACK.
    pub(super) data: Option<Bytes>,
}

/// Why an initial exchange did not admit the client.
pub(super) enum Refused {
    /// Answer CONNACK with this code (and Reason String), then close.
    Code {
        /// A code CONNACK can carry.
        code: ReasonCode,
        /// For the client.
        reason_string: Option<ByteString>,
    },
    /// The client left, sent DISCONNECT or let `connect_timeout` pass: close without CONNACK.
    Gone,
}

impl Refused {
    fn code(code: ReasonCode, why: &'static str) -> Refused {
        tracing::debug!(%code, why, "enhanced authentication refused");
        Refused::Code {
            code,
            reason_string: None,
        }
    }
}

/// What starts an initial exchange.
pub(super) struct Start<'a> {
    /// The CONNECT's Authentication Method.
    pub(super) method: ByteString,
    /// The CONNECT's Authentication Data.
    pub(super) data: Option<Bytes>,
    /// The client's Maximum Packet Size.
    pub(super) client_max: u32,
    /// The broker's rules for a client id a handler assigns.
    pub(super) rules: &'a dyn AssignedIdRules,
}

/// Runs the exchange a CONNECT with an Authentication Method starts.
pub(super) async fn initial(
    shared: &Shared,
    io: &mut Io,
    clientinfo: &ClientInfo,
    start: Start<'_>,
) -> Result<Admitted, Refused> {
    let Start {
        method,
        data,
        client_max,
        rules,
    } = start;
    let deadline = Instant::now() + shared.config.mqtt.connect_timeout.0;
    // The client answers with AUTH, which only an MQTT 5 decoder reads.
    io.rd.decoder.set_protocol(Protocol::V5);
    let clientinfo = Arc::new(clientinfo.clone());
    let mut request = AuthRequest {
        method: method.clone(),
        data,
        step: AuthStep::Initial,
        state: None,
    };
    loop {
        let answer = shared
            .hooks
            .enhanced_authenticate_assigning(clientinfo.clone(), request, rules)
            .await;
        let (data, state) = match answer {
            EnhancedAuth::Continue { data, state } => (data, state),
            EnhancedAuth::Success { data, grant } => {
                return Ok(Admitted {
                    login: admitted(grant),
                    method,
                    data,
                });
            }
            EnhancedAuth::Failure {
                reason,
                reason_string,
            } => {
                tracing::debug!(code = %reason, "enhanced authentication refused by a handler");
                return Err(Refused::Code {
                    code: connack_refusal(reason),
                    reason_string,
                });
            }
        };
        // [MQTT-4.12.0-2] more is needed: AUTH 0x18, carrying the method ([MQTT-4.12.0-5]).
        let packet = auth_packet(ReasonCode::CONTINUE_AUTHENTICATION, &method, data);
        if !fits(&packet, client_max) {
            return Err(Refused::code(
                ReasonCode::NOT_AUTHORIZED,
                "AUTH data above the client's maximum packet size",
            ));
        }
        io.send(&packet, Protocol::V5);
        io.flush_within(deadline.saturating_duration_since(Instant::now()))
            .await;
        let data = match next_packet(shared, io, deadline).await? {
            Packet::Auth(a) => continued(&a, &method)?,
            // The client gave up.
            Packet::Disconnect(_) => return Err(Refused::Gone),
            // [MQTT-3.1.2-30] before CONNACK a client that set a method sends only AUTH or
            // DISCONNECT.
            _ => {
                return Err(Refused::code(
                    ReasonCode::PROTOCOL_ERROR,
                    "a packet other than AUTH during authentication [MQTT-3.1.2-30]",
                ));
            }
        };
        request = AuthRequest {
            method: method.clone(),
            data,
            step: AuthStep::Continue,
            state,
        };
    }
}

/// The client's data from its AUTH in answer to AUTH 0x18, or why it is refused.
fn continued(a: &Auth, method: &ByteString) -> Result<Option<Bytes>, Refused> {
    if a.reason != ReasonCode::CONTINUE_AUTHENTICATION {
        // [MQTT-4.12.0-3] the client answers the server's AUTH with reason 0x18.
        return Err(Refused::code(
            ReasonCode::PROTOCOL_ERROR,
            "AUTH answered with a reason other than 0x18 [MQTT-4.12.0-3]",
        ));
    }
    match a.properties.authentication_method() {
        // §3.15.2.2.2 it is a protocol error to omit the Authentication Method.
        None => Err(Refused::code(
            ReasonCode::PROTOCOL_ERROR,
            "AUTH without an authentication method",
        )),
        // [MQTT-4.12.0-5] every AUTH carries the CONNECT's method.
        Some(m) if m != *method => Err(Refused::code(
            ReasonCode::BAD_AUTHENTICATION_METHOD,
            "AUTH switched the authentication method [MQTT-4.12.0-5]",
        )),
        Some(_) => Ok(a.properties.authentication_data()),
    }
}

/// Reads the client's next packet, at most until `deadline`.
async fn next_packet(shared: &Shared, io: &mut Io, deadline: Instant) -> Result<Packet, Refused> {
    loop {
        match io.rd.decoder.decode(&mut io.rd.buf) {
            Ok(Some(packet)) => {
                Metrics::inc(&shared.metrics.packets_received);
                if let Some(tap) = &io.tap {
                    tap.packet(&packet, true);
                }
                return Ok(packet);
            }
            Ok(None) => {}
            Err(e) => {
                Metrics::inc(&shared.metrics.protocol_errors);
                tracing::debug!(error = %e, "bad packet during authentication");
                return Err(Refused::Code {
                    code: e.reason_code(),
                    reason_string: None,
                });
            }
        }
        match tokio::time::timeout_at(deadline, io.rd.read_some()).await {
            Err(_) => {
                shared
                    .metrics
                    .limit_hit(crate::metrics::Limit::ConnectTimeout);
                tracing::debug!("authentication not finished within connect_timeout");
                return Err(Refused::Gone);
            }
            Ok(Ok(0) | Err(_)) => return Err(Refused::Gone),
            Ok(Ok(n)) => Metrics::inc_by(&shared.metrics.bytes_received, n),
        }
    }
}

/// AUTH with `reason`, the method and `data`.
fn auth_packet(reason: ReasonCode, method: &ByteString, data: Option<Bytes>) -> Packet {
    let mut properties = Properties::default();
    properties.push(Property::AuthenticationMethod(method.clone()));
    if let Some(d) = data {
        properties.push(Property::AuthenticationData(d));
    }
    Packet::Auth(Auth { reason, properties })
}

/// [MQTT-3.1.2-24] nothing larger than the client's Maximum Packet Size is sent.
fn fits(packet: &Packet, client_max: u32) -> bool {
    hookmq_codec::encoded_len(packet, Protocol::V5).is_ok_and(|n| n <= client_max as usize)
}

/// The login a success means: not anonymous, on the grant's terms.
fn admitted(grant: Grant) -> Login {
    Login {
        result: AuthResult::Allow {
            superuser: grant.superuser,
        },
        decided: true,
        grant: Some(grant),
        redirect: None,
        refusal: None,
    }
}

/// A handler's refusal code as CONNACK may carry it ([MQTT-3.2.2-8]); any other becomes 0x87.
fn connack_refusal(code: ReasonCode) -> ReasonCode {
    if !code.is_success() && code.allowed_in(PacketType::ConnAck) {
        code
    } else {
        tracing::debug!(%code, "not a CONNACK refusal code; 0x87 sent instead");
        ReasonCode::NOT_AUTHORIZED
    }
}

/// A handler's refusal code as DISCONNECT may carry it ([MQTT-3.14.2-1]); any other (0x86,
/// 0x8C) becomes 0x87.
fn disconnect_refusal(code: ReasonCode) -> ReasonCode {
    if !code.is_success() && code.allowed_in(PacketType::Disconnect) {
        code
    } else {
        ReasonCode::NOT_AUTHORIZED
    }
}

impl Conn {
    /// An AUTH from a connected client: starts (0x19) or continues (0x18) a re-authentication
    /// (§4.12.1). Other packets keep flowing meanwhile, under the previous authentication.
    pub(super) async fn on_auth(&mut self, a: Auth) -> Result<(), Close> {
        let Some(enhanced) = self.enhanced.as_mut() else {
            // [MQTT-4.12.0-7] a client whose CONNECT had no method sends no AUTH.
            return Err(Close::protocol_error(
                "AUTH without an authentication method in CONNECT [MQTT-4.12.0-7]",
            ));
        };
        match a.properties.authentication_method() {
            // §3.15.2.2.2 it is a protocol error to omit the Authentication Method.
            None => {
                return Err(Close::protocol_error(
                    "AUTH without an authentication method",
                ));
            }
            // [MQTT-4.12.1-1] re-authentication uses the method the client connected with.
            Some(m) if m != enhanced.method => {
                return Err(Close::protocol_error(
                    "AUTH with another authentication method [MQTT-4.12.1-1]",
                ));
            }
            Some(_) => {}
        }
        let (step, state) = match (a.reason, enhanced.exchange.take()) {
            (ReasonCode::RE_AUTHENTICATE, None) => (AuthStep::Reauthenticate, None),
            (ReasonCode::CONTINUE_AUTHENTICATION, Some(x)) => (AuthStep::Continue, x.state),
            (ReasonCode::RE_AUTHENTICATE, Some(_)) => {
                return Err(Close::protocol_error(
                    "AUTH 0x19 while a re-authentication is in progress",
                ));
            }
            // [MQTT-4.12.0-3] 0x18 only answers the server's AUTH 0x18.
            (ReasonCode::CONTINUE_AUTHENTICATION, None) => {
                return Err(Close::protocol_error(
                    "AUTH 0x18 with no authentication in progress [MQTT-4.12.0-3]",
                ));
            }
            _ => return Err(Close::protocol_error("AUTH 0x00 from a client")),
        };
        let method = enhanced.method.clone();
        let request = AuthRequest {
            method: method.clone(),
            data: a.properties.authentication_data(),
            step,
            state,
        };
        let answer = self
            .shared
            .hooks
            .enhanced_authenticate(self.clientinfo.clone(), request)
            .await;
        match answer {
            EnhancedAuth::Continue { data, state } => {
                let packet = auth_packet(ReasonCode::CONTINUE_AUTHENTICATION, &method, data);
                if !fits(&packet, self.client_max_packet) {
                    tracing::debug!("AUTH data above the client's maximum packet size");
                    return Err(Close::with_code(
                        ReasonCode::NOT_AUTHORIZED,
                        "reauthentication_failed",
                    ));
                }
                self.io.send(&packet, self.protocol);
                let deadline = Instant::now() + self.shared.config.mqtt.connect_timeout.0;
                if let Some(enhanced) = self.enhanced.as_mut() {
                    enhanced.exchange = Some(Exchange { state, deadline });
                }
                Ok(())
            }
            EnhancedAuth::Success { data, grant } => self.reauthenticated(&method, data, grant),
            EnhancedAuth::Failure { reason, .. } => {
                tracing::debug!(code = %reason, "re-authentication refused by a handler");
                // [MQTT-4.12.1-2] a failed re-authentication ends with DISCONNECT.
                Err(Close::with_code(
                    disconnect_refusal(reason),
                    "reauthentication_failed",
                ))
            }
        }
    }

    /// A successful re-authentication: AUTH 0x00, and the new login's terms replace the old
    /// ones (superuser, expiry, rights; cached authorization decisions are forgotten). Its
    /// CONNACK terms mean nothing here: no CONNACK follows, and the client id stays.
    fn reauthenticated(
        &mut self,
        method: &ByteString,
        data: Option<Bytes>,
        grant: Grant,
    ) -> Result<(), Close> {
        let now_ms = hookmq_hooks::now_ms();
        let expires = match grant.expire_at_ms {
            Some(at) if at <= now_ms => {
                tracing::debug!("re-authenticated with credentials already expired");
                return Err(Close::with_code(
                    ReasonCode::NOT_AUTHORIZED,
                    "reauthentication_failed",
                ));
            }
            Some(at) => Some(Instant::now() + std::time::Duration::from_millis(at - now_ms)),
            None => None,
        };
        self.io.send(
            &auth_packet(ReasonCode::SUCCESS, method, data),
            self.protocol,
        );
        let mut clientinfo = ClientInfo::clone(&self.clientinfo);
        clientinfo.is_superuser = grant.superuser;
        clientinfo.anonymous = false;
        clientinfo.grant = Some(Arc::new(Grant {
            connack: Default::default(),
            ..grant
        }));
        self.clientinfo = Arc::new(clientinfo);
        self.expires = expires;
        self.authz.clear();
        tracing::debug!("re-authenticated");
        Ok(())
    }

    /// Whether the client let a re-authentication run past its deadline.
    pub(super) fn reauthentication_overdue(&self, now: Instant) -> bool {
        self.enhanced
            .as_ref()
            .and_then(|e| e.deadline())
            .is_some_and(|d| d <= now)
    }
}
