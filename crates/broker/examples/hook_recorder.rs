//! A broker that prints every hook event as one JSON line on stdout — the order and payload of
//! the events your clients cause. Also the integration tests' witness of hook order.
//!
//! ```sh
//! cargo run -p hookmq-broker --example hook_recorder -- 127.0.0.1:1883
//! ```

use std::io::Write;
use std::sync::Arc;

use hookmq_broker::{Broker, BrokerConfig};
use hookmq_hooks::{
    Dispatch, Event, HandlerSpec, HookPoint, Hooks, PointSpec, Verdict, handler_fn,
};
use serde_json::{Value, json};

fn clientinfo(c: &hookmq_hooks::ClientInfo) -> Value {
    json!({
        "clientid": &*c.clientid,
        "username": c.username.as_deref(),
        "password": c.password.as_ref().map(|p| String::from_utf8_lossy(p).into_owned()),
        "peerhost": c.peerhost(),
        "proto_ver": c.protocol.level(),
        "anonymous": c.anonymous,
        "is_superuser": c.is_superuser,
    })
}

fn message(m: &hookmq_hooks::Message) -> Value {
    json!({
        "id": m.id.to_string(),
        "from": &*m.from,
        "topic": m.topic.as_str(),
        "payload": String::from_utf8_lossy(&m.payload),
        "qos": m.qos.as_u8(),
        "retain": m.retain,
    })
}

fn event_json(e: &Event) -> Value {
    let mut v = match e {
        Event::ClientConnect { conninfo, .. } => {
            json!({"clientid": &*conninfo.clientid, "keepalive": conninfo.keepalive, "proto_ver": conninfo.protocol.level()})
        }
        Event::ClientConnack {
            conninfo, result, ..
        } => json!({"clientid": &*conninfo.clientid, "result": result.name()}),
        Event::ClientConnected { clientinfo: c, .. } => json!({"clientinfo": clientinfo(c)}),
        Event::ClientDisconnected {
            clientinfo: c,
            reason,
            ..
        } => json!({"clientinfo": clientinfo(c), "reason": &**reason}),
        Event::ClientAuthenticate {
            clientinfo: c,
            result,
            ..
        } => json!({"clientinfo": clientinfo(c), "result": result.is_allowed()}),
        Event::ClientAuthorize {
            clientinfo: c,
            action,
            topic,
            result,
        } => {
            json!({"clientinfo": clientinfo(c), "action": action.name(), "topic": &**topic, "result": result})
        }
        Event::ClientSubscribe {
            clientinfo: c,
            filters,
            ..
        } => {
            json!({"clientinfo": clientinfo(c), "filters": filters.iter().map(|(f, o)| json!([f.as_str(), o.qos.as_u8()])).collect::<Vec<_>>()})
        }
        Event::ClientUnsubscribe {
            clientinfo: c,
            filters,
            ..
        } => {
            json!({"clientinfo": clientinfo(c), "filters": filters.iter().map(|f| f.as_str()).collect::<Vec<_>>()})
        }
        Event::SessionCreated { clientinfo: c }
        | Event::SessionResumed { clientinfo: c }
        | Event::SessionDiscarded { clientinfo: c }
        | Event::SessionTakenover { clientinfo: c } => json!({"clientinfo": clientinfo(c)}),
        Event::SessionSubscribed {
            clientinfo: c,
            filter,
            info,
        } => {
            json!({"clientinfo": clientinfo(c), "filter": filter.as_str(), "qos": info.options.qos.as_u8(), "is_new": info.is_new})
        }
        Event::SessionUnsubscribed {
            clientinfo: c,
            filter,
        } => json!({"clientinfo": clientinfo(c), "filter": filter.as_str()}),
        Event::SessionTerminated {
            clientinfo: c,
            reason,
        } => json!({"clientinfo": clientinfo(c), "reason": &**reason}),
        Event::MessagePublish { message: m } => json!({"message": message(m)}),
        Event::MessageDelivered {
            clientinfo: c,
            message: m,
        }
        | Event::MessageAcked {
            clientinfo: c,
            message: m,
        } => {
            json!({"clientinfo": clientinfo(c), "message": message(m)})
        }
        Event::MessageDropped { message: m, reason } => {
            json!({"message": message(m), "reason": reason.name()})
        }
        Event::ClientEnhancedAuthenticate {
            clientinfo: c,
            method,
            step,
            ..
        } => json!({"clientinfo": clientinfo(c), "method": &**method, "step": step.name()}),
    };
    v["hook"] = json!(e.point().name());
    v
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:1883".into());
    let hooks = Arc::new(Hooks::new());
    let mut spec = HandlerSpec::new(
        "recorder",
        "native",
        HookPoint::ALL.iter().map(|p| PointSpec::all(*p)).collect(),
    );
    // One queue: every event is printed in the order the broker reached its hook point.
    spec.dispatch = Dispatch::Queued {
        shards: 1,
        capacity: 1 << 16,
    };
    hooks.register(
        spec,
        handler_fn(|e| {
            let line = event_json(e).to_string();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
            Verdict::Ignore
        }),
    )?;
    let mut cfg = BrokerConfig::default();
    cfg.sys.enable = false;
    if let Some(l) = cfg.listeners.tcp.get_mut("default") {
        l.bind = Some(bind.parse()?);
    }
    let broker = Broker::new(cfg, hooks)?;
    let running = broker.start().await?;
    for l in &running.listeners {
        eprintln!("hookmq ready listener={} addr={}", l.name, l.local_addr);
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
