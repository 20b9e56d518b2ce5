//! The connections to one server: `pool_size` HTTP/2 channels, each a tonic [`Channel`] over our
//! own connector (TCP, optionally TLS) that records whether its connection is up, so the manager's
//! health check sees a server that went away even when no call is being made. A client's events
//! always use the same channel (hash of the client id), so they reach the server in order.

use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::codegen::http::Uri;
use tonic::transport::{Channel, Endpoint};

use crate::config::{SslConfig, check_url};
use crate::tls;

/// How long opening one connection may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to connect.
struct Target {
    host: String,
    port: u16,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Target {
    fn new(url: &str, ssl: &SslConfig) -> Result<(Target, Uri), String> {
        let uri = check_url(url)?;
        let https = uri.scheme_str() == Some("https") || ssl.enable;
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = if https {
            let cfg = tls::client_config(ssl)?;
            Some((TlsConnector::from(cfg), tls::server_name(ssl, &host)?))
        } else {
            None
        };
        Ok((Target { host, port, tls }, uri))
    }

    async fn connect(&self) -> io::Result<Stream> {
        let open = async {
            let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
            for addr in tokio::net::lookup_host((self.host.as_str(), self.port)).await? {
                let socket = if addr.is_ipv4() {
                    TcpSocket::new_v4()?
                } else {
                    TcpSocket::new_v6()?
                };
                socket.set_keepalive(true)?;
                match socket.connect(addr).await {
                    Ok(tcp) => return Ok(tcp),
                    Err(e) => last = e,
                }
            }
            Err(last)
        };
        let tcp: TcpStream = tokio::time::timeout(CONNECT_TIMEOUT, open)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Stream::Plain(tcp)),
            Some((connector, name)) => {
                let tls =
                    tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name.clone(), tcp))
                        .await
                        .map_err(|_| {
                            io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
                        })??;
                Ok(Stream::Tls(Box::new(tls)))
            }
        }
    }
}

/// Whether one channel's connection is up: the id of the live connection, 0 when none.
#[derive(Debug, Default)]
struct Link {
    live: AtomicU64,
    next: AtomicU64,
}

impl Link {
    fn opened(&self) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.live.store(id, Ordering::Release);
        id
    }

    fn closed(&self, id: u64) {
        let _ = self
            .live
            .compare_exchange(id, 0, Ordering::AcqRel, Ordering::Relaxed);
    }

    fn is_up(&self) -> bool {
        self.live.load(Ordering::Acquire) != 0
    }
}

/// A TCP or TLS stream.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A stream that marks its [`Link`] down on end of stream, error or drop.
struct Monitored {
    inner: Stream,
    link: Arc<Link>,
    id: u64,
}

impl Monitored {
    fn check<T>(&self, r: &Poll<io::Result<T>>) {
        if matches!(r, Poll::Ready(Err(_))) {
            self.link.closed(self.id);
        }
    }
}

impl Drop for Monitored {
    fn drop(&mut self) {
        self.link.closed(self.id);
    }
}

impl AsyncRead for Monitored {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let wanted = buf.remaining() > 0;
        let r = match &mut self.inner {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if matches!(r, Poll::Ready(Ok(()))) && wanted && buf.filled().len() == before {
            // End of stream: the server closed the connection.
            self.link.closed(self.id);
        }
        self.check(&r);
        r
    }
}

impl AsyncWrite for Monitored {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = match &mut self.inner {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, data),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        };
        self.check(&r);
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = match &mut self.inner {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        };
        self.check(&r);
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.link.closed(self.id);
        match &mut self.inner {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The connector tonic calls for each (re)connection of one channel.
#[derive(Clone)]
struct Connector {
    target: Arc<Target>,
    link: Arc<Link>,
}

impl tower::Service<Uri> for Connector {
    type Response = TokioIo<Monitored>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let target = self.target.clone();
        let link = self.link.clone();
        Box::pin(async move {
            let inner = target.connect().await?;
            let id = link.opened();
            Ok(TokioIo::new(Monitored { inner, link, id }))
        })
    }
}

/// `pool_size` channels to one server. Shared with hookmq's own stream protocol driver
/// (`crates/ext`), which opens one bidirectional stream on each channel.
pub struct Pool {
    channels: Vec<(Channel, Arc<Link>)>,
}

impl Pool {
    /// Opens `size` channels to `url` (TLS per `ssl` for `https://` URLs); fails if any
    /// connection cannot be made. Errors name the offending `ssl` key or the connect failure.
    pub async fn connect(url: &str, ssl: &SslConfig, size: usize) -> Result<Pool, String> {
        let (target, uri) = Target::new(url, ssl)?;
        let target = Arc::new(target);
        // tonic connects through our connector, so the endpoint URI only names the origin
        // (`:scheme` and `:authority` of each request).
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let endpoint = Endpoint::from_shared(format!("http://{authority}"))
            .map_err(|e| format!("url: {e}"))?
            .origin(uri.clone())
            .connect_timeout(CONNECT_TIMEOUT);
        let opening = (0..size.max(1)).map(|_| {
            let link = Arc::new(Link::default());
            let connector = Connector {
                target: target.clone(),
                link: link.clone(),
            };
            let endpoint = endpoint.clone();
            async move {
                endpoint
                    .connect_with_connector(connector)
                    .await
                    .map(|ch| (ch, link))
            }
        });
        let channels = futures_util::future::try_join_all(opening)
            .await
            .map_err(|e| connect_error(&e))?;
        Ok(Pool { channels })
    }

    /// The channel for a client's events.
    pub(crate) fn pick(&self, clientid: &str) -> Channel {
        self.channels[affinity(clientid, self.channels.len())]
            .0
            .clone()
    }

    /// The channel for calls that belong to no client (load, unload).
    pub(crate) fn first(&self) -> Channel {
        self.channels[0].0.clone()
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Always false: a pool has at least one channel.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// Channel `i` (modulo the pool size).
    pub fn channel(&self, i: usize) -> Channel {
        self.channels[i % self.channels.len()].0.clone()
    }

    /// Whether channel `i`'s connection is up.
    pub fn is_up(&self, i: usize) -> bool {
        self.channels[i % self.channels.len()].1.is_up()
    }

    /// Whether every channel's connection is up.
    pub fn all_up(&self) -> bool {
        self.channels.iter().all(|(_, link)| link.is_up())
    }
}

/// Which of `n` connections a client's events use: the same one for the client's whole life, so
/// they reach the server in order (EMQX's key dispatch by client id).
pub fn affinity(clientid: &str, n: usize) -> usize {
    let mut h = DefaultHasher::new();
    clientid.hash(&mut h);
    (h.finish() as usize) % n.max(1)
}

/// The innermost cause of a connection failure (tonic wraps it twice).
fn connect_error(e: &tonic::transport::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    format!("cannot connect: {source}")
}
