//! `client.authenticate` and `client.enhanced_authenticate` as the chain runs them: the
//! [`Login`] a fold of authentication answers comes to (result, grant, redirection, refusal
//! texts), and the broker's [`AssignedIdRules`] checked against every client id a handler
//! assigns, so a bad assignment is that handler's bad reply. The broker's connection
//! (`connect.rs`, `auth_exchange.rs`) calls these.

use std::sync::Arc;

use hookmq_codec::ReasonCode;

use crate::chain::{Accumulator, Step};
use crate::connack_terms::Refusal;
use crate::enhanced_auth::{AuthRequest, EnhancedAuth};
use crate::event::{AuthResult, Event};
use crate::grant::Grant;
use crate::handler::{HookError, Value};
use crate::info::{ClientInfo, Identity};
use crate::point::HookPoint;
use crate::redirect::Redirect;
use crate::registry::{Hooks, Slot};
use crate::rights::{RightError, check_connack_terms, check_refusal, connack_refusal, field_len};

/// The outcome of `client.authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Let in or refused.
    pub result: AuthResult,
    /// Whether a handler gave the result (a client let in by a handler is not anonymous).
    pub decided: bool,
    /// The terms of the handler that let the client in, if it gave any.
    pub grant: Option<Grant>,
    /// Where the handler that refused the client sends it, if it did.
    pub redirect: Option<Redirect>,
    /// What the handler that refused the client tells it, if it answered with a [`Refusal`].
    pub refusal: Option<Refusal>,
}

/// The broker's own rules for a client id a handler assigns, beyond its form
/// ([`check_assigned_client_id`](crate::check_assigned_client_id)): the configured length, and that a session held under that
/// id belongs to the client's identity. An assignment that breaks them is the handler's bad
/// reply, so its failure policy applies. Closures of that shape implement it.
pub trait AssignedIdRules: Send + Sync {
    /// Whether the broker accepts `id` as the client's id.
    fn check(&self, id: &str) -> Result<(), RightError>;
}

impl<F> AssignedIdRules for F
where
    F: Fn(&str) -> Result<(), RightError> + Send + Sync,
{
    fn check(&self, id: &str) -> Result<(), RightError> {
        self(id)
    }
}

/// No rules beyond the id's form (callers outside the broker: tests, `hookmq hooks replay`).
fn any_id(_: &str) -> Result<(), RightError> {
    Ok(())
}

/// `client.authenticate` accumulator: a later handler's value replaces the whole of it, grant,
/// redirection and refusal text included.
struct AuthAcc(AuthResult, Option<Grant>, Option<Redirect>, Option<Refusal>);

impl Accumulator for AuthAcc {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Auth(r) => Some(AuthAcc(r, None, None, None)),
            Value::Grant(g) => Some(AuthAcc(
                AuthResult::Allow {
                    superuser: g.superuser,
                },
                Some(g),
                None,
                None,
            )),
            Value::Redirect(r) => Some(AuthAcc(
                AuthResult::Deny(r.reason_code()),
                None,
                Some(r),
                None,
            )),
            Value::Refuse(r) => Some(AuthAcc(AuthResult::Deny(r.code), None, None, Some(r))),
            Value::Allow(true) => Some(AuthAcc(
                AuthResult::Allow { superuser: false },
                None,
                None,
                None,
            )),
            Value::Allow(false) => Some(AuthAcc(
                AuthResult::Deny(ReasonCode::NOT_AUTHORIZED),
                None,
                None,
                None,
            )),
            _ => None,
        }
    }
    fn denied() -> Self {
        AuthAcc(
            AuthResult::Deny(ReasonCode::NOT_AUTHORIZED),
            None,
            None,
            None,
        )
    }
    fn unavailable() -> Option<Self> {
        Some(AuthAcc(
            AuthResult::Deny(ReasonCode::SERVER_UNAVAILABLE),
            None,
            None,
            None,
        ))
    }
    /// A refusal must carry a code CONNACK allows ([MQTT-3.2.2-7]); 3.x clients get its return
    /// code mapping. A grant's CONNACK terms and a refusal's texts must fit a CONNACK.
    fn check(&self) -> Result<(), RightError> {
        match self.0 {
            AuthResult::Deny(code) => connack_refusal(code).map(|_| ())?,
            AuthResult::Allow { .. } => {}
        }
        if let Some(g) = &self.1 {
            check_connack_terms(&g.connack)?;
        }
        if let Some(r) = &self.3 {
            check_refusal(r)?;
        }
        Ok(())
    }
    fn assigned_id(&self) -> Option<&str> {
        self.1
            .as_ref()
            .and_then(|g| g.connack.assigned_client_id.as_deref())
    }
}

/// `client.enhanced_authenticate` accumulator. Besides its own value, a handler may answer as it
/// would `client.authenticate`: a grant or allow(true) lets the client in without final data,
/// allow(false) refuses it with 0x87.
impl Accumulator for EnhancedAuth {
    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::EnhancedAuth(a) => Some(a),
            Value::Grant(grant) => Some(EnhancedAuth::Success { data: None, grant }),
            Value::Allow(true) => Some(EnhancedAuth::Success {
                data: None,
                grant: Grant::default(),
            }),
            Value::Allow(false) => Some(EnhancedAuth::not_authorized()),
            Value::Refuse(r) => Some(EnhancedAuth::Failure {
                reason: r.code,
                reason_string: r.reason_string,
            }),
            _ => None,
        }
    }
    fn denied() -> Self {
        EnhancedAuth::not_authorized()
    }
    /// Data and reason string fit a packet field; a refusal code is one CONNACK can carry.
    fn check(&self) -> Result<(), RightError> {
        match self {
            EnhancedAuth::Continue { data, .. } => {
                field_len("Authentication Data", data.as_ref().map_or(0, |d| d.len()))
            }
            EnhancedAuth::Success { data, grant } => {
                field_len("Authentication Data", data.as_ref().map_or(0, |d| d.len()))?;
                check_connack_terms(&grant.connack)
            }
            EnhancedAuth::Failure {
                reason,
                reason_string,
            } => {
                connack_refusal(*reason)?;
                field_len(
                    "Reason String",
                    reason_string.as_ref().map_or(0, |t| t.len()),
                )
            }
        }
    }
    fn assigned_id(&self) -> Option<&str> {
        match self {
            EnhancedAuth::Success { grant, .. } => grant.connack.assigned_client_id.as_deref(),
            _ => None,
        }
    }
}

