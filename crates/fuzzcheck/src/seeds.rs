//! The meaningful inputs each fuzz target's corpus starts from: valid MQTT packets of every type
//! at every level (written by our encoder), topic filters and names around the specification's
//! edge cases, the Erlang terms Python and Java workers send (the port protocol's reference
//! examples, every tag the decoder reads), EMQX-style gRPC answers, and password and ACL files
//! in the formats of hookmq, Mosquitto and EMQX, stored records of every kind and version,
//! configuration files (`hookmq.toml`, `extension_hook.conf`), and client conversations.
//!
//! `cargo run -p hookmq-fuzzcheck --example seeds -- fuzz/corpus` writes them as
//! `fuzz/corpus/<target>/seed-<name>`; the replay test checks them too.

mod auth;
mod config;
mod ext;
mod grpc;
mod packets;
mod session;
mod store;
mod terms;

/// One seed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// A short name, unique within its target.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

impl Seed {
    fn new(name: impl Into<String>, bytes: Vec<u8>) -> Seed {
        Seed {
            name: name.into(),
            bytes,
        }
    }
}

/// The seeds of the target called `name` (see [`crate::TARGETS`]); none for an unknown name.
pub fn for_target(name: &str) -> Vec<Seed> {
    match name {
        "packet" => packets::seeds(),
        "topic" => topics(),
        "etf" => terms::terms(),
        "exhook" => grpc::replies(),
        "port_reply" => terms::port_replies(),
        "ext_reply" => ext::frames(),
        "port_batch" => terms::batch_answers(),
        "passwd_file" => auth::passwd_files(),
        "acl_file" => auth::acl_files(),
        "store" => store::records(),
        "config_toml" => config::toml_files(),
        "conf_file" => config::conf_files(),
        "session" => session::scripts(),
        _ => Vec::new(),
    }
}

fn topics() -> Vec<Seed> {
    let sets: [(&str, &[&str]); 6] = [
        (
            "spec-examples",
            &[
                "sport/tennis/player1/#",
                "sport/tennis/player1",
                "sport/tennis/player1/ranking",
                "sport/#",
                "sport/+",
                "sport/",
                "+/+",
                "/+",
                "/finance",
                "+",
            ],
        ),
        (
            "dollar",
            &[
                "#",
                "+/monitor/Clients",
                "$SYS/#",
                "$SYS/monitor/+",
                "$SYS/monitor/Clients",
                "$SYS",
                "$other/x",
                "+/#",
            ],
        ),
        (
            "shared",
            &[
                "$share/g1/sensors/+/temp",
                "$share/g1/#",
                "$share/g+/a",
                "$share//a",
                "$share/g",
                "$share",
                "$sharex/a",
                "sensors/1/temp",
            ],
        ),
        (
            "empty-levels",
            &["/", "//", "a//b", "a/+/b", "/#", "a/", "+/", "a//b/#"],
        ),
        (
            "misplaced",
            &["a/#/b", "a#", "a/b+", "++", "#/", "a/\u{0}", "", "a/+b/c"],
        ),
        ("utf8", &["é/€/+", "é/€/x", "\u{fffd}/#", "ü"]),
    ];
    sets.iter()
        .map(|(name, lines)| Seed::new(*name, lines.join("\n").into_bytes()))
        .collect()
}

/// Bytes from hex digits; anything else in `text` (spaces, newlines) is skipped.
pub(super) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| {
            let nibble = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
            (nibble(pair[0]) << 4) | pair.get(1).map_or(0, |&d| nibble(d))
        })
        .collect()
}
