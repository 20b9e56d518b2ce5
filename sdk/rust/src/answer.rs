//! What a handler answers: [`Answer`] says how the broker's chain goes on (ignore, continue with
//! a value, stop with a value, or fail), and the value types say what a valued point takes:
//! [`Auth`] for `client.authenticate`, `bool` for `client.authorize`, [`Publish`] for
//! `message.publish`, [`EnhancedAuth`] for `client.enhanced_authenticate`.

use bytes::Bytes;

use crate::proto::v1 as pb;

/// A handler's answer at a valued point.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    /// No opinion: the next handler sees the same value.
    Ignore,
    /// Replace the value and let the next handler see it.
    Continue(T),
    /// Replace the value and end the chain.
    Stop(T),
    /// The handler failed: the extension's failure policy applies (`failed_action` on the
    /// broker). The text is logged by the broker.
    Fail(String),
}

/// A `client.authenticate` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Let the client in.
    Allow,
    /// Let the client in as a superuser (authorization is skipped for it).
    Superuser,
    /// Refuse: CONNACK 0x87 Not authorized (MQTT 3.x: return code 5).
    Deny,
    /// Refuse: CONNACK 0x86 Bad user name or password (MQTT 3.x: return code 4).
    BadCredentials,
}

impl Auth {
    pub(crate) fn to_proto(self) -> pb::AuthResult {
        let (allow, superuser, reason_code) = match self {
            Auth::Allow => (true, false, 0),
            Auth::Superuser => (true, true, 0),
            Auth::Deny => (false, false, 0x87),
            Auth::BadCredentials => (false, false, 0x86),
        };
        pb::AuthResult {
            allow,
            superuser,
            reason_code,
        }
    }
}

/// A `message.publish` value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Publish {
    edit: pb::MessageEdit,
    drop: bool,
    hold: bool,
}

impl Publish {
    /// Route the message as it is.
    pub fn unchanged() -> Publish {
        Publish::default()
    }

    /// Do not route the message.
    pub fn drop() -> Publish {
        Publish {
            drop: true,
            ..Publish::default()
        }
    }

    /// Route the message (with this answer's changes) but hold the publisher's PUBACK / PUBREC
    /// until [`Broker::confirm`](crate::Broker::confirm) releases it by the message's id, or
    /// the server's `hold_timeout` passes (then its `failed_action` decides).
    pub fn hold(mut self) -> Publish {
        self.hold = true;
        self
    }

    /// Route it to another topic (a topic name: no wildcards).
    pub fn topic(mut self, topic: impl Into<String>) -> Publish {
        self.edit.topic = Some(topic.into());
        self
    }

    /// Route it with another payload.
    pub fn payload(mut self, payload: impl Into<Bytes>) -> Publish {
        self.edit.payload = Some(payload.into());
        self
    }

    /// Route it at another QoS (0, 1 or 2).
    pub fn qos(mut self, qos: u8) -> Publish {
        self.edit.qos = Some(u32::from(qos));
        self
    }

    pub(crate) fn into_value(self) -> pb::reply::Value {
        if self.drop {
            pb::reply::Value::Drop(pb::Drop {})
        } else if self.hold {
            let changed = self.edit != pb::MessageEdit::default();
            pb::reply::Value::Hold(pb::Hold {
                message: changed.then_some(self.edit),
            })
        } else {
            pb::reply::Value::Message(self.edit)
        }
    }
}

/// A `client.enhanced_authenticate` value: one step of an MQTT 5 AUTH exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnhancedAuth {
    /// Send the client AUTH 0x18 with `data`; `state` comes back in the next step's event.
    Continue {
        /// Authentication Data for the client.
        data: Option<Bytes>,
        /// Handed back at the client's next step.
        state: Option<Bytes>,
    },
    /// Let the client in (CONNACK 0x00, or AUTH 0x00 after a re-authentication) with final
    /// `data`.
    Success {
        /// Final Authentication Data (e.g. a server signature).
        data: Option<Bytes>,
        /// Authorization is skipped for superusers.
        superuser: bool,
    },
    /// Refuse with a CONNACK refusal code (0x86, 0x87, 0x8C, ...) and an optional Reason String.
    Failure {
        /// The reason code; the broker refuses a code CONNACK cannot carry as a bad reply.
        reason_code: u8,
        /// For the client.
        reason_string: Option<String>,
    },
}

impl EnhancedAuth {
    pub(crate) fn into_value(self) -> pb::reply::Value {
        use pb::enhanced_auth::Answer as A;
        let answer = match self {
            EnhancedAuth::Continue { data, state } => {
                A::ContinueAuth(pb::AuthContinue { data, state })
            }
            EnhancedAuth::Success { data, superuser } => A::Success(pb::AuthSuccess {
                data,
                superuser,
                expire_at_ms: 0,
            }),
            EnhancedAuth::Failure {
                reason_code,
                reason_string,
            } => A::Failure(pb::AuthFailure {
                reason_code: u32::from(reason_code),
                reason_string,
            }),
        };
        pb::reply::Value::EnhancedAuth(pb::EnhancedAuth {
            answer: Some(answer),
        })
    }
}

/// Builds the protocol reply for an answer.
pub(crate) fn reply<T>(
    id: u64,
    answer: Answer<T>,
    value: impl FnOnce(T) -> pb::reply::Value,
) -> pb::Reply {
    let (outcome, value, error) = match answer {
        Answer::Ignore => (pb::Outcome::Ignore, None, String::new()),
        Answer::Continue(v) => (pb::Outcome::Continue, Some(value(v)), String::new()),
        Answer::Stop(v) => (pb::Outcome::Stop, Some(value(v)), String::new()),
        Answer::Fail(why) => (pb::Outcome::Fail, None, why),
    };
    pb::Reply {
        id,
        outcome: outcome as i32,
        value,
        error,
    }
}
