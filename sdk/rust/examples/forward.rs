//! Use case 4: forwarding messages, here to a JSON-lines file (as
//! `sdk/python/examples/forward.py`), the way one would forward to Kafka or a database.
//! `message.publish` is observe-only: routing never waits for this extension; only topics
//! matching `--topic` filters are sent.
//!
//! ```text
//! cargo run -p hookmq-ext --example forward -- --out messages.jsonl --topic 'sensors/#'
//! ```

use std::io::Write;
use std::sync::Mutex;

use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{Answer, Extension, OnMessagePublish, Options, Publish};

mod common;

struct Forward(Mutex<std::io::LineWriter<std::fs::File>>);

/// A JSON string literal.
fn json(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl OnMessagePublish for Forward {
    async fn on_message_publish(&self, e: pb::MessagePublish) -> Answer<Publish> {
        let m = e.message.unwrap_or_default();
        let payload = match std::str::from_utf8(&m.payload) {
            Ok(text) => format!("\"text\": {}", json(text)),
            Err(_) => format!("\"bytes\": {}", m.payload.len()),
        };
        let line = format!(
            "{{\"topic\": {}, {payload}, \"qos\": {}, \"from\": {}}}",
            json(&m.topic),
            m.qos,
            json(&m.from)
        );
        if let Ok(mut out) = self.0.lock() {
            let _ = writeln!(out, "{line}");
        }
        Answer::Ignore
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = common::Args::parse("127.0.0.1:9203")?;
    let out = args
        .value("--out")
        .ok_or_else(|| anyhow::anyhow!("--out FILE is required"))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)?;
    let topics = args.values("--topic");
    let ext = Extension::new("forward").on_message_publish(
        Forward(Mutex::new(std::io::LineWriter::new(file))),
        Options::new().topics(topics).observe(),
    );
    common::serve(ext, &args).await
}
