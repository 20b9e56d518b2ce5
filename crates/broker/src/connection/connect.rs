//! The CONNECT phase: wait for CONNECT, check the client identifier and will, authenticate,
//! open (create, resume or discard) the session, answer with CONNACK, and build the [`Conn`]
//! that serves the rest of the connection.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytestring::ByteString;
use hookmq_codec::{
    ConnAck, Connect, DecodeError, Packet, Properties, Property, Protocol, ReasonCode, template,
};
use hookmq_hooks::{
    AuthResult, AuthzCache, AuthzCacheConfig, ClientInfo, ConnInfo, Event, HookPoint,
};
use rand::Rng;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{CertAsUsername, Conn, Io, OutAliases, Transport, connack};
use crate::config::{OwnerChange, Recheck};
use crate::metrics::Metrics;
use crate::recheck::{Authorizer, recheck};
use crate::registry::Opened;
use crate::session::{Link, QueueLimits, Session};
use crate::shared::Shared;

/// How long a new connection waits for the previous owner of its session to close.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

/// Reads CONNECT and sets the connection up; `None` if it was refused or failed.
pub(super) async fn establish(shared: Arc<Shared>, t: Transport) -> Option<Conn> {
    let max_packet = shared
        .config
        .mqtt
        .max_packet_size
        .0
        .min(u64::from(u32::MAX)) as u32;
    let mut io = Io::new(t.reader, t.writer, max_packet);
    let connect =
        match tokio::time::timeout(shared.config.mqtt.connect_timeout.0, read_connect(&mut io))
            .await
        {
            Err(_) => {
                shared
                    .metrics
                    .limit_hit(crate::metrics::Limit::ConnectTimeout);
                tracing::debug!("no CONNECT within connect_timeout");
                return None;
            }
            Ok(Err(Some(e))) => {
                Metrics::inc(&shared.metrics.protocol_errors);
                tracing::debug!(error = %e, "bad first packet");
                if let DecodeError::UnsupportedProtocol { name, level } = &e {
                    // [MQTT-3.1.2-2] unsupported level: CONNACK 0x84, then close. A CONNECT in
                    // the MQTT 5 style ("MQTT", a level above 5) is answered in the MQTT 5
                    // format, which its client reads; older ones keep the 3.x return code 1.
                    let format = if name == "MQTT" && *level > 5 {
                        Protocol::V5
                    } else {
                        Protocol::V3_1_1
                    };
                    refuse_raw(&mut io, format, ReasonCode::UNSUPPORTED_PROTOCOL_VERSION).await;
                }
                return None;
            }
            Ok(Err(None)) => return None,
            Ok(Ok(c)) => c,
        };
    Metrics::inc(&shared.metrics.packets_received);
    accept(
        shared,
        io,
        t.peer,
        t.sockport,
        t.listener,
        t.cert,
        t.cert_as_username,
        connect,
    )
    .await
}

/// Reads until the first packet; `Err(None)` if the peer closed first.
async fn read_connect(io: &mut Io) -> Result<Box<Connect>, Option<DecodeError>> {
    loop {
        match io.rd.decoder.decode(&mut io.rd.buf) {
            Ok(Some(Packet::Connect(c))) => return Ok(c),
            // The decoder only accepts CONNECT first ([MQTT-3.1.0-1]).
            Ok(Some(_)) => return Err(Some(DecodeError::Protocol("first packet must be CONNECT"))),
            Ok(None) => {}
            Err(e) => return Err(Some(e)),
        }
        match io.rd.read_some().await {
            Ok(0) | Err(_) => return Err(None),
            Ok(_) => {}
        }
    }
}

/// Sends a refusing CONNACK and closes.
async fn refuse_raw(io: &mut Io, protocol: Protocol, code: ReasonCode) {
    let ack = ConnAck {
        session_present: false,
        reason: code,
        properties: Properties::default(),
    };
    io.send(&Packet::ConnAck(ack), protocol);
    io.flush_within(Duration::from_secs(1)).await;
    io.shutdown().await;
}

