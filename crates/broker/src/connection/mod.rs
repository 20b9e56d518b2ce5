//! One task per network connection: read CONNECT, open the session, then loop reading packets,
//! writing what the session has queued, watching keep-alive and commands (takeover, kick,
//! shutdown), and finally run the disconnect work (hooks, will, session detach).
//!
//! Listeners spawn [`serve`] for every accepted stream, whatever its transport.

mod aliases;
mod auth_exchange;
mod close;
mod connack;
mod connect;
mod inbound;
mod io;
mod negotiation;
mod outbound;
mod subscribe;
mod tap;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hookmq_codec::{LastWill, Packet, Protocol, TopicName};
use hookmq_hooks::{AuthzCache, ClientInfo, ConnInfo};
use tokio::time::Instant;
use tracing::Instrument;

pub(crate) use self::aliases::OutAliases;
pub(crate) use self::close::{Close, publish_will, schedule_will};
pub(crate) use self::connect::close_previous;
pub(crate) use self::io::Io;
pub use self::io::{Reader, Writer};
use crate::session::{Control, Session};
use crate::shared::Shared;

/// Output buffered beyond this stops reading from the session queue.
const WBUF_LOW: usize = 64 * 1024;
/// Output buffered beyond this also stops reading from the socket (backpressure on a client
/// that sends without reading).
const WBUF_HIGH: usize = 1024 * 1024;

/// Facts about the listener a connection came in on.
#[derive(Debug, Clone, Default)]
pub struct ListenerContext {
    /// Listener name, e.g. `tcp:default`.
    pub name: String,
    /// Topic prefix for this listener's clients.
    pub mountpoint: Option<String>,
}

/// TLS client certificate facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerCert {
    /// Subject common name.
    pub cn: Option<String>,
    /// Subject distinguished name.
    pub dn: Option<String>,
}

/// An accepted stream, ready to speak MQTT.
pub struct Transport {
    /// Read half.
    pub reader: Reader,
    /// Write half.
    pub writer: Writer,
    /// Peer address.
    pub peer: SocketAddr,
    /// Local port.
    pub sockport: u16,
    /// The listener.
    pub listener: Arc<ListenerContext>,
    /// TLS client certificate, when one was presented and verified.
    pub cert: Option<PeerCert>,
    /// Use the certificate's CN or DN as the user name.
    pub cert_as_username: Option<CertAsUsername>,
}

/// Which certificate field replaces the user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertAsUsername {
    /// Common name.
    Cn,
    /// Distinguished name.
    Dn,
}

/// A connection after CONNECT was accepted.
pub(crate) struct Conn {
    pub(crate) shared: Arc<Shared>,
    pub(crate) io: Io,
    pub(crate) id: u64,
    pub(crate) protocol: Protocol,
    pub(crate) session: Arc<Session>,
    pub(crate) clientinfo: Arc<ClientInfo>,
    pub(crate) conninfo: Arc<ConnInfo>,
    pub(crate) control: crate::mailbox::Inbox,
    /// Keep alive granted; zero disables the check.
    pub(crate) keepalive: Duration,
    pub(crate) last_packet: Instant,
    /// Boxed: most clients set no will, and the connection keeps this for its whole life.
    pub(crate) will: Option<Box<LastWill>>,
    pub(crate) authz: AuthzCache,
    pub(crate) in_aliases: HashMap<u16, TopicName>,
    pub(crate) out_aliases: OutAliases,
    /// Largest packet the client accepts.
    pub(crate) client_max_packet: u32,
    /// Maximum QoS the client may publish with and be granted (`mqtt.max_qos`, or lower if an
    /// authentication handler said so).
    pub(crate) max_qos: u8,
    /// Unacknowledged QoS 2 publications the client may have (`mqtt.receive_maximum`, or lower
    /// if an authentication handler said so).
    pub(crate) receive_maximum: u16,
    /// QoS 1/2 messages in flight to the client at most.
    pub(crate) window: usize,
    /// Subscriptions held (for `max_subscriptions`).
    pub(crate) subscription_count: usize,
    /// Publish rate limit, if configured.
    pub(crate) rate: Option<crate::rate::TokenBucket>,
    /// Reading is paused until then (rate limit).
    pub(crate) throttled_until: Option<Instant>,
    /// Reading waits until memory is back under `limits.memory_high_watermark` (a PUBLISH is
    /// next in the buffer).
    pub(crate) memory_paused: bool,
    /// The client's credentials expire then (an authentication grant's expiry).
    pub(crate) expires: Option<Instant>,
    /// Sessions whose full queue holds this publisher back (`backpressure`): reading waits
    /// until each has room, at most `slow_consumer_timeout`.
    pub(crate) held_by: Vec<Arc<Session>>,
    /// The Authentication Method the client connected with (MQTT 5 enhanced authentication)
    /// and any re-authentication in progress; boxed, since most clients have none.
    pub(crate) enhanced: Option<Box<auth_exchange::Enhanced>>,
    /// The acknowledgements owed from the first one a `message.publish` handler held on, in
    /// order ([`crate::held`]); boxed and absent while nothing is held.
    pub(crate) acks: Option<Box<crate::held::PendingAcks>>,
}

