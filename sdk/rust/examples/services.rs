//! Broker services from an extension (docs/services.md), driven by MQTT commands — the same
//! behaviour as `sdk/python/examples/services.py`: a message on `cmd/<service>` whose payload is
//! space-separated arguments calls the service and publishes `ok:<value>` or `err:<reason>` to
//! `result/<service>`; `self/kick` kicks its own publisher (0x89) from inside that client's hook;
//! `loop/#` is republished through `message.publish` until the hop limit stops it; a client whose
//! id starts with `auto-` is subscribed to `inbox/<id>` from its own `client.connected`;
//! `client.authorize` calls are counted per client (`cmd/acl_count`); `publish`'s `@N` is N bytes.
//!
//! ```text
//! cargo run -p hookmq-ext --example services -- --listen 127.0.0.1:9205
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{
    Answer, Broker, BrokerError, Extension, OnClientAuthorize, OnClientConnected, OnMessagePublish,
    Options, Publish,
};

mod common;

#[derive(Clone)]
struct Services(Broker, Arc<Mutex<HashMap<String, u64>>>);

fn publish(topic: &str, payload: impl Into<bytes::Bytes>) -> pb::PublishCommand {
    pb::PublishCommand {
        topic: topic.to_owned(),
        payload: payload.into(),
        qos: 1,
        ..Default::default()
    }
}

fn qos1() -> pb::SubOpts {
    pb::SubOpts {
        qos: 1,
        ..Default::default()
    }
}

impl Services {
    async fn command(&self, service: &str, args: &[&str]) -> Result<String, BrokerError> {
        let b = &self.0;
        let arg = |i: usize| args.get(i).copied().unwrap_or_default();
        Ok(match service {
            "publish" => {
                // `@N`: N bytes.
                let data = match arg(1).strip_prefix('@') {
                    Some(n) => "x".repeat(n.parse().unwrap_or(0)),
                    None => arg(1).to_owned(),
                };
                let r = b.publish(publish(arg(0), data)).await?;
                r.receivers.map_or("none".into(), |n| n.to_string())
            }
            "kick" => {
                let code = arg(1).parse::<u8>().unwrap_or(0x98);
                b.kick(arg(0), Some(code)).await?;
                String::new()
            }
            "acl_count" => {
                let counts = self.1.lock().unwrap_or_else(|e| e.into_inner());
                counts.get(arg(0)).copied().unwrap_or(0).to_string()
            }
            "subscribe" => b.subscribe(arg(0), arg(1), qos1()).await?.to_string(),
            "unsubscribe" => b.unsubscribe(arg(0), arg(1)).await?.to_string(),
            "session" => {
                let s = b.session(arg(0)).await?;
                let subs: Vec<String> = s
                    .subscriptions
                    .iter()
                    .map(|x| format!("{}@{}", x.filter, x.options.unwrap_or_default().qos))
                    .collect();
                format!("{};{};{}", subs.join(","), s.queue_len, s.connected)
            }
            "client" => {
                let c = b.client(arg(0)).await?;
                format!("{};{}", c.proto_ver, c.connected)
            }
            "clients" => {
                let page = b
                    .clients(pb::ClientsQuery {
                        clientid_prefix: Some(arg(0).to_owned()),
                        ..Default::default()
                    })
                    .await?;
                let ids: Vec<String> = page.clients.into_iter().map(|c| c.clientid).collect();
                format!("{};{}", page.total, ids.join(","))
            }
            "authz" => b
                .authz_cache_invalidate(args.first().copied())
                .await?
                .to_string(),
            "retained_set" => {
                b.retained_set(pb::RetainedSetCommand {
                    topic: arg(0).to_owned(),
                    payload: arg(1).to_owned().into(),
                    qos: 1,
                    properties: None,
                })
                .await?;
                String::new()
            }
            "retained_get" => match b.retained_get(arg(0)).await? {
                Some(m) => String::from_utf8_lossy(&m.payload).into_owned(),
                None => "-none-".into(),
            },
            "retained_delete" => b.retained_delete(arg(0)).await?.to_string(),
            "metrics" => b
                .metrics()
                .await?
                .get("connections")
                .copied()
                .unwrap_or_default()
                .to_string(),
            other => {
                return Err(BrokerError::Refused {
                    reason: "unknown_service".into(),
                    message: other.into(),
                });
            }
        })
    }
}

impl OnMessagePublish for Services {
    async fn on_message_publish(&self, e: pb::MessagePublish) -> Answer<Publish> {
        let m = e.message.unwrap_or_default();
        let b = &self.0;
        if let Some(service) = m.topic.strip_prefix("cmd/") {
            let text = String::from_utf8_lossy(&m.payload).into_owned();
            let args: Vec<&str> = text.split_whitespace().collect();
            let out = match self.command(service, &args).await {
                Ok(v) => format!("ok:{v}"),
                Err(BrokerError::Refused { reason, .. }) => format!("err:{reason}"),
                Err(e) => format!("err:{e}"),
            };
            let _ = b.publish(publish(&format!("result/{service}"), out)).await;
        } else if m.topic == "self/kick" {
            let _ = b.kick(&m.from, Some(0x89)).await;
        } else if m.topic.starts_with("loop/") {
            let again = pb::PublishCommand {
                topic: m.topic.clone(),
                payload: m.payload.clone(),
                through_hooks: true,
                // Derived from the handled message: the broker's loop guard counts on.
                parent_hops: m.hops,
                ..Default::default()
            };
            if let Err(BrokerError::Refused { reason, .. }) = b.publish(again).await {
                let _ = b
                    .publish(publish("result/loop", format!("err:{reason}")))
                    .await;
            }
        }
        Answer::Ignore
    }
}

impl OnClientAuthorize for Services {
    async fn on_client_authorize(&self, e: pb::ClientAuthorize) -> Answer<bool> {
        let cid = e.clientinfo.unwrap_or_default().clientid;
        *self
            .1
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(cid)
            .or_default() += 1;
        Answer::Ignore
    }
}

impl OnClientConnected for Services {
    async fn on_client_connected(&self, e: pb::ClientConnected) {
        let cid = e.clientinfo.unwrap_or_default().clientid;
        if cid.starts_with("auto-")
            && let Ok(granted) = self
                .0
                .subscribe(&cid, &format!("inbox/{cid}"), qos1())
                .await
        {
            let _ = self
                .0
                .publish(publish("result/auto", format!("ok:{granted}")))
                .await;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = common::Args::parse("127.0.0.1:9205")?;
    let ext = Extension::new("services");
    let services = Services(ext.broker(), Arc::default());
    let ext = ext
        .on_message_publish(
            services.clone(),
            Options::new().topics(["cmd/#", "self/#", "loop/#"]),
        )
        .on_client_authorize(services.clone(), Options::new())
        .on_client_connected(services, Options::new());
    common::serve(ext, &args).await
}
