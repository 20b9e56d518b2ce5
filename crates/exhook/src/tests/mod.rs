//! The manager against in-process tonic `HookProvider` servers (helpers here): `verdicts` (load
//! and registration, verdicts reaching the hook registry, probing, load failures) and `lifecycle`
//! (loss and reload, down at start, ordering, disable / unload, sync notifications). The
//! end-to-end tests with Python grpcio servers and real MQTT clients are `tests/test_exhook_*.py`.

mod lifecycle;
mod verdicts;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hookmq_codec::{QoS, TopicName};
use hookmq_hooks::{
    Action, AuthResult, ClientInfo, Event, HookPoint, Hooks, Message, Position, PublishOutcome,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use crate::proto::{v1, v3 as pb};
use crate::{AutoReconnect, FailedActionConfig, test_events};
use crate::{
    BrokerInfo, ExhookManager, ProtoSetting, ProtoVersion, ServerConfig, Status as Health,
};

pub(super) fn info() -> BrokerInfo {
    BrokerInfo {
        node: "hookmq@127.0.0.1".into(),
        version: "0.1.0".into(),
        sysdescr: "hookmq".into(),
        started_at: SystemTime::now(),
        cluster_name: "hookmq".into(),
    }
}

pub(super) fn spec(name: &str, topics: &[&str]) -> pb::HookSpec {
    pb::HookSpec {
        name: name.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
    }
}

/// A v3 server: allows user `alice`, topics under `ok/`, upper-cases payloads, drops `drop/#`,
/// reports notifications and unloads on `seen`.
#[derive(Clone)]
pub(super) struct V3 {
    hooks: Vec<pb::HookSpec>,
    seen: mpsc::UnboundedSender<String>,
}

#[tonic::async_trait]
impl pb::hook_provider_server::HookProvider for V3 {
    async fn on_provider_loaded(
        &self,
        req: Request<pb::ProviderLoadedRequest>,
    ) -> Result<Response<pb::LoadedResponse>, Status> {
        let r = req.into_inner();
        assert_eq!(r.meta.unwrap().node, "hookmq@127.0.0.1");
        assert_eq!(r.broker.unwrap().version, "0.1.0");
        Ok(Response::new(pb::LoadedResponse {
            hooks: self.hooks.clone(),
        }))
    }

    async fn on_provider_unloaded(
        &self,
        _req: Request<pb::ProviderUnloadedRequest>,
    ) -> Result<Response<pb::EmptySuccess>, Status> {
        let _ = self.seen.send("unloaded".into());
        Ok(Response::new(pb::EmptySuccess {}))
    }

    async fn on_client_authenticate(
        &self,
        req: Request<pb::ClientAuthenticateRequest>,
    ) -> Result<Response<pb::ValuedResponse>, Status> {
        let ci = req.into_inner().clientinfo.unwrap_or_default();
        Ok(Response::new(valued(
            ci.username == "alice" && ci.password == "pw",
        )))
    }

    async fn on_client_authorize(
        &self,
        req: Request<pb::ClientAuthorizeRequest>,
    ) -> Result<Response<pb::ValuedResponse>, Status> {
        Ok(Response::new(valued(
            req.into_inner().topic.starts_with("ok/"),
        )))
    }

    async fn on_message_publish(
        &self,
        req: Request<pb::MessagePublishRequest>,
    ) -> Result<Response<pb::ValuedResponse>, Status> {
        let mut m = req.into_inner().message.unwrap_or_default();
        if m.topic.starts_with("drop/") {
            m.headers.insert("allow_publish".into(), "false".into());
        }
        m.payload = Bytes::from(m.payload.to_ascii_uppercase());
        Ok(Response::new(pb::ValuedResponse {
            r#type: pb::valued_response::ResponsedType::Continue as i32,
            value: Some(pb::valued_response::Value::Message(m)),
        }))
    }

    async fn on_client_connected(
        &self,
        req: Request<pb::ClientConnectedRequest>,
    ) -> Result<Response<pb::EmptySuccess>, Status> {
        let ci = req.into_inner().clientinfo.unwrap_or_default();
        let _ = self.seen.send(format!("connected:{}", ci.clientid));
        Ok(Response::new(pb::EmptySuccess {}))
    }
}

pub(super) fn valued(allow: bool) -> pb::ValuedResponse {
    pb::ValuedResponse {
        r#type: pb::valued_response::ResponsedType::StopAndReturn as i32,
        value: Some(pb::valued_response::Value::BoolResult(allow)),
    }
}

/// A v1-only server (EMQX 4.x generation) that allows everything.
pub(super) struct V1;

#[tonic::async_trait]
impl v1::hook_provider_server::HookProvider for V1 {
    async fn on_provider_loaded(
        &self,
        req: Request<v1::ProviderLoadedRequest>,
    ) -> Result<Response<v1::LoadedResponse>, Status> {
        assert!(req.into_inner().broker.unwrap().uptime.ends_with("seconds"));
        Ok(Response::new(v1::LoadedResponse {
            hooks: vec![v1::HookSpec {
                name: "client.check_acl".into(),
                topics: vec![],
            }],
        }))
    }

    async fn on_client_check_acl(
        &self,
        req: Request<v1::ClientCheckAclRequest>,
    ) -> Result<Response<v1::ValuedResponse>, Status> {
        let allow = req.into_inner().topic == "v1/ok";
        Ok(Response::new(v1::ValuedResponse {
            r#type: v1::valued_response::ResponsedType::StopAndReturn as i32,
            value: Some(v1::valued_response::Value::BoolResult(allow)),
        }))
    }
}

/// A running test server.
pub(super) struct Running {
    pub(super) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Shuts the server down, closing its connections.
    pub(super) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

pub(super) async fn serve_on(
    addr: SocketAddr,
    router: tonic::transport::server::Router,
) -> Running {
    let listener = TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = TcpIncoming::from(listener);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = router
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await;
    });
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

pub(super) async fn serve_v3(
    addr: SocketAddr,
    hooks: Vec<pb::HookSpec>,
) -> (Running, mpsc::UnboundedReceiver<String>) {
    let (seen, rx) = mpsc::unbounded_channel();
    let svc = pb::hook_provider_server::HookProviderServer::new(V3 { hooks, seen });
    (
        serve_on(addr, tonic::transport::Server::builder().add_service(svc)).await,
        rx,
    )
}

pub(super) fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub(super) fn config(name: &str, addr: SocketAddr) -> ServerConfig {
    let mut c = ServerConfig::new(name, format!("http://{addr}"));
    c.pool_size = 2;
    c.request_timeout = crate::ConfigDuration(Duration::from_secs(2));
    c
}

pub(super) fn client(username: &str, password: &str) -> Arc<ClientInfo> {
    let mut ci = ClientInfo::clone(&test_events::clientinfo());
    ci.username = Some(username.into());
    ci.password = Some(Bytes::copy_from_slice(password.as_bytes()));
    Arc::new(ci)
}

pub(super) const ALLOW: AuthResult = AuthResult::Allow { superuser: false };

pub(super) fn message(topic: &str) -> Arc<Message> {
    Arc::new(Message::new(
        "c1".into(),
        TopicName::new(topic).unwrap(),
        Bytes::from_static(b"hi"),
        QoS::AtLeastOnce,
        false,
    ))
}
