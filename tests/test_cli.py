"""The command line and configuration: defaults, validation with exit code 64 naming the key,
environment overrides, and mosquitto's own clients against the broker."""

import shutil
import subprocess

import pytest

from harness import BIN, Client


def run(*args, env=None, timeout=30):
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_config_default_is_a_valid_config(tmp_path):
    out = run("config", "default")
    assert out.returncode == 0
    assert "[mqtt]" in out.stdout and "allow_anonymous = true" in out.stdout
    f = tmp_path / "default.toml"
    f.write_text(out.stdout)
    assert run("config", "check", str(f)).returncode == 0


@pytest.mark.parametrize(
    "text,key",
    [
        ("[mqtt]\nmax_inflight = \"many\"\n", "mqtt.max_inflight"),
        ("[mqtt]\nunknown_key = 1\n", "unknown_key"),
        ("[listeners.tcp.x]\nbind = \"not an address\"\n", "listeners.tcp.x.bind"),
        ("[mqtt]\nsession_expiry_max = \"forever\"\n", "mqtt.session_expiry_max"),
        ("[nonsense]\n", "nonsense"),
        ("[mqtt]\nserver_keepalive = 200\nmax_keepalive = 100\n", "mqtt.server_keepalive"),
        ("[mqtt]\nmax_keepalive = 0\n", "mqtt.max_keepalive"),
        ("[shared_subscriptions.groups]\n\"a/b\" = \"random\"\n", "shared_subscriptions.groups.a/b"),
        ("[shared_subscriptions]\nstrategy = \"fastest\"\n", "shared_subscriptions.strategy"),
        ("[mqtt]\nresponse_information = \"reply/#\"\n", "mqtt.response_information"),
        ("[limits]\nmemory_check_interval = \"1ms\"\n", "limits.memory_check_interval"),
        ("[limits]\nmemory_high_watermark = \"lots\"\n", "limits.memory_high_watermark"),
        ("[exhook.drivers.python3]\nbreaker_failures = \"many\"\n",
         "exhook.drivers.python3.breaker_failures"),
        ("[exhook.drivers.python3]\nbreaker_window = \"0s\"\n", "exhook.drivers.python3.breaker_window"),
        ("[[exhook.servers]]\nname = \"a\"\nurl = \"http://127.0.0.1:9\"\nbreaker_failures = -1\n",
         "exhook.servers[0].breaker_failures"),
        ("[[exhook.servers]]\nname = \"a\"\nurl = \"http://127.0.0.1:9\"\nbreaker_failures = 5\n"
         "breaker_cooldown = \"0s\"\n", "breaker_cooldown"),
        ("[[ext.servers]]\nname = \"a\"\nurl = \"http://127.0.0.1:9\"\nbreaker_window = \"soon\"\n",
         "ext.servers[0].breaker_window"),
        ("[[ext.servers]]\nname = \"a\"\nurl = \"http://127.0.0.1:9\"\nbreaker_failures = 3\n"
         "breaker_window = \"0ms\"\n", "breaker_window"),
    ],
)
def test_bad_config_exits_64_naming_the_key(tmp_path, text, key):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    for args in (("config", "check", str(f)), ("start", "--config", str(f))):
        out = run(*args)
        assert out.returncode == 64, out
        assert key in out.stderr, out.stderr


