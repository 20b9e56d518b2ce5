//! MQTT 5 enhanced authentication (§4.12) as hook code sees it: the step an AUTH exchange is at
//! ([`AuthStep`]) and the answer of `client.enhanced_authenticate` ([`EnhancedAuth`]): send the
//! client more data and wait for its reply, let it in (with the terms of a [`Grant`]), or refuse
//! it. The broker's connection task runs the exchange (`broker/src/connection/auth_exchange.rs`)
//! and calls [`Hooks::enhanced_authenticate`](crate::Hooks::enhanced_authenticate) once per step.

use bytes::Bytes;
use bytestring::ByteString;
use hookmq_codec::ReasonCode;

use crate::grant::Grant;

/// Where an exchange stands when the hook is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthStep {
    /// A CONNECT with an Authentication Method arrived (its data, if any, is the event's data).
    Initial,
    /// The client answered the broker's AUTH 0x18 with AUTH 0x18 (Continue authentication).
    Continue,
    /// A connected client sent AUTH 0x19 (Re-authenticate).
    Reauthenticate,
}

impl AuthStep {
    /// The step's name in every driver: `initial`, `continue` or `reauthenticate`.
    pub fn name(self) -> &'static str {
        match self {
            AuthStep::Initial => "initial",
            AuthStep::Continue => "continue",
            AuthStep::Reauthenticate => "reauthenticate",
        }
    }

    /// The step of a name given by [`AuthStep::name`].
    pub fn from_name(name: &str) -> Option<AuthStep> {
        match name {
            "initial" => Some(AuthStep::Initial),
            "continue" => Some(AuthStep::Continue),
            "reauthenticate" => Some(AuthStep::Reauthenticate),
            _ => None,
        }
    }
}

/// The answer to one step of an exchange, which is also the accumulator of
/// `client.enhanced_authenticate`. Before any handler answers it is a refusal with 0x8C Bad
/// authentication method: a method nobody handles is refused ([MQTT-4.12.0-1]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnhancedAuth {
    /// Send the client AUTH 0x18 (Continue authentication) with `data` and wait for its next
    /// AUTH; `state` comes back to the handlers in that step's event, so a handler keeps no
    /// per-client memory (and none leaks when a client never answers).
    Continue {
        /// Authentication Data for the client.
        data: Option<Bytes>,
        /// Opaque state for the next step.
        state: Option<Bytes>,
    },
    /// Let the client in (CONNACK 0x00, or AUTH 0x00 after a re-authentication) with `data`
    /// as the final Authentication Data, on the terms of `grant` (superuser, expiry, rights),
    /// as `client.authenticate`'s [`Value::Grant`](crate::Value::Grant) does.
    Success {
        /// Authentication Data for the client (e.g. a server signature).
        data: Option<Bytes>,
        /// The terms of the login.
        grant: Grant,
    },
    /// Refuse: CONNACK with `reason` (MQTT 5 §3.2.2.2), or after a re-authentication
    /// DISCONNECT with it (§3.14.2.1; a code DISCONNECT cannot carry becomes 0x87).
    Failure {
        /// The reason code, e.g. 0x87 Not authorized, 0x86 Bad user name or password,
        /// 0x8C Bad authentication method.
        reason: ReasonCode,
        /// A Reason String for the client (CONNACK only).
        reason_string: Option<ByteString>,
    },
}

impl EnhancedAuth {
    /// What the broker answers when no handler does: 0x8C Bad authentication method.
    pub fn unhandled() -> EnhancedAuth {
        EnhancedAuth::Failure {
            reason: ReasonCode::BAD_AUTHENTICATION_METHOD,
            reason_string: None,
        }
    }

    /// A refusal with 0x87 Not authorized, what a failed handler under `failed_action = deny`
    /// means.
    pub fn not_authorized() -> EnhancedAuth {
        EnhancedAuth::Failure {
            reason: ReasonCode::NOT_AUTHORIZED,
            reason_string: None,
        }
    }

    /// `continue`, `success` or `failure`.
    pub fn name(&self) -> &'static str {
        match self {
            EnhancedAuth::Continue { .. } => "continue",
            EnhancedAuth::Success { .. } => "success",
            EnhancedAuth::Failure { .. } => "failure",
        }
    }
}

/// One step of an exchange, as the broker asks the chain about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// The Authentication Method of the CONNECT (every AUTH of the exchange carries the same).
    pub method: ByteString,
    /// The client's Authentication Data in this step.
    pub data: Option<Bytes>,
    /// Which step.
    pub step: AuthStep,
    /// The `state` of the previous step's [`EnhancedAuth::Continue`] (`None` at the first step
    /// of an exchange).
    pub state: Option<Bytes>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_round_trip() {
        for s in [
            AuthStep::Initial,
            AuthStep::Continue,
            AuthStep::Reauthenticate,
        ] {
            assert_eq!(AuthStep::from_name(s.name()), Some(s));
        }
        assert_eq!(AuthStep::from_name("reauth"), None);
    }
}
