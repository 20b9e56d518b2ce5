//! Rewriting and dropping messages before they are routed (the same rules as
//! `sdk/python/examples/rewrite.py`): `legacy/<rest>` goes to `v2/<rest>` upper-cased, payloads
//! containing `spam` are dropped; only topics under `legacy/#` and `chat/#` reach the extension.
//!
//! ```text
//! cargo run -p hookmq-ext --example rewrite -- --listen 127.0.0.1:9204
//! ```

use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{Answer, Extension, OnMessagePublish, Options, Publish};

mod common;

struct Rewrite;

impl OnMessagePublish for Rewrite {
    async fn on_message_publish(&self, e: pb::MessagePublish) -> Answer<Publish> {
        let m = e.message.unwrap_or_default();
        if m.payload.windows(4).any(|w| w == b"spam") {
            return Answer::Stop(Publish::drop());
        }
        match m.topic.strip_prefix("legacy/") {
            Some(rest) => Answer::Continue(
                Publish::unchanged()
                    .topic(format!("v2/{rest}"))
                    .payload(m.payload.to_ascii_uppercase()),
            ),
            None => Answer::Ignore,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = common::Args::parse("127.0.0.1:9204")?;
    let ext = Extension::new("rewrite")
        .on_message_publish(Rewrite, Options::new().topics(["legacy/#", "chat/#"]));
    common::serve(ext, &args).await
}
