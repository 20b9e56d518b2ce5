//! MQTT 5 enhanced authentication with SCRAM-SHA-256 (RFC 5802, RFC 7677): the same exchange
//! and user store as `examples/python/scram_auth.py` and `sdk/python/examples/scram.py` (a JSON
//! file of `{name: {salt, iterations, stored_key, server_key}}`, base64; add users with
//! `python3 examples/python/scram_auth.py add-user FILE NAME PASSWORD`). The two steps' messages
//! travel in the exchange state, so this extension keeps no per-client memory.
//!
//! ```text
//! cargo run -p hookmq-ext --example scram -- --users scram_users.json --listen 127.0.0.1:9205
//! ```

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{Answer, EnhancedAuth, Extension, OnClientEnhancedAuthenticate, Options};
use ring::rand::SecureRandom;
use ring::{digest, hmac};

mod common;

const METHOD: &str = "SCRAM-SHA-256";
const NOT_AUTHORIZED: u8 = 0x87;
const BAD_CREDENTIALS: u8 = 0x86;

struct Scram {
    users: String,
    rng: ring::rand::SystemRandom,
}

/// A user's stored keys.
struct User {
    salt: String,
    iterations: u64,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

fn refuse(code: u8, why: &str) -> Answer<EnhancedAuth> {
    Answer::Stop(EnhancedAuth::Failure {
        reason_code: code,
        reason_string: Some(why.to_owned()),
    })
}

/// `a=1,b=2` as pairs; `None` unless every part has that shape.
fn attributes(message: &str) -> Option<HashMap<char, &str>> {
    message
        .split(',')
        .map(|part| {
            let mut chars = part.chars();
            let key = chars.next()?;
            (chars.next() == Some('=')).then(|| (key, &part[2..]))
        })
        .collect()
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// Equal, compared in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Scram {
    /// The user store's record for `name`, read at each exchange (edits apply at once).
    fn user(&self, name: &str) -> Option<User> {
        let text = std::fs::read_to_string(&self.users).ok()?;
        let all: serde_json::Value = serde_json::from_str(&text).ok()?;
        let u = all.get(name)?;
        let b64 = |k: &str| B64.decode(u.get(k)?.as_str()?).ok();
        Some(User {
            salt: u.get("salt")?.as_str()?.to_owned(),
            iterations: u.get("iterations")?.as_u64()?,
            stored_key: b64("stored_key")?,
            server_key: b64("server_key")?,
        })
    }

    /// client-first -> server-first.
    fn first(&self, data: &[u8]) -> Answer<EnhancedAuth> {
        let Ok(text) = std::str::from_utf8(data) else {
            return refuse(NOT_AUTHORIZED, "client-first is not UTF-8");
        };
        let Some((header, bare)) = text.split_once(",,") else {
            return refuse(NOT_AUTHORIZED, "unsupported gs2 header");
        };
        if header != "n" && header != "y" {
            return refuse(NOT_AUTHORIZED, "unsupported gs2 header");
        }
        let Some(attrs) = attributes(bare) else {
            return refuse(NOT_AUTHORIZED, "malformed client-first");
        };
        let (Some(name), Some(nonce)) = (attrs.get(&'n'), attrs.get(&'r')) else {
            return refuse(NOT_AUTHORIZED, "malformed client-first");
        };
        // An unknown user gets a salt derived from its name: the exchange does not say who exists.
        let (salt, iterations) = match self.user(name) {
            Some(u) => (u.salt, u.iterations),
            None => {
                let d = digest::digest(&digest::SHA256, format!("unknown:{name}").as_bytes());
                (B64.encode(&d.as_ref()[..16]), 4096)
            }
        };
        let mut ours = [0u8; 18];
        if self.rng.fill(&mut ours).is_err() {
            return Answer::Fail("no randomness".into());
        }
        let server_first = format!("r={nonce}{},s={salt},i={iterations}", B64.encode(ours));
        let state = serde_json::json!({"bare": bare, "server_first": server_first, "gs2": format!("{header},,")});
        Answer::Stop(EnhancedAuth::Continue {
            data: Some(Bytes::from(server_first)),
            state: Some(Bytes::from(state.to_string())),
        })
    }

    /// client-final -> server-final, or a refusal.
    fn last(&self, data: &[u8], state: Option<&[u8]>) -> Answer<EnhancedAuth> {
        let saved: Option<serde_json::Value> = state.and_then(|s| serde_json::from_slice(s).ok());
        let field = |k: &str| {
            saved
                .as_ref()
                .and_then(|v| v.get(k)?.as_str().map(str::to_owned))
        };
        let (Some(bare), Some(server_first), Some(gs2)) =
            (field("bare"), field("server_first"), field("gs2"))
        else {
            return refuse(NOT_AUTHORIZED, "no exchange to continue");
        };
        let Some((without_proof, proof)) = std::str::from_utf8(data)
            .ok()
            .and_then(|t| t.rsplit_once(",p="))
        else {
            return refuse(NOT_AUTHORIZED, "malformed client-final");
        };
        let attrs = attributes(without_proof);
        let server_nonce = attributes(&server_first).and_then(|a| a.get(&'r').copied());
        if attrs.as_ref().and_then(|a| a.get(&'r')) != server_nonce.as_ref() {
            return refuse(NOT_AUTHORIZED, "nonce mismatch");
        }
        if attrs.as_ref().and_then(|a| a.get(&'c').copied()) != Some(B64.encode(&gs2).as_str()) {
            return refuse(NOT_AUTHORIZED, "channel binding mismatch");
        }
        let name = attributes(&bare)
            .and_then(|a| a.get(&'n').map(|n| (*n).to_owned()))
            .unwrap_or_default();
        let auth_message = format!("{bare},{server_first},{without_proof}");
        let (Some(user), Ok(client_proof)) = (self.user(&name), B64.decode(proof)) else {
            return refuse(BAD_CREDENTIALS, "authentication failed");
        };
        let signature = hmac_sha256(&user.stored_key, auth_message.as_bytes());
        if client_proof.len() != signature.len() {
            return refuse(BAD_CREDENTIALS, "authentication failed");
        }
        let client_key: Vec<u8> = client_proof
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let stored = digest::digest(&digest::SHA256, &client_key);
        if !same(stored.as_ref(), &user.stored_key) {
            return refuse(BAD_CREDENTIALS, "authentication failed");
        }
        let server_signature = hmac_sha256(&user.server_key, auth_message.as_bytes());
        Answer::Stop(EnhancedAuth::Success {
            data: Some(Bytes::from(format!("v={}", B64.encode(server_signature)))),
            superuser: false,
        })
    }
}

impl OnClientEnhancedAuthenticate for Scram {
    async fn on_client_enhanced_authenticate(
        &self,
        e: pb::ClientEnhancedAuthenticate,
    ) -> Answer<EnhancedAuth> {
        if e.method != METHOD {
            return Answer::Ignore;
        }
        let data = e.data.unwrap_or_default();
        if e.step == pb::AuthStep::Continue as i32 {
            self.last(&data, e.state.as_deref())
        } else {
            self.first(&data)
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = common::Args::parse("127.0.0.1:9205")?;
    let scram = Scram {
        users: args
            .value("--users")
            .unwrap_or("scram_users.json")
            .to_owned(),
        rng: ring::rand::SystemRandom::new(),
    };
    common::serve(
        Extension::new("scram").on_client_enhanced_authenticate(scram, Options::new()),
        &args,
    )
    .await
}
