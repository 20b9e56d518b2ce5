//! The ACL-file source: allow/deny rules by user name, client id, IP range and topic (with
//! `%u` / `%c` placeholders), for publish, subscribe or both; the first rule that matches
//! decides, and `no_match` answers when none does. The file is Mosquitto's `acl_file` syntax
//! or EMQX's `acl.conf` (Erlang terms), detected or configured; both read into one [`Acl`].
//! docs/auth.md sets the three semantics side by side.

mod emqx;
mod mosquitto;
mod topic;
mod who;

use std::sync::Arc;

use hookmq_hooks::{Action, Event, Handler, HookFuture, Value, Verdict};

pub use topic::{Identity, TopicPattern};
pub use who::{IpRange, Who};

use crate::config::{AclFormat, NoMatch};
use crate::error::LineError;
use crate::watched::Watched;

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Grant the request.
    Allow,
    /// Refuse it.
    Deny,
}

/// Which requests a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// PUBLISH.
    Publish,
    /// SUBSCRIBE (and reading what a subscription delivers).
    Subscribe,
    /// Both.
    All,
}

impl Access {
    fn includes(self, action: Action) -> bool {
        matches!(
            (self, action),
            (Access::All, _)
                | (Access::Publish, Action::Publish)
                | (Access::Subscribe, Action::Subscribe)
        )
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What a match answers.
    pub permission: Permission,
    /// Whose requests it is about.
    pub who: Who,
    /// Which requests.
    pub access: Access,
    /// The topics; empty means every topic.
    pub topics: Vec<TopicPattern>,
    /// The line it came from, for logs.
    pub line: usize,
}

/// The facts about the client a rule can test.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    /// User name and client id.
    pub id: Identity<'a>,
    /// Peer address.
    pub ip: std::net::IpAddr,
}

impl Rule {
    /// Whether the rule decides this request.
    fn matches(&self, who: &Requester<'_>, action: Action, topic: &str) -> bool {
        if !self.access.includes(action) || !self.who.matches(who) {
            return false;
        }
        if self.topics.is_empty() {
            return true;
        }
        self.topics.iter().any(|t| match t.covers(topic, who.id) {
            Some(hit) => hit,
            // The identity cannot fill a placeholder: fail closed.
            None => self.permission == Permission::Deny,
        })
    }
}

/// A parsed ACL: rules in the order they are tried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    /// The rules.
    pub rules: Vec<Rule>,
}

impl Acl {
    /// Reads a file in `format` (`Auto` looks at the first rule: `{` is EMQX).
    pub fn parse(text: &str, format: AclFormat) -> Result<Acl, LineError> {
        let format = match format {
            AclFormat::Auto => {
                let first = text
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('%'));
                if first.is_some_and(|l| l.starts_with('{')) {
                    AclFormat::Emqx
                } else {
                    AclFormat::Mosquitto
                }
            }
            f => f,
        };
        let rules = match format {
            AclFormat::Emqx => emqx::parse(text)?,
            _ => mosquitto::parse(text)?,
        };
        Ok(Acl { rules })
    }

    /// The first matching rule's answer.
    pub fn decide(&self, who: &Requester<'_>, action: Action, topic: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(who, action, topic))
    }
}

/// The `client.authorize` handler of `[auth.acl_file]`.
pub(crate) struct AclSource {
    pub(crate) file: Arc<Watched<Acl>>,
    pub(crate) no_match: NoMatch,
}

impl Handler for AclSource {
    fn call(&self, event: Arc<Event>) -> HookFuture {
        let verdict = match &*event {
            Event::ClientAuthorize {
                clientinfo,
                action,
                topic,
                ..
            } => {
                let who = Requester {
                    id: Identity {
                        username: clientinfo.username.as_deref(),
                        clientid: &clientinfo.clientid,
                    },
                    ip: clientinfo.peer.ip(),
                };
                match self.file.get().decide(&who, *action, topic) {
                    Some(rule) => {
                        tracing::debug!(
                            line = rule.line,
                            action = action.name(),
                            %topic,
                            allow = rule.permission == Permission::Allow,
                            "ACL rule matched"
                        );
                        Verdict::Stop(Value::Allow(rule.permission == Permission::Allow))
                    }
                    None => self.no_match.verdict(),
                }
            }
            _ => Verdict::Ignore,
        };
        Box::pin(std::future::ready(Ok(verdict)))
    }

    fn pipelined(&self) -> bool {
        true
    }
}
