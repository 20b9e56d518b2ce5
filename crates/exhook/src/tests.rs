//! The manager against in-process tonic `HookProvider` servers: load and registration, the
//! verdicts reaching the hook registry, protocol probing, load failures, loss and reload,
//! disable / unload, ordering. (The end-to-end tests with Python grpcio servers and real MQTT
//! clients are in `tests/test_exhook_*.py`.)

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

fn info() -> BrokerInfo {
    BrokerInfo {
        node: "hookmq@127.0.0.1".into(),
        version: "0.1.0".into(),
        sysdescr: "hookmq".into(),
        started_at: SystemTime::now(),
        cluster_name: "hookmq".into(),
    }
}

fn spec(name: &str, topics: &[&str]) -> pb::HookSpec {
    pb::HookSpec {
        name: name.into(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
    }
}

/// A v3 server: allows user `alice`, topics under `ok/`, upper-cases payloads, drops `drop/#`,
/// reports notifications and unloads on `seen`.
#[derive(Clone)]
struct V3 {
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

fn valued(allow: bool) -> pb::ValuedResponse {
    pb::ValuedResponse {
        r#type: pb::valued_response::ResponsedType::StopAndReturn as i32,
        value: Some(pb::valued_response::Value::BoolResult(allow)),
    }
}

/// A v1-only server (EMQX 4.x generation) that allows everything.
struct V1;

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
struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Shuts the server down, closing its connections.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

async fn serve_on(addr: SocketAddr, router: tonic::transport::server::Router) -> Running {
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

async fn serve_v3(
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

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn config(name: &str, addr: SocketAddr) -> ServerConfig {
    let mut c = ServerConfig::new(name, format!("http://{addr}"));
    c.pool_size = 2;
    c.request_timeout = crate::ConfigDuration(Duration::from_secs(2));
    c
}

fn client(username: &str, password: &str) -> Arc<ClientInfo> {
    let mut ci = ClientInfo::clone(&test_events::clientinfo());
    ci.username = Some(username.into());
    ci.password = Some(Bytes::copy_from_slice(password.as_bytes()));
    Arc::new(ci)
}

const ALLOW: AuthResult = AuthResult::Allow { superuser: false };

fn message(topic: &str) -> Arc<Message> {
    Arc::new(Message::new(
        "c1".into(),
        TopicName::new(topic).unwrap(),
        Bytes::from_static(b"hi"),
        QoS::AtLeastOnce,
        false,
    ))
}

#[tokio::test]
async fn a_loaded_server_decides_rewrites_and_hears_notifications() {
    let hooks_wanted = vec![
        spec("client.authenticate", &[]),
        spec("client.authorize", &[]),
        spec("message.publish", &["t/#", "drop/#"]),
        spec("client.connected", &[]),
    ];
    let (srv, mut seen) = serve_v3(any_port(), hooks_wanted).await;
    let hooks = Arc::new(Hooks::new());
    let mgr = ExhookManager::start(vec![config("s1", srv.addr)], hooks.clone(), info())
        .await
        .unwrap();
    let st = mgr.get("s1").unwrap();
    assert_eq!(
        (st.status, st.proto, st.registered),
        (Health::Connected, Some(ProtoVersion::V3), true)
    );
    let names: Vec<_> = st.hooks.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "client.authenticate",
            "client.authorize",
            "message.publish",
            "client.connected"
        ]
    );
    assert_eq!(st.hooks[2].topics, ["t/#", "drop/#"]);
    assert!(hooks.has(HookPoint::ClientAuthenticate) && !hooks.has(HookPoint::SessionCreated));

    assert!(
        hooks
            .authenticate(client("alice", "pw"), ALLOW)
            .await
            .is_allowed()
    );
    assert!(
        !hooks
            .authenticate(client("alice", "bad"), ALLOW)
            .await
            .is_allowed()
    );
    let ci = client("alice", "pw");
    assert!(
        hooks
            .authorize(&ci, Action::Publish, &"ok/1".into(), false)
            .await
    );
    assert!(
        !hooks
            .authorize(&ci, Action::Subscribe, &"no/1".into(), true)
            .await
    );

    match hooks.publish(message("t/1")).await {
        PublishOutcome::Publish(m) => assert_eq!(&m.payload[..], b"HI"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        hooks.publish(message("drop/1")).await,
        PublishOutcome::Drop { .. }
    ));
    // Not matching the server's filters: not sent, unchanged.
    match hooks.publish(message("other")).await {
        PublishOutcome::Publish(m) => assert_eq!(&m.payload[..], b"hi"),
        other => panic!("{other:?}"),
    }

    hooks
        .notify(Event::ClientConnected {
            clientinfo: ci.clone(),
            conninfo: test_events::conninfo(),
        })
        .await;
    let got = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some("connected:c1"));

    let stats = mgr.stats();
    let auth = &stats[0].hooks[0].metrics;
    assert_eq!(
        (auth.calls, auth.succeed, auth.stopped, auth.failed),
        (2, 2, 2, 0)
    );
    assert_eq!(stats[0].hooks[2].metrics.calls, 2);

    mgr.disable("s1").await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some("unloaded"));
    assert!(!hooks.has(HookPoint::ClientAuthenticate));
    assert_eq!(mgr.get("s1").unwrap().status, Health::Disabled);
    mgr.enable("s1").await.unwrap();
    assert!(hooks.has(HookPoint::ClientAuthenticate));
    mgr.stop().await;
    assert!(!hooks.has(HookPoint::ClientAuthenticate));
    srv.stop().await;
}