impl Hooks {
    /// Runs `client.authenticate`. `initial` is what the broker decides on its own
    /// (`allow_anonymous`); the result decides the CONNACK.
    pub async fn authenticate(
        &self,
        clientinfo: Arc<ClientInfo>,
        initial: AuthResult,
    ) -> AuthResult {
        self.authenticate_decided(clientinfo, initial).await.0
    }

    /// Like [`Hooks::authenticate`], also saying whether a handler gave a value (a client let in
    /// by a handler is no longer anonymous).
    pub async fn authenticate_decided(
        &self,
        clientinfo: Arc<ClientInfo>,
        initial: AuthResult,
    ) -> (AuthResult, bool) {
        let login = self.login(clientinfo, None, initial).await;
        (login.result, login.decided)
    }

    /// Runs `client.authenticate` and returns the whole outcome, with the terms
    /// ([`Grant`]) of the handler that let the client in. `previous_owner` is the owner of the
    /// session the client id already has, if any, which handlers see.
    pub async fn login(
        &self,
        clientinfo: Arc<ClientInfo>,
        previous_owner: Option<Identity>,
        initial: AuthResult,
    ) -> Login {
        self.login_assigning(clientinfo, previous_owner, initial, &any_id)
            .await
    }

    /// [`Hooks::login`] with the broker's `rules` for a client id a handler assigns: a handler
    /// whose assignment breaks them gave a bad reply (its failure policy applies).
    pub async fn login_assigning(
        &self,
        clientinfo: Arc<ClientInfo>,
        previous_owner: Option<Identity>,
        initial: AuthResult,
        rules: &dyn AssignedIdRules,
    ) -> Login {
        let table = self.table.load_full();
        let mut acc = AuthAcc(initial, None, None, None);
        let mut decided = false;
        for slot in &table.by_point[HookPoint::ClientAuthenticate.index()] {
            let event = Event::ClientAuthenticate {
                clientinfo: clientinfo.clone(),
                result: acc.0,
                previous_owner: previous_owner.clone(),
            };
            match Hooks::assigning(slot, Hooks::step(slot, event).await, rules) {
                Step::Keep => {}
                Step::Replace(r) => {
                    acc = r;
                    decided = true;
                }
                Step::Finish(r) => {
                    acc = r;
                    decided = true;
                    break;
                }
            }
        }
        let AuthAcc(result, grant, redirect, refusal) = acc;
        Login {
            result,
            decided,
            // A grant only means something for a client that is let in.
            grant: grant.filter(|_| result.is_allowed()),
            redirect: redirect.filter(|_| !result.is_allowed()),
            refusal: refusal.filter(|_| !result.is_allowed()),
        }
    }

    /// A fold step whose value assigns a client id the broker's `rules` refuse becomes the
    /// handler's failure.
    fn assigning<T: Accumulator>(
        slot: &Slot,
        step: Step<T>,
        rules: &dyn AssignedIdRules,
    ) -> Step<T> {
        let (Step::Replace(t) | Step::Finish(t)) = &step else {
            return step;
        };
        match t.assigned_id().map(|id| rules.check(id)) {
            Some(Err(e)) => {
                // Counted by the breaker like any other bad value.
                slot.entry
                    .dispatcher
                    .breaker()
                    .bad_value(tokio::time::Instant::now());
                Hooks::failed(slot, &HookError::BadReply(e.to_string()))
            }
            _ => step,
        }
    }

    /// Runs `client.enhanced_authenticate` for one step of an AUTH exchange. Starts from
    /// [`EnhancedAuth::unhandled`] (0x8C Bad authentication method), so a method no handler
    /// answers is refused; the broker acts on the result.
    pub async fn enhanced_authenticate(
        &self,
        clientinfo: Arc<ClientInfo>,
        request: AuthRequest,
    ) -> EnhancedAuth {
        self.enhanced_authenticate_assigning(clientinfo, request, &any_id)
            .await
    }

    /// [`Hooks::enhanced_authenticate`] with the broker's `rules` for a client id a handler
    /// assigns in its success.
    pub async fn enhanced_authenticate_assigning(
        &self,
        clientinfo: Arc<ClientInfo>,
        request: AuthRequest,
        rules: &dyn AssignedIdRules,
    ) -> EnhancedAuth {
        let table = self.table.load_full();
        let mut acc = EnhancedAuth::unhandled();
        for slot in &table.by_point[HookPoint::ClientEnhancedAuthenticate.index()] {
            let event = Event::ClientEnhancedAuthenticate {
                clientinfo: clientinfo.clone(),
                method: request.method.clone(),
                data: request.data.clone(),
                step: request.step,
                state: request.state.clone(),
                result: acc.clone(),
            };
            match Hooks::assigning(slot, Hooks::step(slot, event).await, rules) {
                Step::Keep => {}
                Step::Replace(r) => acc = r,
                Step::Finish(r) => return r,
            }
        }
        acc
    }
}
