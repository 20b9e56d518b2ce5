//! Load, registration and verdicts.

use std::sync::Arc;
use std::time::Duration;

use super::*;

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
