"""The user's scenario from EMQX 4.1's guide (../shared/seed): the seed's hooks.py, byte for byte,
with the real `emqx-extension-sdk==0.2`, configured by the seed's `extension_hook.conf` verbatim,
loaded with `hookmq ctl plugins load extension_hook`, and enforced on real paho clients — message
hooks included. Then the plugin's lifecycle (unload, load, reload, drivers disable/enable, list,
stats, /metrics) and load failures that say which driver failed and why while the broker keeps
serving."""

import re
import shutil
import subprocess

import pytest

from harness import BIN, Client, barrier
from test_port_support import SEED, api, ctl, driver, driver_toml, metrics_text, start, wait_driver

CONF = "etc/plugins/extension_hook.conf"
HOOKS = "data/extension/hooks.py"


def seed_files():
    if not SEED.is_dir():
        pytest.skip(f"the seed directory {SEED} is absent (it holds EMQX's guide, hooks.py and extension_hook.conf)")
    return {HOOKS: (SEED / "hooks.py").read_bytes(), CONF: (SEED / "extension_hook.conf").read_bytes()}


def rc(r):
    return r.value if hasattr(r, "value") else r


def test_seed_hooks_py_runs_unchanged(broker_factory, tmp_path):
    files = seed_files()
    b = start(broker_factory, tmp_path, files=files)
    assert (tmp_path / HOOKS).read_bytes() == (SEED / "hooks.py").read_bytes()
    # The guide's step: the plugin is already loaded from etc/plugins, so this says so.
    out = ctl(b, "plugins", "load", "extension_hook")
    assert out.returncode == 0, out.stderr
    assert "already loaded" in out.stdout
    assert ctl(b, "plugins", "load", "emqx_extension_hook").returncode == 0
    d = wait_driver(b)
    assert d["source"] == CONF and d["init_module"] == "hooks" and d["call_timeout_ms"] == 5000
    assert {h["name"] for h in d["hooks"]} == {
        "client_connect", "client_connected", "client_check_acl", "client_authenticate", "message_publish"}
    # hookmq's own runtime takes the batched protocol; the hooks cannot tell.
    assert [w["protocol"] for w in d["workers"]] == ["batched"]

    sub = Client(b, client_id="seed-sub", username="alice")
    assert sub.connect()[1] == 0
    b.wait_log(r"\[Python SDK\] \[on_client_connect\] seed-sub connecte")
    b.wait_log(r"\[Python SDK\] \[on_client_authenticate\] seed-sub authenticate")
    b.wait_log(r"\[Python SDK\] \[on_client_connected\] seed-sub connected")
    assert sub.subscribe("seed/#", 1) == [1]
    b.wait_log(r"\[on_client_check_acl\] alice check ACL: subscribe seed/#")

    pub = Client(b, client_id="seed-pub", username="bob")
    assert pub.connect()[1] == 0
    for i in range(5):
        pub.publish(f"seed/{i}", f"hello {i}".encode(), qos=1)
    got = [sub.expect() for _ in range(5)]
    assert [(m.topic, m.payload) for m in got] == [(f"seed/{i}", f"hello {i}".encode()) for i in range(5)]
    for i in range(5):
        b.wait_log(rf"\[on_message_publish\] seed/{i} hello {i}\b")

    # Empty user name: publish and subscribe denied by on_client_check_acl.
    anon = Client(b, client_id="seed-anon", protocol=5)
    assert rc(anon.connect()[1]) == 0
    assert [rc(r) for r in anon.subscribe("seed/#", 1)] == [0x87]
    assert rc(anon.publish("seed/anon", b"x", qos=1)) == 0x87
    assert [m.payload for m in barrier(pub, sub, "seed/barrier")] == []
    b.wait_log(r"\[on_client_check_acl\]  check ACL: publish seed/anon")
    # Every accepted publish reached on_message_publish (5 + the barrier), the denied one did not.
    assert b.log_count(r"\[on_message_publish\] ") == 6
    assert b.log_count(r"\[on_message_publish\] seed/anon") == 0
    sub.disconnect()
    pub.disconnect()
    anon.disconnect()


def test_plugin_lifecycle_with_ctl(broker_factory, tmp_path):
    files = seed_files()
    b = start(broker_factory, tmp_path, files=files)
    wait_driver(b)
    out = ctl(b, "plugins", "list")
    assert out.returncode == 0 and re.search(r"extension_hook\s+loaded\s+python3", out.stdout), out.stdout
    out = ctl(b, "exhook", "drivers", "list")
    assert re.search(r"python3\s+python3\s+running\s+1/1\s+0\s+hooks", out.stdout), out.stdout

    assert ctl(b, "plugins", "unload", "extension_hook").returncode == 0
    assert driver(b)["state"] == "stopped"
    anon = Client(b, client_id="life-anon", protocol=5)
    anon.connect()
    # Unloaded: no hook decides, the broker's defaults allow.
    assert [rc(r) for r in anon.subscribe("life/#", 1)] == [1]
    out = ctl(b, "plugins", "unload", "extension_hook")
    assert out.returncode == 1 and "not loaded" in out.stderr
    out = ctl(b, "exhook", "drivers", "enable", "python3")
    assert out.returncode == 1 and "not loaded" in out.stderr

    out = ctl(b, "plugins", "load", "emqx_extension_hook")
    assert out.returncode == 0 and "drivers started: python3" in out.stdout, out.stdout + out.stderr
    wait_driver(b)
    assert [rc(r) for r in anon.subscribe("life/x", 1)] == [0x87]

    out = ctl(b, "exhook", "drivers", "disable", "python3")
    assert out.returncode == 0 and "disabled" in out.stdout
    assert driver(b)["state"] == "disabled"
    out = ctl(b, "exhook", "drivers", "enable", "python3")
    assert out.returncode == 0 and "(running)" in out.stdout
    assert ctl(b, "exhook", "drivers", "stats", "nosuch").returncode == 1
    assert ctl(b, "plugins", "load", "nosuch").returncode == 1

    # reload re-reads the .conf file: a second module is now the init module.
    (tmp_path / "data/extension/other.py").write_text(
        "def init():\n    print('other init')\n    return (0, ([], ()))\n")
    conf = (tmp_path / CONF).read_text().replace("init_module = hooks", "init_module = other")
    (tmp_path / CONF).write_text(conf)
    out = ctl(b, "plugins", "reload", "extension_hook")
    assert out.returncode == 0, out.stderr
    b.wait_log(r"other init")
    assert driver(b)["init_module"] == "other"
    # A broken file is refused and the running driver keeps running.
    (tmp_path / CONF).write_text(conf + "exhook.drivers.python3.pool_size = lots\n")
    out = ctl(b, "plugins", "reload", "extension_hook")
    assert out.returncode == 1
    assert "exhook.drivers.python3.pool_size" in out.stderr and "line 17" in out.stderr, out.stderr
    assert driver(b)["state"] == "running"

    status, body = api(b, "GET", "/api/v1/plugins")
    assert status == 200 and body["data"][0]["aliases"] == ["emqx_extension_hook"]
    assert 'hookmq_worker_restarts_total{driver="python3"} 0' in metrics_text(b)
    anon.disconnect()