/// A fresh client identifier for clients that sent none ([MQTT-3.1.3-6]).
fn assign_clientid() -> ByteString {
    let n: u64 = rand::rng().random();
    format!("hookmq-{n:016x}").into()
}

#[allow(clippy::too_many_arguments)]
async fn accept(
    shared: Arc<Shared>,
    mut io: Io,
    peer: std::net::SocketAddr,
    sockport: u16,
    listener: Arc<super::ListenerContext>,
    cert: Option<super::PeerCert>,
    cert_as_username: Option<CertAsUsername>,
    c: Box<Connect>,
) -> Option<Conn> {
    let cfg = &shared.config.mqtt;
    let protocol = c.protocol;
    let refuse = |code: ReasonCode, why: &'static str| {
        tracing::debug!(%code, why, "CONNECT refused");
        Metrics::inc(&shared.metrics.connections_refused);
        code
    };

    // Client identifier rules.
    let mut assigned = false;
    let clientid = if c.client_id.is_empty() {
        match protocol {
            // MQTT 3.1 requires 1 to 23 characters.
            Protocol::V3_1 => Err(refuse(
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
                "empty client id",
            )),
            // [MQTT-3.1.3-8] an empty id with clean session 0 is refused with return code 2.
            Protocol::V3_1_1 if !c.clean_start => Err(refuse(
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
                "empty client id without clean session",
            )),
            _ => {
                assigned = true;
                Ok(assign_clientid())
            }
        }
    } else if c.client_id.len() > cfg.max_clientid_len {
        Err(refuse(
            ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
            "client id too long",
        ))
    } else {
        // Copied out of the packet: a slice would keep CONNECT's whole read buffer alive for as
        // long as the session lives.
        Ok(ByteString::from(&*c.client_id))
    };
    let client_max_packet = c.properties.maximum_packet_size().unwrap_or(u32::MAX);
    let clientid = match clientid {
        Ok(id) => id,
        Err(code) => {
            refuse_raw(&mut io, protocol, code).await;
            return None;
        }
    };
    tracing::Span::current().record("clientid", &*clientid);

    let keepalive = super::negotiation::keep_alive(
        protocol,
        c.keep_alive,
        cfg.server_keepalive,
        cfg.max_keepalive,
    );
    // A node that moved or is being drained sends every client elsewhere (MQTT 5 §4.11).
    let redirect = if shared.config.redirect.refuse_connect {
        shared.config.redirect.redirect()
    } else {
        None
    };
    // Features the broker does not offer, and no room for more clients.
    let mut early_refusal = if let Some(r) = &redirect {
        Some(refuse(
            r.reason_code(),
            "redirected by redirect.server_reference",
        ))
    } else if shared.memory.is_high() {
        shared.memory.refused.fetch_add(1, Ordering::Relaxed);
        shared
            .metrics
            .limit_hit(crate::metrics::Limit::MemoryHighWatermark);
        // 0x89 Server busy; MQTT 3.x return code 3 (server unavailable).
        Some(refuse(
            ReasonCode::SERVER_BUSY,
            "memory above limits.memory_high_watermark",
        ))
    } else if let Err(code) = keepalive {
        tracing::debug!(
            requested = c.keep_alive,
            server_keepalive = cfg.server_keepalive,
            max_keepalive = cfg.max_keepalive,
            "an MQTT 3.x keep alive above mqtt.server_keepalive / mqtt.max_keepalive (or 0)"
        );
        Some(refuse(code, "keep alive above the limit"))
    } else if c.properties.authentication_method().is_some()
        && !shared.hooks.has(HookPoint::ClientEnhancedAuthenticate)
    {
        // [MQTT-4.12.0-1] a method nobody handles: 0x8C.
        Some(refuse(
            ReasonCode::BAD_AUTHENTICATION_METHOD,
            "enhanced authentication is not offered",
        ))
    } else if let Some(w) = &c.will {
        if w.qos.as_u8() > cfg.max_qos {
            // [MQTT-3.2.2-12] will QoS above Maximum QoS: 0x9B.
            Some(refuse(
                ReasonCode::QOS_NOT_SUPPORTED,
                "will QoS above maximum",
            ))
        } else if w.retain && !cfg.retain_available {
            // [MQTT-3.2.2-13] retained will without retain support: 0x9A.
            Some(refuse(ReasonCode::RETAIN_NOT_SUPPORTED, "retained will"))
        } else if hookmq_codec::topic::levels(w.topic.as_str()) > cfg.max_topic_levels {
            // Checked now: the will is published when nobody is left to refuse it to.
            Some(refuse(
                ReasonCode::TOPIC_NAME_INVALID,
                "will topic deeper than mqtt.max_topic_levels",
            ))
        } else {
            None
        }
    } else {
        None
    };

    let username = match (cert_as_username, &cert) {
        (Some(CertAsUsername::Cn), Some(cert)) => cert.cn.clone().map(ByteString::from),
        (Some(CertAsUsername::Dn), Some(cert)) => cert.dn.clone().map(ByteString::from),
        _ => c.username.as_deref().map(ByteString::from),
    };
    let tap = super::tap::PacketTap::new(
        shared.hooks.tracer().clone(),
        clientid.clone(),
        username.clone(),
    );
    tap.connect(&c);
    io.tap = Some(tap);
    let expiry_max = cfg.session_expiry_max.0.as_secs().min(u64::from(u32::MAX)) as u32;
    let requested_expiry = match protocol {
        Protocol::V5 => c.properties.session_expiry_interval().unwrap_or(0),
        _ if c.clean_start => 0,
        _ => expiry_max,
    };
    let expiry = requested_expiry.min(expiry_max);
    let keepalive = keepalive.unwrap_or(super::negotiation::KeepAlive {
        seconds: c.keep_alive,
        announce: false,
    });
    // Identity into the mount point, refused where it would change what topics match.
    let mountpoint = match mountpoint_of(&listener, cfg, &clientid, username.as_deref()) {
        Ok(m) => m,
        Err(()) => {
            early_refusal = early_refusal.or(Some(refuse(
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
                "identity not allowed in the mount point",
            )));
            None
        }
    };
    let mut conninfo = Arc::new(ConnInfo {
        node: shared.node.clone(),
        clientid: clientid.clone(),
        username: username.clone(),
        peer,
        sockport,
        protocol,
        keepalive: keepalive.seconds,
        clean_start: c.clean_start,
        expiry_interval: expiry,
        connected_at_ms: hookmq_hooks::now_ms(),
    });
    let hooks = shared.hooks.clone();
    if hooks.has(HookPoint::ClientConnect) {
        hooks
            .notify(Event::ClientConnect {
                conninfo: conninfo.clone(),
                props: c.properties.clone(),
            })
            .await;
    }
    let mut clientinfo = ClientInfo {
        node: shared.node.clone(),
        clientid: clientid.clone(),
        username,
        password: c.password.clone(),
        peer,
        sockport,
        protocol,
        mountpoint,
        is_superuser: false,
        anonymous: true,
        cn: cert
            .as_ref()
            .and_then(|x| x.cn.clone())
            .map(ByteString::from),
        dn: cert
            .as_ref()
            .and_then(|x| x.dn.clone())
            .map(ByteString::from),
        grant: None,
    };

    let send_refusal = |io: &mut Io, code: ReasonCode, properties: Properties| {
        let ack = ConnAck {
            session_present: false,
            reason: code,
            properties,
        };
        io.send(&Packet::ConnAck(ack), protocol);
    };
    if let Some(code) = early_refusal {
        let props = connack::refusal_properties(protocol, redirect.as_ref(), None);
        connack_hook(&shared, &conninfo, code, &props).await;
        send_refusal(&mut io, code, props);
        io.flush_within(Duration::from_secs(1)).await;
        io.shutdown().await;
        return None;
    }

    // Authentication.
    let initial = if cfg.allow_anonymous {
        AuthResult::Allow { superuser: false }
    } else {
        AuthResult::Deny(ReasonCode::NOT_AUTHORIZED)
    };
    // A client id a handler assigns meets the broker's rules (length, session owner) in the
    // chain, so a bad one is that handler's bad reply.
    let identity = clientinfo.identity();
    let rules = |id: &str| connack::assigned_id_rules(&shared, &identity, id);
    // With an Authentication Method the AUTH exchange decides instead of client.authenticate.
    let mut enhanced = None;
    let login = if let Some(method) = c.properties.authentication_method() {
        let data = c.properties.authentication_data();
        let client_max = client_max_packet;
        let exchange = super::auth_exchange::initial(
            &shared,
            &mut io,
            &clientinfo,
            super::auth_exchange::Start {
                method,
                data,
                client_max,
                rules: &rules,
            },
        );
        match exchange.await {
            Ok(admitted) => {
                enhanced = Some((admitted.method, admitted.data));
                admitted.login
            }
            Err(super::auth_exchange::Refused::Gone) => return None,
            Err(super::auth_exchange::Refused::Code {
                code,
                reason_string,
            }) => {
                Metrics::inc(&shared.metrics.auth_failures);
                let code = refuse(code, "enhanced authentication refused");
                let mut props = Properties::default();
                if let Some(text) = reason_string {
                    props.push(Property::ReasonString(text));
                }
                connack_hook(&shared, &conninfo, code, &props).await;
                send_refusal(&mut io, code, props);
                io.flush_within(Duration::from_secs(1)).await;
                io.shutdown().await;
                return None;
            }
        }
    } else if hooks.has(HookPoint::ClientAuthenticate) {
        // A handler may refuse a client whose session belongs to someone else.
        let previous_owner = shared.registry.owner(&clientid);
        hooks
            .login_assigning(
                Arc::new(clientinfo.clone()),
                previous_owner,
                initial,
                &rules,
            )
            .await
    } else {
        hookmq_hooks::Login {
            result: initial,
            decided: false,
            grant: None,
            redirect: None,
            refusal: None,
        }
    };
    let mut login = login;
    // The CONNACK terms apply now; the connection keeps the rest of the grant.
    let mut terms = login
        .grant
        .as_mut()
        .map(|g| std::mem::take(&mut g.connack))
        .unwrap_or_default();
    clientinfo.password = None;
    // Credentials with an expiry (a token's `exp`): already past is a refusal; otherwise the
    // connection ends when they expire.
    let now_ms = hookmq_hooks::now_ms();
    let expire_at_ms = login.grant.as_ref().and_then(|g| g.expire_at_ms);
    let auth = match (login.result, expire_at_ms) {
        (AuthResult::Allow { .. }, Some(at)) if at <= now_ms => {
            tracing::debug!("credentials already expired");
            AuthResult::Deny(ReasonCode::NOT_AUTHORIZED)
        }
        (result, _) => result,
    };
    let expires = expire_at_ms.map(|at| Instant::now() + Duration::from_millis(at - now_ms));
    let decided = login.decided;
    let redirect = login.redirect;
    clientinfo.grant = login.grant.map(Arc::new);
    match auth {
        AuthResult::Deny(code) => {
            Metrics::inc(&shared.metrics.auth_failures);
            let code = refuse(code, "authentication refused");
            let props =
                connack::refusal_properties(protocol, redirect.as_ref(), login.refusal.as_ref());
            let mut ack = ConnAck {
                session_present: false,
                reason: code,
                properties: props,
            };
            connack::fit(&mut ack, protocol, client_max_packet);
            let props = ack.properties;
            connack_hook(&shared, &conninfo, code, &props).await;
            send_refusal(&mut io, code, props);
            io.flush_within(Duration::from_secs(1)).await;
            io.shutdown().await;
            return None;
        }
        AuthResult::Allow { superuser } => {
            clientinfo.is_superuser = superuser;
            clientinfo.anonymous = !decided;
        }
    }
    // The handler's terms: an assigned client id (MQTT 3.x clients cannot be told; it applies
    // silently), then overrides that only tighten the configuration (negotiation.rs).
    let mut late_refusal = None;
    if let Some(id) = terms.assigned_client_id.take().filter(|id| *id != clientid) {
        tracing::debug!(assigned = %id, "client id assigned by an authentication handler");
        match mountpoint_of(&listener, cfg, &id, clientinfo.username.as_deref()) {
            Ok(m) => clientinfo.mountpoint = m,
            Err(()) => {
                late_refusal = Some(refuse(
                    ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
                    "assigned client id not allowed in the mount point",
                ));
            }
        }
        tracing::Span::current().record("clientid", &*id);
        io.tap = Some(super::tap::PacketTap::new(
            shared.hooks.tracer().clone(),
            id.clone(),
            clientinfo.username.clone(),
        ));
        clientinfo.clientid = id;
        assigned = true;
    }
    let clientid = clientinfo.clientid.clone();
    let expiry = super::negotiation::session_expiry(
        protocol,
        expiry,
        terms.session_expiry_interval,
        expiry_max,
    );
    let keepalive = super::negotiation::keep_alive_override(
        protocol,
        keepalive,
        terms.server_keep_alive,
        cfg.server_keepalive,
        cfg.max_keepalive,
    );
    let max_qos = super::negotiation::maximum_qos(cfg.max_qos, terms.maximum_qos);
    let receive_maximum =
        super::negotiation::receive_maximum(cfg.receive_maximum, terms.receive_maximum);
    if c.will.as_ref().is_some_and(|w| w.qos.as_u8() > max_qos) {
        // [MQTT-3.2.2-12] will QoS above the Maximum QoS the handler set: 0x9B.
        late_refusal = late_refusal.or(Some(refuse(
            ReasonCode::QOS_NOT_SUPPORTED,
            "will QoS above the handler's maximum",
        )));
    }
    if clientid != conninfo.clientid
        || expiry != conninfo.expiry_interval
        || keepalive.seconds != conninfo.keepalive
    {
        conninfo = Arc::new(ConnInfo {
            clientid: clientid.clone(),
            expiry_interval: expiry,
            keepalive: keepalive.seconds,
            ..ConnInfo::clone(&conninfo)
        });
    }
    if let Some(code) = late_refusal {
        connack_hook(&shared, &conninfo, code, &Properties::default()).await;
        send_refusal(&mut io, code, Properties::default());
        io.flush_within(Duration::from_secs(1)).await;
        io.shutdown().await;
        return None;
    }
    let clientinfo = Arc::new(clientinfo);

    // Cluster: register the client id; a session held by another node moves here.
    let (moved, cluster_epoch) = match shared.cluster() {
        None => (None, 0),
        Some(cluster) => {
            let request = crate::cluster::ClaimRequest {
                clientinfo: clientinfo.clone(),
                clean_start: c.clean_start,
                expiry,
                will: c.will.clone().map(detach_will),
            };
            match cluster.claim(request).await {
                Ok(claim) => (claim.moved, claim.epoch),
                Err(e) => {
                    tracing::warn!(error = %e, "client id not registered in the cluster");
                    // 0x88 Server unavailable (3.1.1: return code 3).
                    let code = refuse(ReasonCode::SERVER_UNAVAILABLE, "cluster claim failed");
                    connack_hook(&shared, &conninfo, code, &Properties::default()).await;
                    send_refusal(&mut io, code, Properties::default());
                    io.flush_within(Duration::from_secs(1)).await;
                    io.shutdown().await;
                    return None;
                }
            }
        }
    };

    // Session.
    let (control_tx, control) = crate::mailbox::mailbox();
    let id = shared.next_conn_id.fetch_add(1, Ordering::Relaxed);
    let limits = QueueLimits {
        max_len: cfg.max_queue_len,
        drop: cfg.queue_policy(expiry > 0),
        qos0_offline: cfg.queue_qos0_offline,
        persist: shared.store.is_some(),
    };
    let link = Link {
        conn_id: id,
        control: control_tx,
    };
    let owner_change = shared.config.session.owner_change;
    let opened = match moved {
        // A moved session of another identity is not taken over when the policy discards.
        Some(moved)
            if !(owner_change == OwnerChange::Discard
                && moved_owner(&moved) != clientinfo.identity()) =>
        {
            open_moved(&shared, &clientinfo, moved, expiry, link, limits)
        }
        _ => shared.registry.open(
            clientinfo.clone(),
            c.clean_start,
            expiry,
            link,
            limits,
            owner_change,
        ),
    };
    let (session, resumed) = open_session(&shared, &clientinfo, opened).await;
    let present = resumed.is_some();
    if cluster_epoch != 0 {
        session.state.lock().cluster_epoch = cluster_epoch;
    }
    let authz = &shared.config.authorization;
    let mut authz_cache = AuthzCache::new(AuthzCacheConfig {
        enable: authz.cache.enable,
        max_size: authz.cache.max_size,
        ttl: authz.cache.ttl.0,
    });
    if let Some(owner_changed) = resumed {
        let reauthorize = owner_changed && owner_change == OwnerChange::Reauthorize;
        if reauthorize || authz.recheck != Recheck::Subscribe {
            if owner_changed {
                tracing::debug!("session resumed by another identity; re-authorizing it");
            }
            let mut authorizer = Authorizer {
                shared: &shared,
                clientinfo: &clientinfo,
                cache: Some(&mut authz_cache),
            };
            recheck(&shared, &session, &mut authorizer, true).await;
        }
    }
    // A persistent session is durable before the client learns it exists.
    if let Some(op) = session.save_op() {
        shared.commit(vec![op]).await;
    }

    // CONNACK.
    let mut props = Properties::default();
    if protocol.is_v5() {
        if assigned {
            props.push(Property::AssignedClientIdentifier(clientid.clone()));
        }
        if expiry != requested_expiry {
            props.push(Property::SessionExpiryInterval(expiry));
        }
        if receive_maximum != u16::MAX {
            props.push(Property::ReceiveMaximum(receive_maximum));
        }
        props.push(Property::MaximumPacketSize(max_packet_of(&shared)));
        if cfg.max_topic_alias > 0 {
            props.push(Property::TopicAliasMaximum(cfg.max_topic_alias));
        }
        if max_qos < 2 {
            // [MQTT-3.2.2-9] sent when QoS 2 is not supported.
            props.push(Property::MaximumQos(max_qos));
        }
        if !cfg.retain_available {
            props.push(Property::RetainAvailable(0));
        }
        if !cfg.wildcard_subscription {
            props.push(Property::WildcardSubscriptionAvailable(0));
        }
        if !cfg.shared_subscription {
            props.push(Property::SharedSubscriptionAvailable(0));
        }
        if c.properties.request_response_information() == Some(1)
            && let Some(info) = response_information(cfg, &clientinfo)
        {
            // [MQTT-3.1.2-28] only to a client that asked for it.
            props.push(Property::ResponseInformation(info));
        }
        if keepalive.announce {
            // [MQTT-3.2.2-21] the client uses this instead of its own keep alive.
            props.push(Property::ServerKeepAlive(keepalive.seconds));
        }
        if let Some((method, data)) = &enhanced {
            // [MQTT-4.12.0-5] a successful CONNACK carries the CONNECT's method.
            props.push(Property::AuthenticationMethod(method.clone()));
            if let Some(data) = data {
                props.push(Property::AuthenticationData(data.clone()));
            }
        }
        connack::push_terms(&mut props, &terms);
    }
    let mut ack = ConnAck {
        session_present: present,
        reason: ReasonCode::SUCCESS,
        properties: props,
    };
    connack::fit(&mut ack, protocol, client_max_packet);
    connack_hook(&shared, &conninfo, ReasonCode::SUCCESS, &ack.properties).await;
    io.rd.decoder.set_protocol(protocol);
    io.send(&Packet::ConnAck(ack), protocol);
    shared.metrics.connections.fetch_add(1, Ordering::Relaxed);
    Metrics::inc(&shared.metrics.connections_total);
    if hooks.has(HookPoint::ClientConnected) {
        hooks
            .notify(Event::ClientConnected {
                clientinfo: clientinfo.clone(),
                conninfo: conninfo.clone(),
            })
            .await;
    }
    tracing::debug!(present, keepalive = keepalive.seconds, "client connected");

    let mut conn = Conn {
        io,
        id,
        protocol,
        session,
        clientinfo,
        conninfo,
        control,
        keepalive: Duration::from_secs_f64(f64::from(keepalive.seconds) * cfg.keepalive_multiplier),
        last_packet: Instant::now(),
        will: c.will.map(|w| Box::new(detach_will(w))),
        authz: authz_cache,
        in_aliases: Default::default(),
        out_aliases: OutAliases::new(if cfg.outbound_topic_alias {
            c.properties.topic_alias_maximum().unwrap_or(0)
        } else {
            0
        }),
        client_max_packet,
        max_qos,
        receive_maximum,
        window: usize::from(
            cfg.max_inflight
                .min(c.properties.receive_maximum().unwrap_or(u16::MAX)),
        ),
        subscription_count: 0,
        rate: (cfg.max_publish_rate > 0)
            .then(|| crate::rate::TokenBucket::new(cfg.max_publish_rate, Instant::now())),
        throttled_until: None,
        memory_paused: false,
        expires,
        held_by: Vec::new(),
        acks: None,
        enhanced: enhanced.map(|(method, _)| Box::new(super::auth_exchange::Enhanced::new(method))),
        shared,
    };
    conn.subscription_count = conn.session.state.lock().subscriptions.len();
    if present {
        conn.resend_inflight();
    }
    Some(conn)
}

