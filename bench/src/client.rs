//! A minimal MQTT client on our codec over tokio TCP (or TLS with `--tls`): connect, subscribe,
//! queue packets, and one step of socket I/O that reads and writes at the same time (so neither side of a benchmark can
//! deadlock the other on full socket buffers). Every scenario's publishers and subscribers use it.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bytes::{Buf, BytesMut};
use hookmq_codec::{
    ByteString, Connect, Decoder, Packet, PacketId, Properties, Property, Protocol, QoS, Subscribe,
    SubscriptionOptions, TopicFilter, encode_packet,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tls::ClientTls;

/// The reading half of a TCP or TLS connection.
type Reader = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a TCP or TLS connection.
type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// Largest packet the client accepts from the broker.
const MAX_PACKET: u32 = 16 * 1024 * 1024;

/// What one [`Client::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Bytes were read; decode them with [`Client::next_packet`].
    Read,
    /// The caller's wake-up future finished first.
    Woken,
}

/// One MQTT connection.
pub struct Client {
    rd: Reader,
    wr: Writer,
    rbuf: BytesMut,
    wbuf: BytesMut,
    decoder: Decoder,
    protocol: Protocol,
    /// TLS: a write may leave encrypted bytes in the session until the next write or flush.
    tls: bool,
    /// Written since the last flush (TLS only).
    unflushed: bool,
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Broker address (loopback only).
    pub addr: SocketAddr,
    /// Client identifier.
    pub client_id: String,
    /// Protocol level.
    pub protocol: Protocol,
    /// Keep alive in seconds (0: none).
    pub keep_alive: u16,
    /// Time allowed for TCP connect plus CONNECT/CONNACK.
    pub timeout: Duration,
    /// Connect over TLS with this client configuration.
    pub tls: Option<ClientTls>,
}

impl Client {
    /// Opens a TCP (or TLS) connection, sends CONNECT (clean start) and waits for a successful CONNACK.
    pub async fn connect(opts: &ConnectOptions) -> Result<Client> {
        if !opts.addr.ip().is_loopback() {
            bail!("refusing to benchmark a non-loopback address {}", opts.addr);
        }
        let fut = async {
            let stream = TcpStream::connect(opts.addr)
                .await
                .with_context(|| format!("connect to {}", opts.addr))?;
            stream.set_nodelay(true)?;
            let (rd, wr): (Reader, Writer) = match &opts.tls {
                None => {
                    let (rd, wr) = stream.into_split();
                    (Box::new(rd), Box::new(wr))
                }
                Some(tls) => {
                    let stream = tls
                        .connector
                        .connect(tls.server_name.clone(), stream)
                        .await
                        .context("TLS handshake")?;
                    let (rd, wr) = tokio::io::split(stream);
                    (Box::new(rd), Box::new(wr))
                }
            };
            let mut client = Client {
                rd,
                wr,
                rbuf: BytesMut::with_capacity(16 * 1024),
                wbuf: BytesMut::with_capacity(16 * 1024),
                decoder: Decoder::with_protocol(opts.protocol, MAX_PACKET),
                protocol: opts.protocol,
                tls: opts.tls.is_some(),
                unflushed: false,
            };
            let mut properties = Properties::default();
            if opts.protocol.is_v5() {
                // Let the broker queue as much as it would for a 3.1.1 client.
                properties.push(Property::ReceiveMaximum(u16::MAX));
            }
            client.queue(&Packet::Connect(Box::new(Connect {
                protocol: opts.protocol,
                clean_start: true,
                keep_alive: opts.keep_alive,
                client_id: ByteString::from(opts.client_id.as_str()),
                will: None,
                username: None,
                password: None,
                properties,
            })))?;
            match client.expect_packet().await? {
                Packet::ConnAck(ack) if ack.reason.is_success() => Ok(client),
                Packet::ConnAck(ack) => Err(anyhow!("CONNACK refused: {:?}", ack.reason)),
                other => Err(anyhow!("expected CONNACK, got {:?}", other.packet_type())),
            }
        };
        tokio::time::timeout(opts.timeout, fut)
            .await
            .map_err(|_| anyhow!("connect to {} timed out", opts.addr))?
    }

    /// The protocol level in use.
    pub fn protocol_level(&self) -> Protocol {
        self.protocol
    }

    /// Subscribes to one filter and waits for a granting SUBACK, within `timeout`.
    pub async fn subscribe(&mut self, filter: &str, qos: QoS, timeout: Duration) -> Result<()> {
        let filter = TopicFilter::new(filter).map_err(|e| anyhow!("filter {filter}: {e}"))?;
        let packet_id = PacketId::new(1).ok_or_else(|| anyhow!("packet id"))?;
        self.queue(&Packet::Subscribe(Subscribe {
            packet_id,
            filters: vec![(
                filter,
                SubscriptionOptions {
                    qos,
                    ..Default::default()
                },
            )],
            properties: Properties::default(),
        }))?;
        let ack = tokio::time::timeout(timeout, self.expect_packet())
            .await
            .map_err(|_| anyhow!("SUBACK timed out"))??;
        match ack {
            Packet::SubAck(s) if s.reasons.iter().all(|r| r.0 < 0x80) => Ok(()),
            Packet::SubAck(s) => Err(anyhow!("subscription refused: {:?}", s.reasons)),
            other => Err(anyhow!("expected SUBACK, got {:?}", other.packet_type())),
        }
    }

