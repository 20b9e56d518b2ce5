//! Loss and reload, down at start, order, unload, sync notifications.

use std::sync::Arc;
use std::time::Duration;

use super::*;

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
