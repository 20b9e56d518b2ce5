//! Seeds of the configuration targets: for `config_toml`, the documented default file, the
//! examples' files, every section with values near its limits, and typical mistakes; for
//! `conf_file`, the block of EMQX 4.1's guide, several drivers with quotes and comments, and bad
//! values.

use super::Seed;

const EXAMPLE_PYTHON: &str = include_str!("../../../../examples/python/hookmq.toml");
const EXAMPLE_JAVA: &str = include_str!("../../../../examples/java/hookmq.toml");

/// The `config_toml` target's seeds.
pub(crate) fn toml_files() -> Vec<Seed> {
    let files: [(&str, &str); 14] = [
        ("default", hookmq::config::DEFAULT_TOML),
        ("example-python", EXAMPLE_PYTHON),
        ("example-java", EXAMPLE_JAVA),
        ("empty", ""),
        (
            "single-listener",
            "[listeners.tcp]\nbind = \"127.0.0.1:1883\"\n[listeners.ws.web]\nbind = \"0.0.0.0:8083\"\n",
        ),
        (
            "mqtt-limits",
            "[mqtt]\nmax_qos = 2\nmax_packet_size = \"1MB\"\nmax_inflight = 32\nreceive_maximum = 1\n\
             keepalive_multiplier = 1.5\nmax_keepalive = 600\nserver_keepalive = 60\n\
             max_clientid_len = 23\nmax_queue_len = 1000\nmax_topic_levels = 1024\n\
             response_information = \"resp/\"\n",
        ),
        (
            "sessions-auth",
            "[session]\nowner_change = \"discard\"\n[authorization]\nrecheck = \"deliver\"\n\
             allow_anonymous = false\n[auth.acl_file]\npath = \"acl.conf\"\n",
        ),
        (
            "persistence",
            "[persistence]\nenable = true\ndir = \"data/x\"\nsync = \"periodic\"\nsync_interval = \"250ms\"\n\
             [limits]\nmemory_high_watermark = \"512MB\"\nmemory_check_interval = \"10ms\"\n",
        ),
        (
            "shared-groups",
            "[shared_subscriptions]\nstrategy = \"round_robin\"\n[shared_subscriptions.groups]\n\
             \"g*\" = \"hash_clientid\"\nfixed = \"random\"\n",
        ),
        (
            "drivers-servers",
            "[exhook.drivers.python3]\npath = [\"hooks/\"]\ninit_module = \"hooks\"\n\
             [[exhook.servers]]\nname = \"grpc\"\nurl = \"http://127.0.0.1:9000\"\n\
             [[ext.servers]]\nname = \"ext\"\nurl = \"http://127.0.0.1:9001\"\n",
        ),
        (
            "cluster",
            "[cluster]\nenable = true\nnats_url = \"nats://127.0.0.1:4222\"\n[node]\nname = \"a@h\"\n",
        ),
        ("bad-qos", "[mqtt]\nmax_qos = 3\n"),
        ("unknown-key", "[mqtt]\nmax_qos = 1\nmax_qoss = 1\n"),
        ("bad-syntax", "[mqtt\nmax_qos = \n"),
    ];
    files
        .into_iter()
        .map(|(name, text)| Seed::new(name, text.as_bytes().to_vec()))
        .collect()
}

/// The `conf_file` target's seeds.
pub(crate) fn conf_files() -> Vec<Seed> {
    let files: [(&str, &str); 11] = [
        (
            "emqx-guide",
            "## Setup the supported drivers\n##\n## Value: python3 | java\n\
             exhook.drivers = python3\n\n## Search path for scripts/library\n\
             exhook.drivers.python3.path = data/extension/\n\n## Call timeout\n##\n\
             ## Value: Duration\n##exhook.drivers.python3.call_timeout = 5s\n\n\
             ## Initial module name\n## Your filename or module name\n\
             exhook.drivers.python3.init_module = hooks\n",
        ),
        (
            "two-drivers",
            "exhook.drivers = python3, java\n\
             exhook.drivers.java.path = \"data/java/\"\n\
             exhook.drivers.java.init_module = 'com.example.Hooks'\n\
             exhook.drivers.java.pool_size = 2\n\
             exhook.drivers.java.call_timeout = 250ms\n\
             exhook.drivers.python3.buffer = 3\n\
             exhook.drivers.python.path = x\n\
             exhook.other = 1\n",
        ),
        (
            "repeats",
            "exhook.drivers = python3,python3\nexhook.drivers = python3\n\
             exhook.drivers.python3.init_module = a\nexhook.drivers.python3.init_module = b\n",
        ),
        ("python2", "exhook.drivers = python2\n"),
        ("unknown-kind", "exhook.drivers = ruby\n"),
        (
            "bad-timeout",
            "exhook.drivers = python3\nexhook.drivers.python3.call_timeout = 5x\n",
        ),
        ("not-key-value", "just words\n"),
        ("empty", ""),
        (
            "unlisted-driver",
            "# java only\nexhook.drivers.python3.path = a,b\nexhook.drivers = java\n",
        ),
        (
            "pool-and-buffers",
            "exhook.drivers=python3\nexhook.drivers.python3.pool_size=0\n\
             exhook.drivers.python3.init_module=\"\"\n",
        ),
        (
            "crlf",
            "exhook.drivers = java\r\nexhook.drivers.java.path = lib\r\n\r\n# end\r\n",
        ),
    ];
    files
        .into_iter()
        .map(|(name, text)| Seed::new(name, text.as_bytes().to_vec()))
        .collect()
}
