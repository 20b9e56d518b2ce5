//! Prometheus text exposition of the broker's counters and every hook handler's metrics
//! (`/metrics`). Rendered on demand from the atomics the broker keeps; no metrics registry.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use hookmq_broker::Broker;
use hookmq_broker::metrics::{DROP_REASONS, LIMITS, Metrics};
use hookmq_hooks::LATENCY_BUCKETS_US;

/// Escapes a label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {value}");
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
        }
    }

    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, "", value);
    }
}

/// `hookmq_cluster_*`: membership, per-node connections and the NATS link, as this node sees
/// them.
fn cluster_metrics(o: &mut Out, st: &hookmq_broker::cluster::ClusterStatus) {
    o.single(
        "hookmq_cluster_link_up",
        "gauge",
        "1 while this node's link to NATS is up.",
        u8::from(st.link_up),
    );
    o.single(
        "hookmq_cluster_members",
        "gauge",
        "Nodes with a live lease, this one included.",
        st.members.len(),
    );
    o.family(
        "hookmq_cluster_node_connections",
        "gauge",
        "Connections open on each member, as of its last lease renewal.",
    );
    for m in &st.members {
        let labels = format!("node=\"{}\"", label(&m.node));
        o.sample("hookmq_cluster_node_connections", &labels, m.connections);
    }
    let counters = [
        (
            "hookmq_cluster_link_reconnects_total",
            "Times the NATS link came back.",
            st.reconnects,
        ),
        (
            "hookmq_cluster_forwarded_total",
            "Messages sent to the other nodes.",
            st.forwarded,
        ),
        (
            "hookmq_cluster_unforwarded_total",
            "Messages kept local because the link was down.",
            st.unforwarded,
        ),
        (
            "hookmq_cluster_received_total",
            "Messages received from other nodes.",
            st.received,
        ),
        (
            "hookmq_cluster_malformed_total",
            "Unreadable envelopes from the cluster subjects.",
            st.malformed,
        ),
        (
            "hookmq_cluster_takeovers_in_total",
            "Sessions taken over from other nodes.",
            st.takeovers_in,
        ),
        (
            "hookmq_cluster_takeovers_out_total",
            "Sessions handed to other nodes.",
            st.takeovers_out,
        ),
        (
            "hookmq_cluster_adopted_total",
            "Sessions adopted from dead nodes.",
            st.adopted,
        ),
        (
            "hookmq_cluster_orphan_wills_total",
            "Wills published for clients of dead nodes.",
            st.orphan_wills,
        ),
    ];
    for (name, help, value) in counters {
        o.single(name, "counter", help, value);
    }
}

