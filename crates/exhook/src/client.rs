//! The gRPC client of one loaded server: the load handshake (with `proto = "auto"` probing),
//! hook calls and unload. Requests are pre-encoded bytes (`request.rs`) sent on the version's
//! path; replies are decoded as v3 messages, whose fields every version shares.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes};
use hookmq_hooks::{Event, HookError, HookPoint, PointKind, PointSpec, Verdict};
use tokio::sync::Notify;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::config::{ProtoSetting, ServerConfig};
use crate::pool::Pool;
use crate::proto::v3 as pb;
use crate::request::{self, RequestContext};
use crate::version::{Paths, ProtoVersion};
use crate::{BrokerInfo, reply};

/// Deadline of `OnProviderUnloaded`, whatever `request_timeout` is.
pub(crate) const UNLOAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Why loading a server failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LoadError {
    /// The connections could not be opened (or the TLS setup is unusable).
    #[error("{0}")]
    Connect(String),
    /// `OnProviderLoaded` failed.
    #[error("OnProviderLoaded ({version}) failed: {status}")]
    Call {
        /// The version tried last.
        version: ProtoVersion,
        /// The gRPC status.
        status: String,
    },
    /// The server asked for a hook that does not exist.
    #[error("OnProviderLoaded ({version}) returned the unknown hook {name:?}")]
    UnknownHook {
        /// The version answered.
        version: ProtoVersion,
        /// The name.
        name: String,
    },
    /// A topic filter of a message hook is not a valid filter.
    #[error("OnProviderLoaded ({version}) returned the invalid topic filter {filter:?} for {hook}")]
    BadFilter {
        /// The version answered.
        version: ProtoVersion,
        /// The hook.
        hook: HookPoint,
        /// The filter.
        filter: String,
    },
}

/// A loaded server's connections and the version it speaks.
pub(crate) struct Client {
    pool: Pool,
    paths: Paths,
    cx: RequestContext,
    timeout: Duration,
    /// Woken when a call finds the server unavailable, so the health check runs at once.
    trouble: Arc<Notify>,
}

impl Client {
    /// Opens the pool and runs the load handshake; returns the client and the hooks the server
    /// asked for (message hooks with their topic filters).
    pub(crate) async fn load(
        config: &ServerConfig,
        info: &BrokerInfo,
        trouble: Arc<Notify>,
    ) -> Result<(Client, Vec<PointSpec>), LoadError> {
        let pool = Pool::connect(&config.url, &config.ssl, config.pool_size)
            .await
            .map_err(LoadError::Connect)?;
        let versions: &[ProtoVersion] = match config.proto {
            ProtoSetting::Auto => &ProtoVersion::PROBE_ORDER,
            ProtoSetting::V1 => &[ProtoVersion::V1],
            ProtoSetting::V2 => &[ProtoVersion::V2],
            ProtoSetting::V3 => &[ProtoVersion::V3],
        };
        let timeout = config.request_timeout.0;
        for (i, &version) in versions.iter().enumerate() {
            let cx = RequestContext::new(version, info);
            let paths = Paths::new(version);
            let body = request::provider_loaded(&cx, info);
            match unary::<pb::LoadedResponse>(pool.first(), paths.loaded.clone(), body, timeout)
                .await
            {
                Ok(resp) => {
                    let hooks = hook_specs(version, resp)?;
                    let client = Client {
                        pool,
                        paths,
                        cx,
                        timeout,
                        trouble,
                    };
                    return Ok((client, hooks));
                }
                Err(status) if status.code() == Code::Unimplemented && i + 1 < versions.len() => {
                    tracing::debug!(server = %config.name, %version, "OnProviderLoaded unimplemented; trying an older version");
                }
                Err(status) => {
                    return Err(LoadError::Call {
                        version,
                        status: status_text(&status),
                    });
                }
            }
        }
        Err(LoadError::Connect("no protocol version to try".into()))
    }

    /// The version this server speaks.
    pub(crate) fn version(&self) -> ProtoVersion {
        self.cx.version
    }