/// Serves one accepted stream until it closes.
///
/// The CONNECT phase and the close are boxed (the CONNECT phase before the returned future
/// exists, so the transport is not kept in it either): the task then keeps only the loop's
/// state for the connection's lifetime, and idle connections are most of a broker's memory.
pub fn serve(shared: Arc<crate::Broker>, transport: Transport) -> impl Future<Output = ()> {
    let shared = shared.shared.clone();
    let span =
        tracing::debug_span!("conn", peer = %transport.peer, clientid = tracing::field::Empty);
    let establish = Box::pin(connect::establish(shared, transport));
    async move {
        let Some(mut conn) = establish.await else {
            return;
        };
        let close = conn.run().await;
        Box::pin(conn.finish(close)).await;
    }
    .instrument(span)
}

impl Conn {
    /// The main loop; returns why the connection ends.
    ///
    /// Its future is what every idle connection keeps in its task, so what it holds across the
    /// wait is kept small: packet handling (which awaits hooks) is boxed for the duration of a
    /// read batch, reads wait without a buffer (see [`io::ReadSide::read_some`]), and one timer
    /// serves the keep alive and the credentials' expiry.
    async fn run(&mut self) -> Close {
        let shutdown = self.shared.shutdown.clone();
        // Packets that arrived together with CONNECT.
        if let Err(close) = Box::pin(self.handle_input()).await {
            return close;
        }
        self.io.rd.release_if_empty();
        // The timer is not moved for every packet (that was timer-wheel work per read): when it
        // fires early it is set again from the latest packet's time.
        let mut armed = self.next_deadline();
        let timer = tokio::time::sleep_until(armed.unwrap_or_else(Instant::now));
        tokio::pin!(timer);
        loop {
            // A deadline earlier than the armed one (a re-authentication started, new
            // credentials' expiry) moves the timer; a later one waits until it fires.
            if let Some(at) = self.next_deadline()
                && armed.is_none_or(|a| at < a)
            {
                armed = Some(at);
                timer.as_mut().reset(at);
            }
            if self.io.wr.buf.len() < WBUF_LOW
                && let Err(close) = self.pump().await
            {
                return close;
            }
            let read_allowed = self.io.wr.buf.len() < WBUF_HIGH
                && self.throttled_until.is_none()
                && self.held_by.is_empty()
                && !self.memory_paused
                && !self.acks_full();
            let throttle = self
                .throttled_until
                .map(|t| Box::pin(tokio::time::sleep_until(t)));
            // Boxed, and only while held: the wait and its timer cost nothing otherwise.
            let hold = (!self.held_by.is_empty()).then(|| {
                Box::pin(held(
                    self.held_by.clone(),
                    self.shared.config.mqtt.slow_consumer_timeout.0,
                ))
            });
            // Held acknowledgements: a confirmation, or the first one's deadline.
            let acks_wait = self.acks.as_ref().map(|acks| {
                let wait = acks.wait();
                Box::pin(async move {
                    if let Some((releases, deadline)) = wait {
                        tokio::select! {
                            _ = releases.wake.notified() => {}
                            _ = tokio::time::sleep_until(deadline) => {}
                        }
                    }
                })
            });
            let memory_low = self.memory_paused.then(|| {
                let shared = self.shared.clone();
                Box::pin(async move { shared.memory.wait_low().await })
            });
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Close::shutdown(&self.shared.config.redirect),
                ctl = self.control.recv() => match ctl {
                    Control::Takeover(ack) => return Box::pin(self.taken_over(ack)).await,
                    Control::Kick(reason) => return Close::kicked(reason),
                    Control::Revoked => return Close::revoked(),
                    Control::SlowConsumer => return Close::slow_consumer(),
                    Control::Reauthorize(reply) => {
                        let _ = reply.send(self.reauthorize().await);
                    }
                },
                written = self.io.wr.write_some(), if self.io.wr.wants_write() => match written {
                    Ok(n) => crate::metrics::Metrics::inc_by(&self.shared.metrics.bytes_sent, n),
                    Err(e) => {
                        tracing::debug!(error = %e, "write failed");
                        return Close::closed();
                    }
                },
                read = self.io.rd.read_some(), if read_allowed => match read {
                    Ok(0) => return Close::closed(),
                    Ok(n) => {
                        crate::metrics::Metrics::inc_by(&self.shared.metrics.bytes_received, n);
                        if let Err(close) = Box::pin(self.handle_input()).await {
                            return close;
                        }
                        self.io.rd.release_if_empty();
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "read failed");
                        return Close::closed();
                    }
                },
                _ = self.session.wake.notified() => {}
                _ = async move {
                    match throttle {
                        Some(sleep) => sleep.await,
                        None => std::future::pending().await,
                    }
                }, if self.throttled_until.is_some() => {
                    // Time spent throttled does not count against the client's keep alive.
                    self.throttled_until = None;
                    self.last_packet = Instant::now();
                    if let Err(close) = Box::pin(self.handle_input()).await {
                        return close;
                    }
                }
                _ = async move {
                    match hold {
                        Some(wait) => wait.await,
                        None => std::future::pending().await,
                    }
                }, if !self.held_by.is_empty() => {
                    self.release_held();
                    if let Err(close) = Box::pin(self.handle_input()).await {
                        return close;
                    }
                }
                _ = async move {
                    match acks_wait {
                        Some(wait) => wait.await,
                        None => std::future::pending().await,
                    }
                }, if self.acks.is_some() => {
                    if self.acks_full() {
                        // Time spent paused does not count against the client's keep alive.
                        self.last_packet = Instant::now();
                    }
                    if let Err(close) = self.release_acks() {
                        return close;
                    }
                    if let Err(close) = Box::pin(self.handle_input()).await {
                        return close;
                    }
                }
                _ = async move {
                    match memory_low {
                        Some(wait) => wait.await,
                        None => std::future::pending().await,
                    }
                }, if self.memory_paused => {
                    // Time spent paused does not count against the client's keep alive.
                    self.memory_paused = false;
                    self.last_packet = Instant::now();
                    if let Err(close) = Box::pin(self.handle_input()).await {
                        return close;
                    }
                }
                _ = &mut timer, if armed.is_some() => {
                    let now = Instant::now();
                    if self.memory_paused || self.acks_full() {
                        // The client's PINGREQ may be waiting unread behind the PUBLISH.
                        self.last_packet = now;
                    }
                    if self.expires.is_some_and(|at| at <= now) {
                        return Close::credentials_expired();
                    }
                    if self.reauthentication_overdue(now) {
                        tracing::debug!("re-authentication not finished within connect_timeout");
                        return Close::with_code(
                            hookmq_codec::ReasonCode::NOT_AUTHORIZED,
                            "reauthentication_timeout",
                        );
                    }
                    armed = self.next_deadline();
                    match armed {
                        Some(at) if at > now => timer.as_mut().reset(at),
                        _ => {
                            // [MQTT-3.1.2-24] no packet within 1.5 × keep alive: close.
                            self.shared.metrics.limit_hit(crate::metrics::Limit::KeepAlive);
                            return Close::keepalive();
                        }
                    }
                }
            }
        }
    }

    /// Stops reading until memory is back under the watermark: counted, logged at debug (the
    /// episode itself is logged once by [`crate::memory::watch`]).
    fn pause_for_memory(&mut self) {
        self.memory_paused = true;
        let memory = &self.shared.memory;
        memory
            .paused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.shared
            .metrics
            .limit_hit(crate::metrics::Limit::MemoryHighWatermark);
        tracing::debug!("memory above the watermark: reading paused before a PUBLISH");
    }

    /// Goes on after a backpressure hold: the sessions still full after `slow_consumer_timeout`
    /// are slow consumers, disconnected with 0x97 so they stop holding everyone up.
    fn release_held(&mut self) {
        for session in std::mem::take(&mut self.held_by) {
            if session.is_full() && session.disconnect_slow_consumer() {
                tracing::debug!(subscriber = %session.clientid, "slow consumer disconnected");
                self.shared
                    .metrics
                    .limit_hit(crate::metrics::Limit::SlowConsumer);
            }
        }
    }

    /// When the timer must fire next: the keep alive's end, the credentials' expiry or a
    /// re-authentication's deadline, whichever comes first; `None` when none applies.
    fn next_deadline(&self) -> Option<Instant> {
        let keepalive = (!self.keepalive.is_zero()).then(|| self.last_packet + self.keepalive);
        let reauth = self.enhanced.as_ref().and_then(|e| e.deadline());
        [keepalive, self.expires, reauth]
            .into_iter()
            .flatten()
            .min()
    }

    /// Ends a connection whose session another connection took. The client may have written
    /// more (a DISCONNECT above all) before it reconnected: those bytes are in this socket
    /// already, but the takeover can reach the loop before it read them. They are read and
    /// handled now, without waiting, so a clean DISCONNECT sent before the reconnect still
    /// discards the will ([MQTT-3.14.4-3], [MQTT-3.1.2-10]) and earlier messages are routed.
    /// A single poll suffices: the client sent them before it opened the new connection, so
    /// the runtime saw this socket readable before it saw the CONNECT that caused the takeover.
    async fn taken_over(&mut self, ack: tokio::sync::oneshot::Sender<()>) -> Close {
        use futures_util::FutureExt;
        // Throttling delays input, it never discards it; the connection ends now.
        self.throttled_until = None;
        let mut ended = self.handle_input().await.err();
        // Bounded like the loop's own reading, so a client that keeps writing cannot hold the
        // takeover up.
        let mut budget = WBUF_HIGH;
        while ended.is_none() && budget > 0 {
            match self.io.rd.read_some().now_or_never() {
                Some(Ok(n)) if n > 0 => {
                    budget = budget.saturating_sub(n);
                    ended = self.handle_input().await.err();
                }
                _ => break,
            }
        }
        match ended {
            Some(close) => close.acknowledging(ack),
            None => Close::takeover(ack),
        }
    }

    /// Decodes and handles every complete packet in the read buffer.
    async fn handle_input(&mut self) -> Result<(), Close> {
        // Everything in the buffer arrived with the last read: one clock read per batch, not
        // per packet (the clock was 2% of the broker's CPU in a QoS 1 p2p profile).
        let mut stamped = false;
        loop {
            if self.throttled_until.is_some() || !self.held_by.is_empty() || self.memory_paused {
                // Rate limited or held back: the rest waits in the buffer until it may go on.
                return Ok(());
            }
            // An MQTT 3.x client owed as many held acknowledgements as Receive Maximum: its
            // next PUBLISH waits until one is released.
            if self.acks_full() && self.io.rd.buf.first().is_some_and(|b| b >> 4 == 3) {
                return Ok(());
            }
            // Above the memory watermark a PUBLISH (type 3) waits in the buffer and the socket:
            // publishers stop while acknowledgements and deliveries, which free memory, go on.
            if self.shared.memory.is_high() && self.io.rd.buf.first().is_some_and(|b| b >> 4 == 3) {
                self.pause_for_memory();
                return Ok(());
            }
            let packet = match self.io.rd.decoder.decode(&mut self.io.rd.buf) {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(()),
                Err(e) => return Err(Close::decode_error(&e, self.protocol, &self.shared.metrics)),
            };
            if !stamped {
                self.last_packet = Instant::now();
                stamped = true;
            }
            crate::metrics::Metrics::inc(&self.shared.metrics.packets_received);
            if let Some(tap) = &self.io.tap {
                tap.packet(&packet, true);
            }
            self.handle_packet(packet).await?;
        }
    }

    async fn handle_packet(&mut self, packet: Packet) -> Result<(), Close> {
        match packet {
            Packet::Publish(p) => self.on_publish(p).await,
            Packet::PubAck(a) => self.on_puback(a),
            Packet::PubRec(a) => self.on_pubrec(a).await,
            Packet::PubRel(a) => self.on_pubrel(a),
            Packet::PubComp(a) => self.on_pubcomp(a),
            Packet::Subscribe(s) => self.on_subscribe(s).await,
            Packet::Unsubscribe(u) => self.on_unsubscribe(u).await,
            Packet::PingReq => {
                self.io.send(&Packet::PingResp, self.protocol);
                Ok(())
            }
            Packet::Disconnect(d) => Err(self.on_disconnect(d)),
            // [MQTT-3.1.0-2] a second CONNECT is a protocol error.
            Packet::Connect(_) => Err(Close::protocol_error("second CONNECT")),
            Packet::Auth(a) => self.on_auth(a).await,
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                Err(Close::protocol_error("packet only a server may send"))
            }
        }
    }
}

/// Waits until every session holding a publisher back has room again, or `limit` passed. The
/// timer exists only while a publisher is held.
async fn held(sessions: Vec<Arc<Session>>, limit: Duration) {
    let room = std::future::poll_fn(|cx| {
        let mut ready = true;
        for s in &sessions {
            // Polled all, so each registers this task to be woken.
            ready &= s.poll_room(cx).is_ready();
        }
        if ready {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    });
    let _ = tokio::time::timeout(limit, room).await;
}

impl Conn {
    /// Forgets the cached authorization decisions and re-checks the session for this client.
    /// What is in flight was sent already and stays.
    async fn reauthorize(&mut self) -> crate::recheck::Reauthorized {
        self.authz.clear();
        let shared = self.shared.clone();
        let session = self.session.clone();
        let report =
            crate::recheck::recheck(&shared, &session, &mut self.authorizer(), false).await;
        self.subscription_count = session.state.lock().subscriptions.len();
        report
    }
}