#[tokio::test]
async fn auto_probes_down_to_v1() {
    let svc = v1::hook_provider_server::HookProviderServer::new(V1);
    let srv = serve_on(
        any_port(),
        tonic::transport::Server::builder().add_service(svc),
    )
    .await;
    let hooks = Arc::new(Hooks::new());
    let mgr = ExhookManager::start(vec![config("old", srv.addr)], hooks.clone(), info())
        .await
        .unwrap();
    let st = mgr.get("old").unwrap();
    assert_eq!(st.proto, Some(ProtoVersion::V1));
    assert_eq!(st.hooks[0].name, "client.check_acl");
    let ci = client("u", "p");
    assert!(
        hooks
            .authorize(&ci, Action::Publish, &"v1/ok".into(), false)
            .await
    );
    assert!(
        !hooks
            .authorize(&ci, Action::Publish, &"v1/no".into(), true)
            .await
    );

    // Pinned to v3, the same server does not load.
    let mut pinned = config("pinned", srv.addr);
    pinned.proto = ProtoSetting::V3;
    let st = mgr.add(pinned).await.unwrap();
    assert_eq!(st.status, Health::Disconnected);
    assert!(st.last_error.unwrap().contains("Unimplemented"), "status");
    mgr.stop().await;
    srv.stop().await;
}

#[tokio::test]
async fn unknown_hooks_fail_the_load_and_nothing_is_registered() {
    let (srv, _seen) = serve_v3(
        any_port(),
        vec![spec("client.authenticate", &[]), spec("client.boot", &[])],
    )
    .await;
    let hooks = Arc::new(Hooks::new());
    let mut c = config("bad", srv.addr);
    c.auto_reconnect = AutoReconnect(None);
    let mgr = ExhookManager::start(vec![c], hooks.clone(), info())
        .await
        .unwrap();
    let st = mgr.get("bad").unwrap();
    assert_eq!((st.status, st.registered), (Health::Disconnected, false));
    assert!(
        st.last_error
            .unwrap()
            .contains("unknown hook \"client.boot\"")
    );
    assert!(!hooks.has(HookPoint::ClientAuthenticate));
    srv.stop().await;
}

