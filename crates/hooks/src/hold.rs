//! A held acknowledgement: what `message.publish` returns when a handler answered
//! [`Value::Hold`](crate::Value::Hold). The broker routes the message, keeps the publisher's
//! PUBACK / PUBREC back, and sends it when the handler confirms the message by id (the `confirm`
//! service, [`BrokerServices::confirm`](crate::BrokerServices::confirm)) or, failing that, at the
//! deadline, as the handler's failure policy says.

use std::time::Duration;

use crate::handler::FailedAction;
use crate::message::MessageId;

/// The terms of a hold, read from the handler that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The id of the message as the holding handler saw it: what it confirms.
    pub id: MessageId,
    /// The handler's name.
    pub by: String,
    /// How long the acknowledgement waits for the confirmation ([`HandlerSpec::hold_timeout`](crate::HandlerSpec::hold_timeout)).
    pub timeout: Duration,
    /// What the deadline means: [`FailedAction::Ignore`] acknowledges with success,
    /// [`FailedAction::Deny`] like a failure confirmation.
    pub failed_action: FailedAction,
}
