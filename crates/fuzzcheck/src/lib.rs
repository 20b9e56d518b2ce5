//! The properties the fuzz targets check, in one place: each libFuzzer target in `fuzz/` is a
//! one-line call to a `check` function here, and the corpus replay test (`tests/replay.rs`, run
//! by `cargo test`) runs every kept input of `fuzz/corpus/` and `fuzz/regressions/` through the
//! same function without libFuzzer. [`seeds`] builds the meaningful inputs each corpus starts from.
//!
//! A `check` takes arbitrary bytes and panics when hookmq breaks a property on them: a panic in
//! the code under test, or an assertion here (a round trip that does not come back, two topic
//! matchers that disagree, a reply turned into a verdict it must not give). Inputs that the code
//! under test rejects are fine; what it accepts must behave.
//!
//! | Target | Check | Code under test |
//! |---|---|---|
//! | `packet` | [`packet::check`] | `hookmq_codec::{decode_packet, encode_packet, encoded_len}` |
//! | `topic` | [`topic::check`] | `hookmq_codec::topic`, the broker's topic tree |
//! | `etf` | [`etf::check`] | `hookmq_port::{etf, frame::FrameDecoder, message::Incoming}` |
//! | `exhook` | [`exhook::check`] | the exhook client's reply and `OnProviderLoaded` conversions |
//! | `port_reply` | [`port_reply::check`] | the port drivers' `verdict`, `parse_init`, `error_text` |
//! | `ext_reply` | [`ext_reply::check`] | the stream protocol's reply sorting, verdicts and `Register` reading |
//! | `port_batch` | [`port_batch::check`] | the port drivers' batch answers: `message::BatchReply`, matching them to calls |
//! | `passwd_file` | [`auth::check_passwd_file`] | `hookmq_auth::password::PasswordFile` |
//! | `acl_file` | [`auth::check_acl_file`] | `hookmq_auth::acl::Acl` (Mosquitto and EMQX syntaxes) |
//! | `store` | [`store::check`] | the persistence store's record decoders (`hookmq_broker::bench_api::StoredRecord`) |
//! | `config_toml` | [`config::check_toml`] | `hookmq.toml` loading and validation (`hookmq::config::parse`) |
//! | `conf_file` | [`config::check_conf_file`] | `hookmq_port::conf_file::parse` (`extension_hook.conf`) |
//! | `session` | [`session::check`] | the broker's connection state machine, packet sequences on one or two connections |

// A failed check must panic: that is how libFuzzer and the replay test see it.
#![allow(clippy::panic)]

pub mod auth;
pub mod config;
pub mod etf;
pub mod exhook;
pub mod ext_reply;
pub mod packet;
pub mod port_batch;
pub mod port_reply;
pub mod seeds;
pub mod session;
pub mod store;
pub mod topic;

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the corpus directory
/// `fuzz/corpus/<name>/`) and its check.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The target's name.
    pub name: &'static str,
    /// Checks one input; panics on a broken property.
    pub check: fn(&[u8]),
}

/// Every fuzz target.
pub const TARGETS: [Target; 13] = [
    Target {
        name: "packet",
        check: packet::check,
    },
    Target {
        name: "topic",
        check: topic::check,
    },
    Target {
        name: "etf",
        check: etf::check,
    },
    Target {
        name: "exhook",
        check: exhook::check,
    },
    Target {
        name: "port_reply",
        check: port_reply::check,
    },
    Target {
        name: "ext_reply",
        check: ext_reply::check,
    },
    Target {
        name: "port_batch",
        check: port_batch::check,
    },
    Target {
        name: "passwd_file",
        check: auth::check_passwd_file,
    },
    Target {
        name: "acl_file",
        check: auth::check_acl_file,
    },
    Target {
        name: "store",
        check: store::check,
    },
    Target {
        name: "config_toml",
        check: config::check_toml,
    },
    Target {
        name: "conf_file",
        check: config::check_conf_file,
    },
    Target {
        name: "session",
        check: session::check,
    },
];

/// Asserts that a rewrite by a hook (which may change topic, payload and QoS) kept every other
/// field of the message.
fn assert_rest_kept(rewritten: &hookmq_hooks::Message, original: &hookmq_hooks::Message) {
    let rest = |x: &hookmq_hooks::Message| {
        (
            x.id,
            x.from.clone(),
            x.retain,
            x.timestamp_ms,
            x.properties.clone(),
            x.headers.clone(),
        )
    };
    assert_eq!(
        rest(rewritten),
        rest(original),
        "fields other than topic, payload, qos changed"
    );
}