/// The whole exposition.
pub fn render(broker: &Broker) -> String {
    let m = broker.metrics();
    let st = broker.stats();
    let mut o = Out(String::with_capacity(8192));
    o.single(
        "hookmq_uptime_seconds",
        "gauge",
        "Seconds since the broker started.",
        st.uptime_secs,
    );
    o.single(
        "hookmq_connections",
        "gauge",
        "Connections open now.",
        m.connections.load(Ordering::Relaxed),
    );
    let counters = [
        (
            "hookmq_connections_total",
            "Connections accepted.",
            &m.connections_total,
        ),
        (
            "hookmq_connections_refused_total",
            "CONNECTs refused.",
            &m.connections_refused,
        ),
        (
            "hookmq_protocol_errors_total",
            "Malformed packets and protocol errors from clients.",
            &m.protocol_errors,
        ),
        (
            "hookmq_auth_failures_total",
            "Logins refused by authentication.",
            &m.auth_failures,
        ),
        (
            "hookmq_authz_denied_total",
            "Publishes and subscriptions denied by authorization.",
            &m.authz_denied,
        ),
        (
            "hookmq_packets_received_total",
            "Packets received.",
            &m.packets_received,
        ),
        (
            "hookmq_packets_sent_total",
            "Packets sent.",
            &m.packets_sent,
        ),
        (
            "hookmq_bytes_received_total",
            "Bytes received.",
            &m.bytes_received,
        ),
        ("hookmq_bytes_sent_total", "Bytes sent.", &m.bytes_sent),
        (
            "hookmq_messages_received_total",
            "PUBLISH messages received.",
            &m.messages_received,
        ),
        (
            "hookmq_messages_sent_total",
            "PUBLISH messages sent.",
            &m.messages_sent,
        ),
    ];
    for (name, help, c) in counters {
        o.single(name, "counter", help, Metrics::get(c));
    }
    o.family(
        "hookmq_messages_dropped_total",
        "counter",
        "Messages not delivered, by reason.",
    );
    for r in DROP_REASONS {
        o.sample(
            "hookmq_messages_dropped_total",
            &format!("reason=\"{}\"", r.name()),
            m.dropped_count(r),
        );
    }
    o.family(
        "hookmq_limit_hits_total",
        "counter",
        "Times a configured limit was reached, by limit.",
    );
    for l in LIMITS {
        o.sample(
            "hookmq_limit_hits_total",
            &format!("limit=\"{}\"", l.name()),
            m.limit_hits(l),
        );
    }
    o.single(
        "hookmq_sessions",
        "gauge",
        "Sessions, connected or not.",
        st.sessions,
    );
    o.single(
        "hookmq_subscriptions",
        "gauge",
        "Subscriptions.",
        st.subscriptions,
    );
    o.single(
        "hookmq_retained_messages",
        "gauge",
        "Retained messages.",
        st.retained,
    );
    o.single(
        "hookmq_retained_bytes",
        "gauge",
        "Retained payload bytes.",
        st.retained_bytes,
    );

    if let Some(cluster) = broker.cluster_status() {
        cluster_metrics(&mut o, &cluster);
    }
    let handlers = broker.hooks().handlers();
    let families = [
        (
            "hookmq_hook_calls_total",
            "Hook calls made, by handler and hook point.",
        ),
        (
            "hookmq_hook_failures_total",
            "Hook calls that failed, by kind (error, timeout).",
        ),
        (
            "hookmq_hook_dropped_total",
            "Hook notifications and observed events dropped on a full queue.",
        ),
        (
            "hookmq_hook_values_ignored_total",
            "Values answered at observe-only hook points, which cannot count.",
        ),
        (
            "hookmq_hook_skipped_total",
            "Hook calls not made because the handler's circuit breaker was open.",
        ),
        ("hookmq_hook_latency_seconds", "Hook call latency."),
    ];
    for (i, (name, help)) in families.iter().enumerate() {
        o.family(name, if i == 5 { "histogram" } else { "counter" }, help);
        for h in &handlers {
            for s in &h.stats {
                let Some(point) = s.point else { continue };
                let base = format!(
                    "handler=\"{}\",driver=\"{}\",hook=\"{}\"",
                    label(&h.spec.name),
                    label(&h.spec.driver),
                    point.name()
                );
                match i {
                    0 => o.sample(name, &base, s.calls),
                    1 => {
                        o.sample(name, &format!("{base},kind=\"error\""), s.failed);
                        o.sample(name, &format!("{base},kind=\"timeout\""), s.timed_out);
                    }
                    2 => o.sample(name, &base, s.dropped),
                    3 => o.sample(name, &base, s.values_ignored),
                    4 => o.sample(name, &base, s.skipped),
                    _ => {
                        let mut cumulative = 0;
                        for (b, count) in LATENCY_BUCKETS_US.iter().zip(&s.latency_buckets) {
                            cumulative += count;
                            let le = *b as f64 / 1e6;
                            o.sample(
                                &format!("{name}_bucket"),
                                &format!("{base},le=\"{le}\""),
                                cumulative,
                            );
                        }
                        cumulative += s.latency_buckets.last().copied().unwrap_or(0);
                        o.sample(
                            &format!("{name}_bucket"),
                            &format!("{base},le=\"+Inf\""),
                            cumulative,
                        );
                        o.sample(&format!("{name}_sum"), &base, s.latency_sum_us as f64 / 1e6);
                        o.sample(&format!("{name}_count"), &base, cumulative);
                    }
                }
            }
        }
    }
    breaker_metrics(&mut o, &handlers);
    o.0
}

/// `hookmq_hook_breaker_*`: each handler's circuit breaker.
fn breaker_metrics(o: &mut Out, handlers: &[hookmq_hooks::HandlerInfo]) {
    let labels = |h: &hookmq_hooks::HandlerInfo| {
        format!(
            "handler=\"{}\",driver=\"{}\"",
            label(&h.spec.name),
            label(&h.spec.driver)
        )
    };
    o.family(
        "hookmq_hook_breaker_state",
        "gauge",
        "Circuit breaker of each hook handler: 0 closed, 1 open (calls skipped), 2 half-open.",
    );
    for h in handlers {
        o.sample(
            "hookmq_hook_breaker_state",
            &labels(h),
            h.breaker.state.gauge(),
        );
    }
    o.family(
        "hookmq_hook_breaker_opens_total",
        "counter",
        "Times each hook handler's circuit breaker opened (failed probes included).",
    );
    for h in handlers {
        o.sample(
            "hookmq_hook_breaker_opens_total",
            &labels(h),
            h.breaker.opens,
        );
    }
}

/// The port drivers' families (`hookmq_worker_restarts_total{driver}`), appended to [`render`]'s
/// text by the `/metrics` endpoint.
pub fn render_port(port: &hookmq_port::PortDrivers) -> String {
    let mut o = Out(String::new());
    o.family(
        "hookmq_worker_restarts_total",
        "counter",
        "Port driver worker restarts (crash, hang, broken pipe) since the driver was loaded.",
    );
    for (driver, restarts) in port.restart_counts() {
        o.sample(
            "hookmq_worker_restarts_total",
            &format!("driver=\"{}\"", label(&driver)),
            restarts,
        );
    }
    o.0
}
