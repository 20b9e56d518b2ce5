//! A no-op extension for the benchmarks (`bench/run.sh`, driver `stream-rust`): it registers one
//! point and answers as cheaply as the SDK allows (`message.publish`: no opinion;
//! `client.authenticate`: allow), so what is measured is the protocol and the broker's side.
//!
//! ```text
//! cargo run --release -p hookmq-ext --example noop -- --listen 127.0.0.1:9300 --hook message.publish [--observe yes]
//! ```

use hookmq_ext::proto::v1 as pb;
use hookmq_ext::{
    Answer, Auth, Extension, OnClientAuthenticate, OnMessagePublish, Options, Publish,
};

mod common;

struct Noop;

impl OnMessagePublish for Noop {
    async fn on_message_publish(&self, _e: pb::MessagePublish) -> Answer<Publish> {
        Answer::Ignore
    }
}

impl OnClientAuthenticate for Noop {
    async fn on_client_authenticate(&self, _e: pb::ClientAuthenticate) -> Answer<Auth> {
        Answer::Stop(Auth::Allow)
    }
}

fn main() -> anyhow::Result<()> {
    let args = common::Args::parse("127.0.0.1:9300")?;
    let mut options = Options::new();
    if args.value("--observe") == Some("yes") {
        options = options.observe();
    }
    let ext = match args.value("--hook").unwrap_or("message.publish") {
        "client.authenticate" => Extension::new("noop").on_client_authenticate(Noop, options),
        _ => Extension::new("noop").on_message_publish(Noop, options),
    };
    // One thread, like the Python server: the extension's CPU is one core at most.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(common::serve(ext, &args))
}
