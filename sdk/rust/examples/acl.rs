//! Use case 3: publish / subscribe ACL per client and topic (the same rules as
//! `sdk/python/examples/acl.py`): everyone may use `users/<own user name>/#`, anyone may
//! subscribe to `public/#`, nobody may touch `secret/#`, the rest is left to the broker's
//! `authorization.no_match`. Topics are compared segment by segment, so a user name with `+`,
//! `#` or `/` never widens its own tree.
//!
//! ```text
//! cargo run -p hookmq-ext --example acl -- --listen 127.0.0.1:9202
//! ```

use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{Answer, Extension, OnClientAuthorize, Options};

mod common;

struct Acl;

/// Whether `topic` is `users/<username>` or below it.
fn own_tree(username: &str, topic: &str) -> bool {
    if username.is_empty() || username.contains(['+', '#', '/']) {
        return false;
    }
    let mut parts = topic.split('/');
    parts.next() == Some("users") && parts.next() == Some(username)
}

impl OnClientAuthorize for Acl {
    async fn on_client_authorize(&self, e: pb::ClientAuthorize) -> Answer<bool> {
        let topic = e.topic.as_str();
        if topic == "secret" || topic.starts_with("secret/") {
            return Answer::Stop(false);
        }
        let user = e.clientinfo.and_then(|c| c.username).unwrap_or_default();
        if own_tree(&user, topic) {
            return Answer::Stop(true);
        }
        if e.action == pb::Action::Subscribe as i32 && topic.starts_with("public/") {
            return Answer::Stop(true);
        }
        Answer::Ignore
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = common::Args::parse("127.0.0.1:9202")?;
    common::serve(
        Extension::new("acl").on_client_authorize(Acl, Options::new()),
        &args,
    )
    .await
}