/// The mount point of a listener for a client, its identity expanded; `Err` where the identity
/// cannot go into it (it would change what topics match: `hookmq_codec::template`).
fn mountpoint_of(
    listener: &super::ListenerContext,
    cfg: &crate::config::MqttConfig,
    clientid: &str,
    username: Option<&str>,
) -> Result<Option<ByteString>, ()> {
    let Some(m) = listener.mountpoint.as_deref() else {
        return Ok(None);
    };
    let who = template::Identity {
        clientid,
        username,
        allow_slash: cfg.topic_template_allow_slash,
    };
    template::expand(m, &who)
        .map(|m| Some(ByteString::from(m)))
        .map_err(|e| {
            tracing::debug!(error = %e, "identity cannot go into the mount point");
        })
}

/// The Response Information for a client: `mqtt.response_information` with its identity, or
/// none when the identity cannot go into a topic (a `+`, `#`, `/` or nothing where it goes:
/// `hookmq_codec::template`), since the client would then share or widen another's replies.
fn response_information(cfg: &crate::config::MqttConfig, who: &ClientInfo) -> Option<ByteString> {
    let t = cfg.response_information.as_deref()?;
    let identity = template::Identity {
        clientid: &who.clientid,
        username: who.username.as_deref(),
        allow_slash: cfg.topic_template_allow_slash,
    };
    match template::expand(t, &identity) {
        Ok(info) => Some(info.into()),
        Err(e) => {
            tracing::debug!(error = %e, "no Response Information for this identity");
            None
        }
    }
}

