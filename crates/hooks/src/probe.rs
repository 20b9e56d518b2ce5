//! Calling handlers one by one outside the broker: [`Hooks::probe`] hands one event to every
//! handler registered at its point and returns each answer as it came, with the chain's
//! decision and the latency. `hookmq hooks replay` drives recorded or hand-written events
//! through it, so a hook author can test a handler without a broker or MQTT clients.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::event::Event;
use crate::handler::{HookError, Verdict};
use crate::registry::Hooks;

/// One handler's answer to a probed event.
#[derive(Debug, Clone)]
pub struct ProbeCall {
    /// The handler's name.
    pub handler: String,
    /// Its driver.
    pub driver: String,
    /// What it answered, or why it did not.
    pub outcome: Result<Verdict, HookError>,
    /// What the chain would do with that answer (`continue`, `stop`, `ignore`, `deny`,
    /// `notified`, `observed`), as in trace records.
    pub decision: &'static str,
    /// How long the answer took.
    pub latency: Duration,
    /// The deadline the call had.
    pub timeout: Duration,
}

impl Hooks {
    /// Hands `event` to each handler registered at its point (message events: those whose topic
    /// filters match), one after the other, each with its own deadline, and waits for every
    /// answer, notifications included. Unlike the chain, each handler sees the event as given
    /// (no fold), so each answer can be checked on its own.
    pub async fn probe(&self, event: Event) -> Vec<ProbeCall> {
        let point = event.point();
        let table = self.table.load_full();
        let event = Arc::new(event);
        let mut calls = Vec::new();
        for slot in &table.by_point[point.index()] {
            if let Some(m) = event.message()
                && !slot.matches_topic(m.topic.as_str())
            {
                continue;
            }
            let entry = &slot.entry;
            let start = Instant::now();
            let outcome = entry
                .dispatcher
                .call(
                    &entry.handler,
                    &entry.metrics,
                    event.clone(),
                    start + entry.spec.timeout,
                )
                .await;
            calls.push(ProbeCall {
                handler: entry.spec.name.clone(),
                driver: entry.spec.driver.clone(),
                decision: crate::trace::decision(
                    point,
                    &outcome,
                    entry.spec.failed_action,
                    slot.observe,
                ),
                outcome,
                latency: start.elapsed(),
                timeout: entry.spec.timeout,
            });
        }
        calls
    }
}