BROKEN_CASES = {
    "syntax": ("def init(:\n    pass\n", ["hooks.init() failed", "SyntaxError", "hooks.py"]),
    "raises": ("def init():\n    raise RuntimeError('cannot reach the database')\n",
               ["hooks.init() failed", "RuntimeError: cannot reach the database"]),
    "garbage": ("def init():\n    return 'yes'\n", ["init() returned", "expected (0, (hook_specs, state))"]),
    "missing": (None, ["ModuleNotFoundError", "No module named 'hooks'"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CASES))
def test_a_broken_script_fails_the_load_and_the_broker_keeps_serving(broker_factory, tmp_path, case):
    source, expected = BROKEN_CASES[case]
    files = {CONF: "exhook.drivers = python3\nexhook.drivers.python3.path = data/extension/\n"
                   "exhook.drivers.python3.init_module = hooks\n"}
    (tmp_path / "data/extension").mkdir(parents=True)
    if source is not None:
        files[HOOKS] = source
    b = start(broker_factory, tmp_path, files=files)
    b.wait_log(r"plugin extension_hook failed to load")
    out = ctl(b, "plugins", "load", "extension_hook")
    assert out.returncode == 1
    assert "driver python3 failed to load" in out.stderr
    for text in expected:
        assert text in out.stderr, out.stderr
    assert driver(b)["state"] == "failed"
    c = Client(b, client_id=f"still-{case}")
    assert c.connect()[1] == 0
    assert c.subscribe("ok/#", 1) == [1]
    c.disconnect()
    # Fixed, the same command loads it.
    (tmp_path / HOOKS).write_text("def init():\n    return (0, ([], ()))\n")
    out = ctl(b, "plugins", "load", "extension_hook")
    assert out.returncode == 0, out.stderr
    wait_driver(b)


def test_bad_conf_file_names_line_and_key(broker_factory, tmp_path):
    files = {CONF: "exhook.drivers = python3\nexhook.drivers.python3.call_timeout = 5x\nexhook.drivers.python3.colour = red\n"
                   "exhook.drivers.python3.init_module = hooks\n"}
    b = start(broker_factory, tmp_path, files=files)
    out = ctl(b, "plugins", "load", "extension_hook")
    assert out.returncode == 1
    assert "line 2: exhook.drivers.python3.call_timeout" in out.stderr, out.stderr
    (tmp_path / CONF).write_text(files[CONF].replace("5x", "5s"))
    (tmp_path / "data/extension").mkdir(parents=True)
    (tmp_path / HOOKS).write_text("def init():\n    return (0, ([], ()))\n")
    out = ctl(b, "plugins", "load", "extension_hook")
    assert out.returncode == 0, out.stderr
    assert "warning: " in out.stdout and "exhook.drivers.python3.colour ignored" in out.stdout


def test_bad_toml_driver_settings_exit_64_naming_the_key(tmp_path):
    cfg = tmp_path / "hookmq.toml"
    cfg.write_text(driver_toml("python3", pool_size=0))
    out = subprocess.run([BIN, "config", "check", str(cfg)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 64 and "exhook.drivers.python3.pool_size" in out.stderr, out.stderr
    cfg.write_text(driver_toml("python3", failed_action="explode"))
    out = subprocess.run([BIN, "start", "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 64 and "exhook.drivers.python3.failed_action" in out.stderr, out.stderr
    cfg.write_text(driver_toml("python3", init_module="hooks", path="data/extension/", call_timeout="500ms", pool_size=2))
    out = subprocess.run([BIN, "config", "check", str(cfg)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def test_toml_configured_driver_loads_at_start(broker_factory, tmp_path):
    if not SEED.is_dir():
        pytest.skip(f"the seed directory {SEED} is absent")
    (tmp_path / "hooks").mkdir()
    shutil.copy(SEED / "hooks.py", tmp_path / "hooks" / "hooks.py")
    b = start(broker_factory, tmp_path, config=driver_toml("python3", path="hooks", init_module="hooks"))
    d = wait_driver(b)
    assert d["source"] == "hookmq.toml"
    c = Client(b, client_id="toml-c", protocol=5)
    c.connect()
    assert [rc(r) for r in c.subscribe("x/#", 1)] == [0x87]
    c.disconnect()
