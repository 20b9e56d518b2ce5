//! Where hook calls meet the trace: the registry wraps every handler it registers in a
//! [`TracedHandler`], so every driver's calls (native, port, exhook, stream, queued or inline,
//! valued or notification) pass one place. With no trace running it adds one atomic load to a
//! call; with a trace selecting the call it times the call and records it when the answer comes,
//! or when the call is abandoned at its deadline.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::event::Event;
use crate::handler::{FailedAction, Handler, HandlerSpec, HookError, HookFuture, Value, Verdict};
use crate::point::{HookPoint, PointKind};
use crate::trace::{Trace, Tracer, json as tj};

/// A registered handler as the chain calls it.
pub(crate) struct TracedHandler {
    inner: Arc<dyn Handler>,
    tracer: Arc<Tracer>,
    site: Arc<Site>,
}

/// Who answers, for the records.
struct Site {
    name: String,
    driver: String,
    failed_action: FailedAction,
    /// The points it only observes.
    observed: [bool; HookPoint::COUNT],
}

impl TracedHandler {
    /// Wraps `inner`, registered with `spec`.
    pub(crate) fn wrap(
        inner: Arc<dyn Handler>,
        tracer: Arc<Tracer>,
        spec: &HandlerSpec,
    ) -> Arc<dyn Handler> {
        let mut observed = [false; HookPoint::COUNT];
        for p in spec.points.iter().filter(|p| p.observe) {
            observed[p.point.index()] = true;
        }
        Arc::new(TracedHandler {
            inner,
            tracer,
            site: Arc::new(Site {
                name: spec.name.clone(),
                driver: spec.driver.clone(),
                failed_action: spec.failed_action,
                observed,
            }),
        })
    }
}

impl Handler for TracedHandler {
    fn call(&self, event: Arc<Event>) -> HookFuture {
        if !self.tracer.on() {
            return self.inner.call(event);
        }
        let traces: Vec<Arc<Trace>> = self
            .tracer
            .selecting(&event)
            .into_iter()
            .filter(|t| t.admit())
            .collect();
        if traces.is_empty() {
            return self.inner.call(event);
        }
        let mut pending = Pending {
            traces,
            site: self.site.clone(),
            event: event.clone(),
            start: Instant::now(),
            done: false,
        };
        let call = self.inner.call(event);
        Box::pin(async move {
            let outcome = call.await;
            pending.record(&outcome);
            outcome
        })
    }

    fn pipelined(&self) -> bool {
        self.inner.pipelined()
    }
}

/// A traced call in flight; records a timeout if dropped before its answer.
struct Pending {
    traces: Vec<Arc<Trace>>,
    site: Arc<Site>,
    event: Arc<Event>,
    start: Instant,
    done: bool,
}

impl Pending {
    fn record(&mut self, outcome: &Result<Verdict, HookError>) {
        self.done = true;
        let latency = self.start.elapsed();
        let point = self.event.point();
        let mut body = serde_json::Map::new();
        body.insert("type".into(), json!("hook"));
        body.insert("point".into(), json!(point.name()));
        body.insert("handler".into(), json!(self.site.name));
        body.insert("driver".into(), json!(self.site.driver));
        body.insert("clientid".into(), json!(self.event.clientid()));
        body.insert("event".into(), tj::event_to_json(&self.event));
        body.insert("answer".into(), tj::answer_to_json(outcome));
        body.insert(
            "decision".into(),
            json!(decision(
                point,
                outcome,
                self.site.failed_action,
                self.site.observed[point.index()]
            )),
        );
        body.insert(
            "latency_us".into(),
            json!(latency.as_micros().min(u128::from(u64::MAX)) as u64),
        );
        for trace in &self.traces {
            trace.publish(body.clone(), false);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            self.record(&Err(HookError::Timeout));
        }
    }
}

/// What the chain does with an answer: for valued points `continue` (the value replaces the
/// result and the chain goes on), `stop` (the value is final), `ignore` (result kept; also for a
/// value of the wrong kind for the point, which the chain ignores), or after a failure the
/// handler's policy, `deny` or `ignore`; for notifications `notified`; for a point the handler
/// only observes `observed` (whatever it answered, the chain went on without it).
pub(crate) fn decision(
    point: HookPoint,
    outcome: &Result<Verdict, HookError>,
    failed_action: FailedAction,
    observed: bool,
) -> &'static str {
    if observed {
        return "observed";
    }
    let fits = |v: &Value| match point {
        HookPoint::ClientAuthenticate => matches!(
            v,
            Value::Auth(_)
                | Value::Allow(_)
                | Value::Grant(_)
                | Value::Redirect(_)
                | Value::Refuse(_)
        ),
        HookPoint::ClientAuthorize => matches!(v, Value::Allow(_)),
        HookPoint::ClientSubscribe => matches!(v, Value::Filters(_)),
        HookPoint::MessagePublish => {
            matches!(
                v,
                Value::Message(_) | Value::Drop | Value::Consume | Value::Hold(_)
            )
        }
        HookPoint::ClientEnhancedAuthenticate => matches!(
            v,
            Value::EnhancedAuth(_) | Value::Grant(_) | Value::Allow(_)
        ),
        _ => false,
    };
    if point.kind() == PointKind::Notification {
        return "notified";
    }
    match outcome {
        Ok(Verdict::Continue(v)) if fits(v) => "continue",
        Ok(Verdict::Stop(v)) if fits(v) => "stop",
        Ok(_) => "ignore",
        Err(_) => match failed_action {
            FailedAction::Ignore => "ignore",
            FailedAction::Deny => "deny",
        },
    }
}