def test_broken_toml_exits_64(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("[mqtt\n")
    out = run("start", "--config", str(f))
    assert out.returncode == 64 and "broken.toml" in out.stderr


def test_environment_overrides_apply(broker_factory):
    b = broker_factory(env={"HOOKMQ_MQTT__MAX_QOS": "1"})
    c = Client(b, protocol=5)
    _, _, p = c.connect()
    assert p.MaximumQoS == 1


def test_unknown_command_is_a_usage_error():
    assert run("frobnicate").returncode == 64


@pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto-clients not installed")
@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_pub_and_sub(broker, version):
    port = str(broker.port)

    def pub(topic, msg, *extra):
        cmd = ["mosquitto_pub", "-V", version, "-h", "127.0.0.1", "-p", port, "-t", topic, "-m", msg, "-q", "1"]
        subprocess.run(cmd + list(extra), check=True, timeout=10)

    # A retained message first: its arrival proves mosquitto_sub's subscription is in place.
    pub(f"mq/{version}/ready", "ready", "-r")
    sub = subprocess.Popen(
        ["mosquitto_sub", "-V", version, "-h", "127.0.0.1", "-p", port, "-t", f"mq/{version}/#", "-q", "1",
         "-C", "3", "-v", "-W", "20"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sub.stdout.readline().strip() == f"mq/{version}/ready ready"
    pub(f"mq/{version}/a", "one")
    pub(f"mq/{version}/b", "two")
    out, _ = sub.communicate(timeout=20)
    assert out.splitlines() == [f"mq/{version}/a one", f"mq/{version}/b two"]
    assert sub.returncode == 0


@pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto-clients not installed")
def test_mosquitto_v5_retained_roundtrip(broker):
    port = str(broker.port)
    subprocess.run(
        ["mosquitto_pub", "-V", "mqttv5", "-h", "127.0.0.1", "-p", port, "-t", "mqr/x", "-m", "kept", "-r", "-q", "1"],
        check=True,
        timeout=10,
    )
    out = subprocess.run(
        ["mosquitto_sub", "-V", "mqttv5", "-h", "127.0.0.1", "-p", port, "-t", "mqr/#", "-C", "1", "-v", "-W", "10"],
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert out.stdout.strip() == "mqr/x kept"


AUTH_FILE_CASES = [
    # (table, file key, file name, broken contents, line of the fault)
    ("password_file", "path", "passwd", "# users\nbob:plain-password\n", 2),
    ("acl_file", "path", "acl", "user alice\ntopic read alice/#\nfrobnicate x\n", 3),
    ("jwt", "public_key", "key.pem", "not a key\n", 1),
    ("jwt", "jwks_file", "jwks.json", '{"keys": [\n  oops\n]}\n', 2),
]


@pytest.mark.parametrize("table,file_key,name,content,line", AUTH_FILE_CASES)
def test_config_check_validates_the_auth_files_it_references(tmp_path, table, file_key, name,
                                                              content, line):
    """A broken password, ACL or JWT key file referenced by the configuration fails `config
    check` (exit 64) with the key that names it and the line at fault, before any `start`."""
    f = tmp_path / name
    f.write_text(content)
    cfg = tmp_path / "hookmq.toml"
    cfg.write_text(f'[auth.{table}]\nenable = true\n{file_key} = "{name}"\n')
    key = f"auth.{table}.{file_key}"
    # Relative paths are read from the working directory, as `hookmq start` reads them.
    out = subprocess.run([BIN, "config", "check", str(cfg)], capture_output=True, text=True,
                         timeout=30, cwd=tmp_path)
    assert out.returncode == 64, out
    assert key in out.stderr and f"{name}:{line}:" in out.stderr, out.stderr
    # Missing: the key and the path.
    f.unlink()
    out = subprocess.run([BIN, "config", "check", str(cfg)], capture_output=True, text=True,
                         timeout=30, cwd=tmp_path)
    assert out.returncode == 64, out
    assert key in out.stderr and "cannot read" in out.stderr and name in out.stderr, out.stderr


def test_config_check_accepts_good_auth_files(tmp_path):
    (tmp_path / "acl").write_text("user alice\ntopic read alice/#\npattern write %u/out\n")
    r = subprocess.run([BIN, "passwd", "-c", "--password-stdin", str(tmp_path / "passwd"), "alice"],
                       input="pw\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    cfg = tmp_path / "hookmq.toml"
    cfg.write_text('[auth.password_file]\nenable = true\npath = "passwd"\n'
                   '[auth.acl_file]\nenable = true\npath = "acl"\n'
                   '[auth.jwt]\nenable = true\njwks_url = "http://127.0.0.1:9/jwks"\n')
    out = subprocess.run([BIN, "config", "check", str(cfg)], capture_output=True, text=True,
                         timeout=30, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip().endswith(": ok"), out
    # A JWT source with two key sources is a configuration error naming the key.
    cfg.write_text('[auth.jwt]\nenable = true\nsecret = "s"\njwks_url = "http://127.0.0.1:9/j"\n')
    out = subprocess.run([BIN, "config", "check", str(cfg)], capture_output=True, text=True,
                         timeout=30, cwd=tmp_path)
    assert out.returncode == 64 and "auth.jwt.secret" in out.stderr, out