#[tokio::test]
async fn a_lost_server_keeps_its_hooks_so_failed_action_applies_then_reloads() {
    let (srv, _seen) = serve_v3(any_port(), vec![spec("client.authenticate", &[])]).await;
    let addr = srv.addr;
    let hooks = Arc::new(Hooks::new());
    let mut c = config("auth", addr);
    c.auto_reconnect = AutoReconnect(Some(Duration::from_millis(200)));
    let mgr = ExhookManager::start(vec![c], hooks.clone(), info())
        .await
        .unwrap();
    assert!(
        hooks
            .authenticate(client("alice", "pw"), ALLOW)
            .await
            .is_allowed()
    );

    srv.stop().await;
    // Down: the call fails and the default failed_action (deny) refuses the login.
    assert!(
        !hooks
            .authenticate(client("alice", "pw"), ALLOW)
            .await
            .is_allowed()
    );
    assert!(mgr.get("auth").unwrap().registered);

    let (_srv2, _seen2) = serve_v3(
        addr,
        vec![
            spec("client.authenticate", &[]),
            spec("client.authorize", &[]),
        ],
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let st = mgr.get("auth").unwrap();
        if st.status == Health::Connected && st.hooks.len() == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reloaded: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(hooks.has(HookPoint::ClientAuthorize));
    assert!(
        hooks
            .authenticate(client("alice", "pw"), ALLOW)
            .await
            .is_allowed()
    );
    mgr.stop().await;
}

#[tokio::test]
async fn ignore_skips_a_dead_server_and_order_follows_moves() {
    let (a, _sa) = serve_v3(any_port(), vec![spec("client.authorize", &[])]).await;
    let (b, _sb) = serve_v3(any_port(), vec![spec("client.authorize", &[])]).await;
    let hooks = Arc::new(Hooks::new());
    let mut cb = config("b", b.addr);
    cb.failed_action = FailedActionConfig::Ignore;
    let mgr = ExhookManager::start(vec![config("a", a.addr), cb], hooks.clone(), info())
        .await
        .unwrap();
    assert_eq!(
        hooks.handler_names(HookPoint::ClientAuthorize),
        ["exhook:a", "exhook:b"]
    );
    mgr.move_to("b", Position::Front).await.unwrap();
    assert_eq!(
        hooks.handler_names(HookPoint::ClientAuthorize),
        ["exhook:b", "exhook:a"]
    );
    mgr.move_to("b", Position::After("a".into())).await.unwrap();
    assert_eq!(
        hooks.handler_names(HookPoint::ClientAuthorize),
        ["exhook:a", "exhook:b"]
    );
    assert_eq!(
        mgr.list()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(
        mgr.move_to("b", Position::Before("zz".into()))
            .await
            .is_err()
    );

    // b (failed_action = ignore) first and dead: skipped, a decides.
    mgr.move_to("b", Position::Front).await.unwrap();
    b.stop().await;
    let ci = client("u", "p");
    assert!(
        hooks
            .authorize(&ci, Action::Publish, &"ok/x".into(), false)
            .await
    );
    assert!(
        !hooks
            .authorize(&ci, Action::Publish, &"no/x".into(), true)
            .await
    );
    let st = &mgr.stats()[0];
    assert_eq!(st.name, "b");
    assert!(st.total.failed >= 2, "{st:?}");

    mgr.remove("b").await.unwrap();
    assert_eq!(
        hooks.handler_names(HookPoint::ClientAuthorize),
        ["exhook:a"]
    );
    assert!(mgr.get("b").is_err());
    mgr.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_server_down_at_start_does_not_block_and_loads_when_it_comes() {
    // Reserve a port, then free it so nothing listens there.
    let addr = TcpListener::bind(any_port())
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let hooks = Arc::new(Hooks::new());
    let mut c = config("late", addr);
    c.auto_reconnect = AutoReconnect(Some(Duration::from_millis(200)));
    let mgr = ExhookManager::start(vec![c], hooks.clone(), info())
        .await
        .unwrap();
    let st = mgr.get("late").unwrap();
    assert_eq!((st.status, st.registered), (Health::Disconnected, false));
    assert!(st.last_error.unwrap().contains("cannot connect"));
    let (_srv, _seen) = serve_v3(addr, vec![spec("client.authenticate", &[])]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while mgr.get("late").unwrap().status != Health::Connected {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(hooks.has(HookPoint::ClientAuthenticate));
    mgr.stop().await;
}

#[tokio::test]
async fn notify_sync_awaits_the_server_before_the_broker_goes_on() {
    let (srv, mut seen) = serve_v3(any_port(), vec![spec("client.connected", &[])]).await;
    let hooks = Arc::new(Hooks::new());
    let mut c = config("sync", srv.addr);
    c.notify = crate::NotifyMode::Sync;
    let mgr = ExhookManager::start(vec![c], hooks.clone(), info())
        .await
        .unwrap();
    for i in 0..3 {
        let mut ci = ClientInfo::clone(&test_events::clientinfo());
        ci.clientid = format!("c{i}").into();
        hooks
            .notify(Event::ClientConnected {
                clientinfo: Arc::new(ci),
                conninfo: test_events::conninfo(),
            })
            .await;
        // Inline dispatch: the server has answered (so recorded the event) when notify returns.
        assert_eq!(seen.try_recv().ok(), Some(format!("connected:c{i}")));
    }
    mgr.stop().await;
    srv.stop().await;
}
