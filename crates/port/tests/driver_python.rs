//! The driver end to end with a real worker: `python3` running hookmq's runtime
//! (`runtimes/python`) and a hooks module written against the raw protocol (no SDK), registered
//! with a real hook registry. Covers init (with a pickled state that must come back intact),
//! decisions, message rewrite and drop, topic filters, errors, a `kill -9` with restart and
//! `init()` re-run, load failures, and unload.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hookmq_codec::{Protocol, QoS, ReasonCode, TopicName};
use hookmq_hooks::{
    Action, AuthResult, ClientInfo, HookPoint, Hooks, Message, NodeName, PublishOutcome,
};
use hookmq_port::{DriverConfig, DriverKind, DriversConfig, PortDrivers, PortError};

const HOOKS: &str = r#"
import os
from erlport import erlang
from erlport.erlterms import Atom

STATE = {"opaque": 1}

def init():
    print("init ran in", os.getpid())
    specs = [
        ("client_authenticate", "raw_hooks", "auth"),
        ("client_check_acl", "raw_hooks", "acl"),
        ("message_publish", "raw_hooks", "publish", [("topics", ["t/#"])]),
    ]
    return (0, (specs, STATE))

def deinit():
    return None

def fields(proplist):
    return {k.decode(): v for k, v in proplist}

def auth(clientinfo, acc, state):
    if state != STATE:
        return (1, "state did not round-trip")
    user = fields(clientinfo)["username"]
    if user == b"ok":
        return (0, True)
    if user == b"no":
        return (0, False)
    if user == b"err":
        raise ValueError("boom for " + user.decode())
    if user == b"calls":
        # A call back into the broker gets an error answer (hookmq offers no functions) instead
        # of blocking the worker.
        try:
            erlang.call(Atom(b"emqx"), Atom(b"kick"), [])
        except erlang.ErlangError:
            return (0, False)
        return (0, True)
    return None

def acl(clientinfo, pubsub, topic, acc, state):
    return (0, False) if topic.startswith(b"deny/") else None

def publish(message, state):
    m = fields(message)
    if m["topic"] == b"t/rw":
        return (0, [(Atom(b"topic"), b"t/new"), (Atom(b"payload"), b"P"), (Atom(b"qos"), 0)])
    if m["topic"] == b"t/drop":
        return (0, False)
    return None
"#;

fn workdir(name: &str, hooks: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hookmq-port-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("ext")).unwrap();
    std::fs::write(dir.join("ext/raw_hooks.py"), hooks).unwrap();
    dir
}

fn config(dir: &Path) -> DriversConfig {
    let mut driver = DriverConfig::new("python3", DriverKind::Python3);
    driver.path = vec!["ext".into()];
    driver.init_module = "raw_hooks".into();
    driver.call_timeout = Duration::from_secs(10);
    driver.init_timeout = Duration::from_secs(30);
    let _ = dir;
    DriversConfig {
        runtimes_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../runtimes")
            .display()
            .to_string(),
        conf_file: String::new(),
        drivers: vec![driver],
    }
}

/// Starts the drivers configured for `dir` on a fresh hook registry.
async fn start(dir: &Path) -> (Arc<Hooks>, Arc<PortDrivers>) {
    let hooks = Arc::new(Hooks::new());
    let port = PortDrivers::start(
        config(dir),
        hooks.clone(),
        dir.to_path_buf(),
        NodeName::default(),
    )
    .await
    .unwrap();
    (hooks, port)
}

fn client(username: &str) -> Arc<ClientInfo> {
    Arc::new(ClientInfo {
        node: NodeName::default(),
        clientid: format!("c-{username}").into(),
        username: Some(username.into()),
        password: Some(Bytes::from_static(b"pw")),
        peer: "127.0.0.1:40000".parse::<SocketAddr>().unwrap(),
        sockport: 1883,
        protocol: Protocol::V5,
        mountpoint: None,
        is_superuser: false,
        anonymous: true,
        cn: None,
        dn: None,
        grant: None,
    })
}

fn message(topic: &str) -> Arc<Message> {
    Arc::new(Message::new(
        "c-pub".into(),
        TopicName::new(topic).unwrap(),
        Bytes::from_static(b"payload"),
        QoS::AtLeastOnce,
        false,
    ))
}

async fn auth(hooks: &Hooks, user: &str) -> AuthResult {
    hooks
        .authenticate(client(user), AuthResult::Allow { superuser: false })
        .await
}

