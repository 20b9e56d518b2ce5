//! The `$SYS/brokers/<node>/...` topics: broker version, uptime, client and message counters,
//! published as retained messages every `[sys] interval` so a new subscriber sees them at once.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use hookmq_codec::{QoS, TopicName};
use hookmq_hooks::Message;

use crate::metrics::Metrics;
use crate::shared::Shared;

/// Publishes the `$SYS` topics until the broker shuts down.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(shared.config.sys.interval.0);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tick.tick() => publish_all(&shared),
        }
    }
}

/// The topic/value pairs published now.
pub(crate) fn snapshot(shared: &Shared) -> Vec<(String, String)> {
    let node = shared.node.as_str();
    let m = &shared.metrics;
    let base = format!("$SYS/brokers/{node}");
    let mut out = vec![
        ("$SYS/brokers".to_owned(), node.to_owned()),
        (
            format!("{base}/version"),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        (format!("{base}/sysdescr"), "hookmq".to_owned()),
        (
            format!("{base}/uptime"),
            shared.started.elapsed().as_secs().to_string(),
        ),
        (
            format!("{base}/clients/connected"),
            m.connections.load(Ordering::Relaxed).to_string(),
        ),
        (
            format!("{base}/clients/total"),
            Metrics::get(&m.connections_total).to_string(),
        ),
        (
            format!("{base}/sessions/count"),
            shared.registry.len().to_string(),
        ),
        (
            format!("{base}/subscriptions/count"),
            shared.router.len().to_string(),
        ),
        (
            format!("{base}/retained/count"),
            shared.retained.len().to_string(),
        ),
        (
            format!("{base}/messages/received"),
            Metrics::get(&m.messages_received).to_string(),
        ),
        (
            format!("{base}/messages/sent"),
            Metrics::get(&m.messages_sent).to_string(),
        ),
        (
            format!("{base}/messages/dropped"),
            m.dropped_total().to_string(),
        ),
        (
            format!("{base}/bytes/received"),
            Metrics::get(&m.bytes_received).to_string(),
        ),
        (
            format!("{base}/bytes/sent"),
            Metrics::get(&m.bytes_sent).to_string(),
        ),
    ];
    if shared.config.limits.memory_high_watermark.0 > 0 {
        let guard = &shared.memory;
        out.push((
            format!("{base}/memory/resident"),
            guard.resident().to_string(),
        ));
        out.push((
            format!("{base}/memory/above_high_watermark"),
            u8::from(guard.is_high()).to_string(),
        ));
        out.push((
            format!("{base}/memory/high_watermark_episodes"),
            Metrics::get(&guard.episodes).to_string(),
        ));
    }
    if let Some(cluster) = shared.cluster() {
        cluster_topics(&base, &cluster.status(), &mut out);
    }
    for info in shared.hooks.handlers() {
        for s in info.stats {
            if let Some(point) = s.point {
                let prefix = format!("{base}/hooks/{}/{}", info.spec.name, point.name());
                out.push((format!("{prefix}/calls"), s.calls.to_string()));
                out.push((
                    format!("{prefix}/failed"),
                    (s.failed + s.timed_out).to_string(),
                ));
                out.push((format!("{prefix}/skipped"), s.skipped.to_string()));
            }
        }
        // The handler's circuit breaker: closed, open or half_open.
        out.push((
            format!("{base}/hooks/{}/breaker", info.spec.name),
            info.breaker.state.as_str().to_owned(),
        ));
    }
    out
}

/// `$SYS/brokers/<node>/cluster/...`: the cluster as this node sees it.
fn cluster_topics(base: &str, st: &crate::cluster::ClusterStatus, out: &mut Vec<(String, String)>) {
    let base = format!("{base}/cluster");
    let link = if st.link_up { "up" } else { "down" };
    out.push((format!("{base}/name"), st.name.clone()));
    out.push((format!("{base}/link"), link.to_owned()));
    let names: Vec<&str> = st.members.iter().map(|m| m.node.as_str()).collect();
    out.push((format!("{base}/members"), names.join(",")));
    for m in &st.members {
        let node = format!("{base}/nodes/{}", m.node);
        out.push((format!("{node}/connections"), m.connections.to_string()));
        out.push((format!("{node}/sessions"), m.sessions.to_string()));
    }
    out.push((
        format!("{base}/messages/forwarded"),
        st.forwarded.to_string(),
    ));
    out.push((format!("{base}/messages/received"), st.received.to_string()));
}

fn publish_all(shared: &Shared) {
    for (topic, value) in snapshot(shared) {
        let Ok(topic) = TopicName::new(topic) else {
            continue;
        };
        let message = Message::new(
            Default::default(),
            topic,
            Bytes::from(value),
            QoS::AtMostOnce,
            true,
        );
        let _ = shared.route(Arc::new(message));
    }
}