fn max_packet_of(shared: &Shared) -> u32 {
    shared
        .config
        .mqtt
        .max_packet_size
        .0
        .min(u64::from(u32::MAX)) as u32
}

async fn connack_hook(
    shared: &Shared,
    conninfo: &Arc<ConnInfo>,
    code: ReasonCode,
    props: &Properties,
) {
    if shared.hooks.has(HookPoint::ClientConnack) {
        shared
            .hooks
            .notify(Event::ClientConnack {
                conninfo: conninfo.clone(),
                result: code,
                props: props.clone(),
            })
            .await;
    }
}

/// Finishes opening the session: closes the previous connection, ends a discarded session and
/// runs the session hooks. Returns the session and, if it was resumed (Session Present), whether
/// its owner changed.
async fn open_session(
    shared: &Arc<Shared>,
    clientinfo: &Arc<ClientInfo>,
    opened: Opened,
) -> (Arc<Session>, Option<bool>) {
    let hooks = &shared.hooks;
    match opened {
        Opened::Created { session } => {
            if hooks.has(HookPoint::SessionCreated) {
                hooks
                    .notify(Event::SessionCreated {
                        clientinfo: clientinfo.clone(),
                    })
                    .await;
            }
            (session, None)
        }
        Opened::Resumed {
            session,
            previous,
            old_clientinfo,
            owner_changed,
        } => {
            if let Some(previous) = previous {
                close_previous(previous).await;
                if hooks.has(HookPoint::SessionTakenover) {
                    hooks
                        .notify(Event::SessionTakenover {
                            clientinfo: old_clientinfo,
                        })
                        .await;
                }
            }
            if hooks.has(HookPoint::SessionResumed) {
                hooks
                    .notify(Event::SessionResumed {
                        clientinfo: clientinfo.clone(),
                    })
                    .await;
            }
            (session, Some(owner_changed))
        }
        Opened::Discarded {
            session,
            old,
            old_subscriptions,
            previous,
        } => {
            if let Some(previous) = previous {
                close_previous(previous).await;
            }
            let old_clientinfo = old.state.lock().clientinfo.clone();
            if shared.store.is_some() {
                shared.submit(vec![crate::persist::Op::DelSession(old.clientid.clone())]);
            }
            if hooks.has(HookPoint::SessionDiscarded) {
                hooks
                    .notify(Event::SessionDiscarded {
                        clientinfo: old_clientinfo.clone(),
                    })
                    .await;
            }
            shared.end_session(old_clientinfo, old_subscriptions, "discarded");
            if hooks.has(HookPoint::SessionCreated) {
                hooks
                    .notify(Event::SessionCreated {
                        clientinfo: clientinfo.clone(),
                    })
                    .await;
            }
            (session, None)
        }
    }
}