    /// Whether every connection of the pool is up.
    pub(crate) fn healthy(&self) -> bool {
        self.pool.all_up()
    }

    /// Calls the hook of `event`: valued hooks give the server's verdict, notifications
    /// [`Verdict::Ignore`].
    pub(crate) async fn call(&self, event: Arc<Event>) -> Result<Verdict, HookError> {
        let point = event.point();
        let body = request::encode(&event, &self.cx);
        let channel = self.pool.pick(event.clientid());
        let path = self.paths.hook(point).clone();
        // EMQX's protos answer `client.subscribe` with EmptySuccess: it stays a notification
        // here (the protos are frozen), so exhook servers cannot rewrite subscriptions.
        let kind = match point {
            HookPoint::ClientSubscribe => PointKind::Notification,
            other => other.kind(),
        };
        match kind {
            PointKind::Valued => {
                let resp = unary::<pb::ValuedResponse>(channel, path, body, self.timeout)
                    .await
                    .map_err(|s| self.hook_error(&s))?;
                reply::verdict(&event, resp)
            }
            PointKind::Notification => {
                unary::<pb::EmptySuccess>(channel, path, body, self.timeout)
                    .await
                    .map_err(|s| self.hook_error(&s))?;
                Ok(Verdict::Ignore)
            }
        }
    }

    /// Calls `OnProviderUnloaded` (at most [`UNLOAD_TIMEOUT`]); the answer does not matter.
    pub(crate) async fn unload(&self) {
        let body = request::provider_unloaded(&self.cx);
        let path = self.paths.unloaded.clone();
        if let Err(s) =
            unary::<pb::EmptySuccess>(self.pool.first(), path, body, UNLOAD_TIMEOUT).await
        {
            tracing::debug!(error = %status_text(&s), "OnProviderUnloaded failed");
        }
    }

    fn hook_error(&self, status: &Status) -> HookError {
        match status.code() {
            Code::DeadlineExceeded => HookError::Timeout,
            Code::Unavailable => {
                self.trouble.notify_one();
                HookError::Unavailable(status_text(status))
            }
            _ => HookError::Failed(status_text(status)),
        }
    }
}

/// Reads a `LoadedResponse`: unknown hook names and invalid filters fail the load; a hook listed
/// twice is registered once with the union of its filters; filters of other hooks are ignored.
pub(crate) fn hook_specs(
    version: ProtoVersion,
    resp: pb::LoadedResponse,
) -> Result<Vec<PointSpec>, LoadError> {
    let mut specs: Vec<PointSpec> = Vec::new();
    for hook in resp.hooks {
        let point = version
            .parse_hook(&hook.name)
            .ok_or_else(|| LoadError::UnknownHook {
                version,
                name: hook.name.clone(),
            })?;
        let topics = if point.is_message() {
            hook.topics
        } else {
            Vec::new()
        };
        if let Some(bad) = topics
            .iter()
            .find(|t| hookmq_codec::topic::validate_filter(t).is_err())
        {
            return Err(LoadError::BadFilter {
                version,
                hook: point,
                filter: bad.clone(),
            });
        }
        match specs.iter_mut().find(|s| s.point == point) {
            Some(existing) => {
                // An empty list already means every topic.
                if !existing.topics.is_empty() && !topics.is_empty() {
                    for t in topics {
                        if !existing.topics.contains(&t) {
                            existing.topics.push(t);
                        }
                    }
                } else {
                    existing.topics.clear();
                }
            }
            None => specs.push(PointSpec::all(point).with_topics(topics)),
        }
    }
    Ok(specs)
}