/// Waits (bounded) until the driver's single worker runs again after `restarts` restarts.
async fn wait_restarted(port: &PortDrivers, restarts: u64) -> u32 {
    for _ in 0..400 {
        let d = port.driver("python3").unwrap();
        let w = &d.workers[0];
        if w.restarts >= restarts && w.state == "running" {
            return w.pid.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("worker did not come back: {:?}", port.driver("python3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_python_worker_decides_rewrites_and_restarts() {
    let dir = workdir("ok", HOOKS);
    let (hooks, port) = start(&dir).await;
    let status = port.driver("python3").unwrap();
    assert_eq!(status.state, "running", "{status:?}");
    assert!(hooks.has(HookPoint::ClientAuthenticate));
    assert!(!hooks.has(HookPoint::ClientConnect));

    assert!(auth(&hooks, "ok").await.is_allowed());
    assert_eq!(
        auth(&hooks, "no").await,
        AuthResult::Deny(ReasonCode::NOT_AUTHORIZED)
    );
    // An exception and "no decision" both leave the broker's default (failed_action = ignore).
    assert!(auth(&hooks, "err").await.is_allowed());
    assert!(auth(&hooks, "none").await.is_allowed());
    assert_eq!(
        auth(&hooks, "calls").await,
        AuthResult::Deny(ReasonCode::NOT_AUTHORIZED)
    );

    let c = client("ok");
    assert!(
        !hooks
            .authorize(&c, Action::Publish, &"deny/x".into(), true)
            .await
    );
    assert!(
        hooks
            .authorize(&c, Action::Publish, &"ok/x".into(), true)
            .await
    );

    let PublishOutcome::Publish(m) = hooks.publish(message("t/rw")).await else {
        panic!("rewrite expected")
    };
    assert_eq!(
        (m.topic.as_str(), &m.payload[..], m.qos),
        ("t/new", &b"P"[..], QoS::AtMostOnce)
    );
    assert!(matches!(
        hooks.publish(message("t/drop")).await,
        PublishOutcome::Drop { .. }
    ));
    // Outside the spec's topic filter the hook is not called at all.
    let PublishOutcome::Publish(m) = hooks.publish(message("other/drop")).await else {
        panic!()
    };
    assert_eq!(m.topic.as_str(), "other/drop");

    let pid = status.workers[0].pid.unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let new_pid = wait_restarted(&port, 1).await;
    assert_ne!(new_pid, pid);
    // init() ran again: the state is there and decisions work.
    assert!(auth(&hooks, "ok").await.is_allowed());
    assert_eq!(
        auth(&hooks, "no").await,
        AuthResult::Deny(ReasonCode::NOT_AUTHORIZED)
    );
    assert_eq!(port.restart_counts(), [("python3".to_owned(), 1)]);

    port.unload_plugin().await.unwrap();
    assert!(!hooks.has(HookPoint::ClientAuthenticate));
    assert_eq!(port.driver("python3").unwrap().state, "stopped");
    assert!(matches!(
        port.unload_plugin().await,
        Err(PortError::Refused(_))
    ));
    let report = port.load_plugin().await.unwrap();
    assert_eq!(report.started, ["python3"]);
    assert!(port.load_plugin().await.unwrap().already_loaded);
    port.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_failures_say_which_and_why() {
    let cases = [
        ("syntax", "def init(:\n", "SyntaxError"),
        (
            "raises",
            "def init():\n    raise RuntimeError('no database')\n",
            "RuntimeError: no database",
        ),
        (
            "garbage",
            "def init():\n    return 42\n",
            "init() returned 42",
        ),
        (
            "unknown",
            "def init():\n    return (0, ([('client_foo', 'raw_hooks', 'f')], ()))\n",
            "unknown hook name \"client_foo\"",
        ),
    ];
    for (name, source, expected) in cases {
        let dir = workdir(name, source);
        let (hooks, port) = start(&dir).await;
        let status = port.driver("python3").unwrap();
        assert_eq!(status.state, "failed");
        let err = port.load_plugin().await.unwrap_err();
        let PortError::Load(text) = &err else {
            panic!("{err:?}")
        };
        assert!(text.contains("driver python3 failed to load"), "{text}");
        assert!(text.contains(expected), "{name}: {text}");
        assert!(!hooks.has(HookPoint::ClientAuthenticate));
        port.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
