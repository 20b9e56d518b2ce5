//! Which hook calls and packets a trace records: a [`TraceFilter`] of client id, user name, topic
//! filter and hook points, checked before anything is built so an unmatched call costs a few
//! string comparisons and nothing else.

use hookmq_codec::TopicFilter;

use crate::event::Event;
use crate::point::HookPoint;
use crate::trace::TraceError;

/// What a trace selects. Every condition given must hold; an empty filter selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// Exact client id: of the client the event is about (for `message.publish` and
    /// `message.dropped`, the publisher; for `message.delivered`/`acked`, the subscriber).
    pub clientid: Option<String>,
    /// Exact user name of that client.
    pub username: Option<String>,
    /// An MQTT topic filter. Only events and packets that carry a topic can match it: message
    /// events, `client.authorize`, subscriptions (whose filter is matched as if it were a
    /// topic) and PUBLISH packets.
    pub topic: Option<TopicFilter>,
    /// Hook points; empty means all.
    pub points: Vec<HookPoint>,
    /// Record the MQTT packets of the selected clients too.
    pub packets: bool,
}

impl TraceFilter {
    /// A filter that selects everything, packets included.
    pub fn all() -> TraceFilter {
        TraceFilter {
            packets: true,
            ..TraceFilter::default()
        }
    }

    /// Builds a filter from user input, refusing a malformed topic filter or an unknown point.
    pub fn parse(
        clientid: Option<String>,
        username: Option<String>,
        topic: Option<String>,
        points: &[String],
        packets: bool,
    ) -> Result<TraceFilter, TraceError> {
        let topic = topic
            .map(|t| TopicFilter::new(t.clone()).map_err(|e| TraceError::Topic(t, e)))
            .transpose()?;
        let points = points
            .iter()
            .map(|p| HookPoint::from_name(p).ok_or_else(|| TraceError::Point(p.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TraceFilter {
            clientid: clientid.filter(|c| !c.is_empty()),
            username: username.filter(|u| !u.is_empty()),
            topic,
            points,
            packets,
        })
    }

    /// Whether a hook call with this event is selected.
    pub fn matches_event(&self, event: &Event) -> bool {
        if !self.points.is_empty() && !self.points.contains(&event.point()) {
            return false;
        }
        if self
            .clientid
            .as_deref()
            .is_some_and(|c| c != event.clientid())
        {
            return false;
        }
        if let Some(want) = &self.username
            && username_of(event) != Some(want.as_str())
        {
            return false;
        }
        match &self.topic {
            None => true,
            Some(filter) => topics_of(event)
                .iter()
                .any(|t| hookmq_codec::topic::matches(filter.as_str(), t)),
        }
    }

    /// Whether a packet of this client is selected; `topic` is a PUBLISH packet's topic.
    pub fn matches_packet(
        &self,
        clientid: &str,
        username: Option<&str>,
        topic: Option<&str>,
    ) -> bool {
        if !self.packets {
            return false;
        }
        if self.clientid.as_deref().is_some_and(|c| c != clientid) {
            return false;
        }
        if self.username.is_some() && self.username.as_deref() != username {
            return false;
        }
        match (&self.topic, topic) {
            (None, _) => true,
            (Some(filter), Some(t)) => hookmq_codec::topic::matches(filter.as_str(), t),
            (Some(_), None) => false,
        }
    }

    /// Whether the filter can only ever select one client's traffic (shown in listings).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.clientid {
            parts.push(format!("clientid={c}"));
        }
        if let Some(u) = &self.username {
            parts.push(format!("username={u}"));
        }
        if let Some(t) = &self.topic {
            parts.push(format!("topic={t}"));
        }
        if !self.points.is_empty() {
            let names: Vec<&str> = self.points.iter().map(|p| p.name()).collect();
            parts.push(format!("points={}", names.join(",")));
        }
        if parts.is_empty() {
            parts.push("everything".to_owned());
        }
        parts.join(" ")
    }
}

/// The user name of the client an event is about.
fn username_of(event: &Event) -> Option<&str> {
    match event {
        Event::ClientConnect { conninfo, .. } | Event::ClientConnack { conninfo, .. } => {
            conninfo.username.as_deref()
        }
        Event::MessagePublish { message } | Event::MessageDropped { message, .. } => {
            message.headers.username.as_deref()
        }
        Event::ClientConnected { clientinfo, .. }
        | Event::ClientDisconnected { clientinfo, .. }
        | Event::ClientAuthenticate { clientinfo, .. }
        | Event::ClientAuthorize { clientinfo, .. }
        | Event::ClientSubscribe { clientinfo, .. }
        | Event::ClientUnsubscribe { clientinfo, .. }
        | Event::SessionCreated { clientinfo }
        | Event::SessionSubscribed { clientinfo, .. }
        | Event::SessionUnsubscribed { clientinfo, .. }
        | Event::SessionResumed { clientinfo }
        | Event::SessionDiscarded { clientinfo }
        | Event::SessionTakenover { clientinfo }
        | Event::SessionTerminated { clientinfo, .. }
        | Event::MessageDelivered { clientinfo, .. }
        | Event::MessageAcked { clientinfo, .. }
        | Event::ClientEnhancedAuthenticate { clientinfo, .. } => clientinfo.username.as_deref(),
    }
}

/// The topics (or filters) an event carries.
fn topics_of(event: &Event) -> Vec<&str> {
    match event {
        Event::ClientAuthorize { topic, .. } => vec![topic],
        Event::ClientSubscribe { filters, .. } => {
            filters.iter().map(|(f, _)| f.real_filter()).collect()
        }
        Event::ClientUnsubscribe { filters, .. } => {
            filters.iter().map(|f| f.real_filter()).collect()
        }
        Event::SessionSubscribed { filter, .. } | Event::SessionUnsubscribed { filter, .. } => {
            vec![filter.real_filter()]
        }
        _ => event
            .message()
            .map(|m| vec![m.topic.as_str()])
            .unwrap_or_default(),
    }
}
