//! The JWT source: a `client.authenticate` handler that verifies a token from the CONNECT
//! password (or user name) with HS256, RS256 or ES256, checks `exp` / `nbf` and configured
//! claims, and lets the client in on a [`Grant`]: its expiry (the broker disconnects the client
//! at `exp`) and the token's ACL claim as rights that the same handler applies at
//! `client.authorize`.
//!
//! A credential that is not shaped like a JWT (three base64url parts) is left to the next
//! handler, so a password file and JWT can serve the same listener; a JWT that fails
//! verification is refused (0x86 / v3 code 4), never passed on.

mod claims;
mod keys;

use std::sync::Arc;

use hookmq_codec::ReasonCode;
use hookmq_hooks::{
    Action, AuthResult, ClientInfo, Event, Grant, Handler, HookFuture, Rights, Value, Verdict,
};
use jsonwebtoken::Validation;
use serde_json::Value as Json;

pub(crate) use keys::{Key, KeyStore, from_jwks, from_pem};

use crate::acl::{Acl, Identity, Permission, Requester};
use crate::config::{NoMatch, TokenFrom};

/// The `client.authenticate` and `client.authorize` handler of `[auth.jwt]`.
pub(crate) struct JwtSource {
    /// Handler name: the issuer of the rights it grants.
    pub(crate) name: Arc<str>,
    pub(crate) keys: KeyStore,
    pub(crate) from: TokenFrom,
    /// Claims that must equal a template (`${username}`, `${clientid}`).
    pub(crate) verify_claims: Vec<(String, String)>,
    pub(crate) acl_claim: String,
    pub(crate) acl_no_match: NoMatch,
    pub(crate) disconnect_on_expire: bool,
}

fn refused() -> Verdict {
    Verdict::Stop(Value::Auth(AuthResult::Deny(
        ReasonCode::BAD_USER_NAME_OR_PASSWORD,
    )))
}

/// Whether `text` is shaped like a compact JWS.
fn looks_like_jwt(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn render(template: &str, c: &ClientInfo) -> String {
    template
        .replace("${username}", c.username.as_deref().unwrap_or(""))
        .replace("${clientid}", &c.clientid)
}

impl JwtSource {
    /// Verifies the token; `Err` is the log reason of a refusal.
    fn verify(&self, token: &str, c: &ClientInfo) -> Result<Json, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
        if !keys::ALGORITHMS.contains(&header.alg) {
            return Err(format!("algorithm {:?} not accepted", header.alg));
        }
        let keys = self.keys.keys();
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut last = String::from("no key for the token's algorithm and kid");
        for key in keys.iter().filter(|k| {
            k.alg == header.alg
                && match (&header.kid, &k.kid) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                }
        }) {
            match jsonwebtoken::decode::<Json>(token, &key.key, &validation) {
                Ok(data) => {
                    for (claim, template) in &self.verify_claims {
                        let want = render(template, c);
                        if data.claims.get(claim).and_then(Json::as_str) != Some(want.as_str()) {
                            return Err(format!("claim {claim:?} is not {want:?}"));
                        }
                    }
                    return Ok(data.claims);
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }

    fn authenticate(&self, c: &ClientInfo) -> Verdict {
        let token = match self.from {
            TokenFrom::Password => c
                .password
                .as_ref()
                .and_then(|p| std::str::from_utf8(p).ok()),
            TokenFrom::Username => c.username.as_deref(),
        };
        let Some(token) = token.filter(|t| looks_like_jwt(t)) else {
            return Verdict::Ignore;
        };
        let claims = match self.verify(token, c) {
            Ok(claims) => claims,
            Err(why) => {
                tracing::debug!(reason = %why, "JWT refused");
                return refused();
            }
        };
        let rights = match claims.get(&self.acl_claim) {
            None => None,
            Some(acl) => match claims::parse(acl) {
                Ok(rules) => Some(Rights {
                    issuer: self.name.clone(),
                    data: Arc::new(Acl { rules }),
                }),
                Err(why) => {
                    tracing::debug!(reason = %why, "JWT refused: bad ACL claim");
                    return refused();
                }
            },
        };
        let expire_at_ms = claims
            .get("exp")
            .and_then(Json::as_u64)
            .filter(|_| self.disconnect_on_expire)
            .map(|s| s.saturating_mul(1000));
        Verdict::Stop(Value::Grant(Grant {
            superuser: false,
            expire_at_ms,
            rights,
            ..Grant::default()
        }))
    }

    fn authorize(&self, c: &ClientInfo, action: Action, topic: &str) -> Verdict {
        let Some(acl) = c
            .grant
            .as_ref()
            .and_then(|g| g.rights.as_ref())
            .and_then(|r| r.get::<Acl>(&self.name))
        else {
            // Not let in by this handler's token, or the token had no ACL claim.
            return Verdict::Ignore;
        };
        let who = Requester {
            id: Identity {
                username: c.username.as_deref(),
                clientid: &c.clientid,
            },
            ip: c.peer.ip(),
        };
        match acl.decide(&who, action, topic) {
            Some(rule) => Verdict::Stop(Value::Allow(rule.permission == Permission::Allow)),
            None => self.acl_no_match.verdict(),
        }
    }
}

impl Handler for JwtSource {
    fn call(&self, event: Arc<Event>) -> HookFuture {
        let verdict = match &*event {
            Event::ClientAuthenticate { clientinfo, .. } => self.authenticate(clientinfo),
            Event::ClientAuthorize {
                clientinfo,
                action,
                topic,
                ..
            } => self.authorize(clientinfo, *action, topic),
            _ => Verdict::Ignore,
        };
        Box::pin(std::future::ready(Ok(verdict)))
    }

    fn pipelined(&self) -> bool {
        true
    }
}