/// `CODE: message (cause)`, e.g. `Unimplemented: Method not found!`: a gRPC status for logs and
/// listings, with the innermost transport cause (a refused connection, a TLS alert).
pub fn status_text(s: &Status) -> String {
    let mut text = format!("{:?}", s.code());
    if !s.message().is_empty() {
        text = format!("{text}: {}", s.message());
    }
    // Transport errors keep their cause (a refused connection, a TLS alert) as the source.
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(s);
    let mut innermost = None;
    while let Some(c) = cause {
        innermost = Some(c);
        cause = c.source();
    }
    if let Some(c) = innermost {
        text = format!("{text} ({c})");
    }
    text
}

/// One unary call of pre-encoded `body` on `path`, bounded by `timeout` (also sent as
/// `grpc-timeout`).
async fn unary<R>(
    channel: Channel,
    path: PathAndQuery,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<R, Status>
where
    R: prost::Message + Default + Send + Sync + 'static,
{
    let call = async move {
        // MQTT payloads may exceed gRPC's customary 4 MiB; the server's own limit still applies.
        let mut grpc = tonic::client::Grpc::new(channel)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(format!("channel not ready: {e}")))?;
        let mut req = tonic::Request::new(Bytes::from(body));
        req.set_timeout(timeout);
        grpc.unary(req, path, RawCodec::<R>(PhantomData))
            .await
            .map(tonic::Response::into_inner)
    };
    match tokio::time::timeout(timeout, call).await {
        Err(_) => Err(Status::deadline_exceeded("request_timeout passed")),
        // tonic's own deadline (from grpc-timeout) reports CANCELLED; it is the same timeout.
        Ok(Err(s))
            if s.code() == Code::Cancelled
                && s.message() == tonic::TimeoutExpired(()).to_string() =>
        {
            Err(Status::deadline_exceeded("request_timeout passed"))
        }
        Ok(result) => result,
    }
}

/// Sends bytes as they are; decodes replies as `R`.
struct RawCodec<R>(PhantomData<R>);

impl<R: prost::Message + Default + Send + 'static> Codec for RawCodec<R> {
    type Encode = Bytes;
    type Decode = R;
    type Encoder = RawEncoder;
    type Decoder = ProstDecoder<R>;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder(PhantomData)
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

struct ProstDecoder<R>(PhantomData<R>);

impl<R: prost::Message + Default> Decoder for ProstDecoder<R> {
    type Item = R;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<R>, Status> {
        R::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("cannot decode the reply: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, topics: &[&str]) -> pb::HookSpec {
        pb::HookSpec {
            name: name.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn loaded_hooks_become_point_specs() {
        let resp = pb::LoadedResponse {
            hooks: vec![
                spec("client.authenticate", &["ignored/#"]),
                spec("client.check_acl", &[]),
                spec("message.publish", &["t/#", "local/1"]),
                spec("message.publish", &["x"]),
                spec("message.delivered", &[]),
                spec("message.delivered", &["y"]),
            ],
        };
        let specs = hook_specs(ProtoVersion::V1, resp).unwrap();
        let got: Vec<_> = specs.iter().map(|s| (s.point, s.topics.clone())).collect();
        assert_eq!(
            got,
            [
                (HookPoint::ClientAuthenticate, vec![]),
                (HookPoint::ClientAuthorize, vec![]),
                (
                    HookPoint::MessagePublish,
                    vec!["t/#".to_string(), "local/1".into(), "x".into()]
                ),
                (HookPoint::MessageDelivered, vec![]),
            ]
        );
    }

    #[test]
    fn unknown_hooks_and_bad_filters_fail_the_load() {
        let e = hook_specs(
            ProtoVersion::V3,
            pb::LoadedResponse {
                hooks: vec![spec("client.boot", &[])],
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "OnProviderLoaded (v3) returned the unknown hook \"client.boot\""
        );
        let e = hook_specs(
            ProtoVersion::V3,
            pb::LoadedResponse {
                hooks: vec![spec("message.acked", &["a/#/b"])],
            },
        )
        .unwrap_err();
        assert!(matches!(e, LoadError::BadFilter { .. }), "{e}");
        assert!(
            hook_specs(ProtoVersion::V2, pb::LoadedResponse::default())
                .unwrap()
                .is_empty()
        );
    }
}
