//! A no-op `emqx.exhook.v3` `HookProvider` server in Rust, for measuring the broker's side of
//! the gRPC exhook: it registers `message.publish` (answering IGNORE) and `client.authenticate`
//! (answering allow), answers every other call with `EmptySuccess`, and does as little as gRPC
//! allows (requests are not even decoded), so the server is not what limits calls per second.
//! `bench/exhook_noop_server.py` is the same server in Python `grpcio`.
//!
//! ```text
//! cargo run --release -p hookmq-exhook --example noop_server -- 127.0.0.1:9100 [hooks]
//! ```
//!
//! `hooks` is a comma-separated list (default `message.publish,client.authenticate`). The
//! server runs on a one-thread tokio runtime; pin it with `taskset` to keep it off the broker's
//! core.

use std::convert::Infallible;
use std::error::Error;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use hookmq_exhook::proto::v3 as pb;
use prost::Message as _;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

/// The answers, encoded once.
#[derive(Clone)]
struct Noop {
    loaded: Bytes,
    ignore: Bytes,
    allow: Bytes,
    empty: Bytes,
}

impl Noop {
    fn new(hooks: &str) -> Noop {
        let hooks = hooks
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| pb::HookSpec {
                name: h.to_owned(),
                topics: Vec::new(),
            })
            .collect();
        let valued = |kind: pb::valued_response::ResponsedType, value| {
            Bytes::from(
                pb::ValuedResponse {
                    r#type: kind as i32,
                    value,
                }
                .encode_to_vec(),
            )
        };
        Noop {
            loaded: Bytes::from(pb::LoadedResponse { hooks }.encode_to_vec()),
            ignore: valued(pb::valued_response::ResponsedType::Ignore, None),
            allow: valued(
                pb::valued_response::ResponsedType::StopAndReturn,
                Some(pb::valued_response::Value::BoolResult(true)),
            ),
            empty: Bytes::new(),
        }
    }

    fn answer(&self, path: &str) -> Bytes {
        match path.rsplit('/').next() {
            Some("OnProviderLoaded") => self.loaded.clone(),
            Some("OnMessagePublish") => self.ignore.clone(),
            Some("OnClientAuthenticate") => self.allow.clone(),
            _ => self.empty.clone(),
        }
    }
}

impl NamedService for Noop {
    const NAME: &'static str = "emqx.exhook.v3.HookProvider";
}

impl tower::Service<http::Request<tonic::body::Body>> for Noop {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send + 'static>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let answer = Fixed(self.answer(req.uri().path()));
        Box::pin(async move { Ok(Grpc::new(RawCodec).unary(answer, req).await) })
    }
}

/// Answers one pre-encoded reply to whatever comes.
struct Fixed(Bytes);

impl UnaryService<()> for Fixed {
    type Response = Bytes;
    type Future = Ready<Result<Response<Bytes>, Status>>;

    fn call(&mut self, _request: Request<()>) -> Self::Future {
        ready(Ok(Response::new(self.0.clone())))
    }
}

/// Skips requests; sends replies as they are.
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = SkipDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> SkipDecoder {
        SkipDecoder(PhantomData)
    }
}

struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

struct SkipDecoder(PhantomData<()>);

impl Decoder for SkipDecoder {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        let n = src.remaining();
        src.advance(n);
        Ok(Some(()))
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let addr: std::net::SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:9100").parse()?;
    let hooks = args
        .next()
        .unwrap_or_else(|| "message.publish,client.authenticate".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        eprintln!(
            "exhook noop server (Rust) on {} hooks={hooks}",
            listener.local_addr()?
        );
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        tonic::transport::Server::builder()
            .add_service(Noop::new(&hooks))
            .serve_with_incoming(incoming)
            .await?;
        Ok(())
    })
}