/// Opens a session that another node handed over (or that was adopted from a dead node's
/// record): subscriptions into the router, queued and in-flight messages kept, stored here with
/// persistence.
fn open_moved(
    shared: &Arc<Shared>,
    clientinfo: &Arc<ClientInfo>,
    moved: crate::cluster::MovedSession,
    expiry: u32,
    link: Link,
    limits: QueueLimits,
) -> Opened {
    let old_clientinfo = clientinfo.clone();
    let owner_changed = moved_owner(&moved) != clientinfo.identity();
    let (session, stale) =
        shared
            .registry
            .open_moved(clientinfo.clone(), moved.state, expiry, link, limits);
    // A session of the same id left here by a partition: the moved one wins. Its routes go
    // first, since the router keys subscriptions by client id.
    let previous = stale.and_then(|old| {
        let subscriptions = old.session.state.lock().end();
        shared.unroute(&old.session.clientid, &subscriptions);
        old.previous
    });
    shared.route_moved(&session);
    if let Some(ops) = session.store_all() {
        shared.submit(ops);
    }
    Opened::Resumed {
        session,
        previous,
        old_clientinfo,
        owner_changed,
    }
}

/// Who a session moved from another node belongs to.
fn moved_owner(moved: &crate::cluster::MovedSession) -> hookmq_hooks::Identity {
    hookmq_hooks::Identity {
        username: moved.state.record.username.clone(),
        cert_dn: moved.state.record.dn.clone(),
    }
}

/// Tells the previous connection of a session to close, and waits until its disconnect hooks ran.
pub(crate) async fn close_previous(previous: Link) {
    let (tx, rx) = oneshot::channel();
    if previous
        .control
        .send(crate::session::Control::Takeover(tx))
        .is_ok()
    {
        let _ = tokio::time::timeout(TAKEOVER_WAIT, rx).await;
    }
}

/// The will with its topic, payload and properties copied out of CONNECT's read buffer, which it
/// would otherwise keep alive for the whole connection.
fn detach_will(w: hookmq_codec::LastWill) -> hookmq_codec::LastWill {
    hookmq_codec::LastWill {
        topic: hookmq_codec::TopicName::new(ByteString::from(w.topic.as_str())).unwrap_or(w.topic),
        payload: bytes::Bytes::copy_from_slice(&w.payload),
        properties: w.properties,
        ..w
    }
}