    /// Encodes a packet into the write buffer; [`Client::step`] or [`Client::flush`] sends it.
    pub fn queue(&mut self, packet: &Packet) -> Result<()> {
        encode_packet(packet, self.protocol, &mut self.wbuf).context("encode")
    }

    /// Appends already encoded bytes (a packet template) and returns them for patching.
    pub fn queue_bytes(&mut self, bytes: &[u8]) -> &mut [u8] {
        let start = self.wbuf.len();
        self.wbuf.extend_from_slice(bytes);
        &mut self.wbuf[start..]
    }

    /// Bytes waiting to be written.
    pub fn pending_write(&self) -> usize {
        self.wbuf.len()
    }

    /// The next complete packet already read, if any.
    pub fn next_packet(&mut self) -> Result<Option<Packet>> {
        self.decoder.decode(&mut self.rbuf).context("decode")
    }

    /// Writes what is queued and reads what arrives until some bytes were read or `wake`
    /// finishes. The broker closing the connection is an error.
    pub async fn step(&mut self, wake: impl Future<Output = ()>) -> Result<Step> {
        tokio::pin!(wake);
        loop {
            if self.rbuf.capacity() - self.rbuf.len() < 4096 {
                self.rbuf.reserve(64 * 1024);
            }
            let writing = !self.wbuf.is_empty();
            let flushing = !writing && self.unflushed;
            let (wr, wbuf) = (&mut self.wr, &self.wbuf);
            // Writes what is queued, or (TLS) pushes out what the session still holds.
            let output = async move {
                if writing {
                    wr.write(wbuf).await.map(Some)
                } else {
                    wr.flush().await.map(|()| None)
                }
            };
            tokio::select! {
                biased;
                n = self.rd.read_buf(&mut self.rbuf) => {
                    if n.context("read")? == 0 {
                        bail!("connection closed by the broker");
                    }
                    return Ok(Step::Read);
                }
                n = output, if writing || flushing => {
                    match n.context("write")? {
                        Some(0) => bail!("write returned 0"),
                        Some(n) => {
                            self.wbuf.advance(n);
                            self.unflushed = self.tls;
                        }
                        None => self.unflushed = false,
                    }
                }
                () = &mut wake => return Ok(Step::Woken),
            }
        }
    }

    /// Writes what is queued now, in as many system calls as the socket needs (one for a
    /// packet that fits its buffer), without reading.
    pub async fn write_now(&mut self) -> Result<()> {
        while !self.wbuf.is_empty() {
            let n = self.wr.write(&self.wbuf).await.context("write")?;
            if n == 0 {
                bail!("write returned 0");
            }
            self.wbuf.advance(n);
        }
        if self.tls {
            self.wr.flush().await.context("flush")?;
        }
        Ok(())
    }

    /// Writes everything queued within `timeout`, reading (and keeping) what arrives meanwhile.
    pub async fn flush(&mut self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.wbuf.is_empty() || self.unflushed {
            if self.step(tokio::time::sleep_until(deadline)).await? == Step::Woken {
                bail!("flush timed out");
            }
        }
        Ok(())
    }

    /// Sends DISCONNECT and closes, giving up silently after a second.
    pub async fn disconnect(mut self) {
        let disconnect = Packet::Disconnect(Default::default());
        if self.queue(&disconnect).is_ok() {
            let _ = self.flush(Duration::from_secs(1)).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.wr.shutdown()).await;
    }

    /// Reads until one whole packet is decoded (no timeout: callers wrap it).
    async fn expect_packet(&mut self) -> Result<Packet> {
        loop {
            if let Some(p) = self.next_packet()? {
                return Ok(p);
            }
            self.step(std::future::pending()).await?;
        }
    }
}

/// Connects every client, at most 64 handshakes at a time, keeping their order.
pub async fn connect_many(opts: Vec<ConnectOptions>) -> Result<Vec<Client>> {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, o) in opts.into_iter().enumerate() {
        let sem = sem.clone();
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await?;
            Client::connect(&o).await.map(|c| (i, c))
        });
    }
    let mut out: Vec<Option<Client>> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, c) = joined.context("connect task panicked")??;
        if out.len() <= i {
            out.resize_with(i + 1, || None);
        }
        out[i] = Some(c);
    }
    out.into_iter()
        .map(|c| c.context("a client is missing"))
        .collect()
}
