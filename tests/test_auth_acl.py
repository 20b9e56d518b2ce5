"""The ACL-file source ([auth.acl_file]) with real clients: Mosquitto and EMQX syntaxes, user /
client id / IP range / %u %c rules, identities that try to widen a pattern, reload, a bad file,
superusers from the password file, and the ACL combined with a Python hook by priority."""

import signal
import subprocess

import pytest

from harness import BIN, Client
from test_exhook_support import rc_value
from test_port_support import driver_toml, start, wait_driver

DENIED = 0x87


def connect(b, user=None, cid=None, password=None):
    c = Client(b, client_id=cid, username=user, password=password, protocol=5)
    assert rc_value(c.connect()[1]) == 0
    return c


def sub(c, topic):
    return rc_value(c.subscribe(topic, qos=1)[0])


def pub(c, topic):
    """0 when the publish was accepted (0x10 "no matching subscribers" included), else the code."""
    rc = rc_value(c.publish(topic, b"x", qos=1))
    return 0 if rc < 0x80 else rc


def acl_config(path, extra=""):
    return f'[auth.acl_file]\nenable = true\npath = "{path}"\nreload_interval = "100ms"\n{extra}'


MOSQUITTO_ACL = """# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic deny alice/secret

user bob
topic write bob/in

pattern read users/%u/#
pattern write devices/%c/up
"""


def test_mosquitto_acl_file(broker_factory, tmp_path):
    (tmp_path / "acl").write_text(MOSQUITTO_ACL)
    b = broker_factory(acl_config(tmp_path / "acl"))
    alice, bob, anon = connect(b, "alice"), connect(b, "bob", cid="dev7"), connect(b)
    assert sub(anon, "public/#") == 1
    assert pub(anon, "public/x") == DENIED
    assert sub(alice, "alice/#") == 1
    assert pub(alice, "alice/a") == 0
    assert pub(alice, "alice/secret") == DENIED
    assert sub(alice, "public/#") == DENIED          # the anonymous section is not alice's
    assert pub(bob, "bob/in") == 0
    assert sub(bob, "bob/in") == DENIED
    assert pub(bob, "devices/dev7/up") == 0
    assert pub(bob, "devices/dev8/up") == DENIED
    assert sub(bob, "users/bob/#") == 1
    assert sub(bob, "users/+/x") == DENIED
    assert sub(bob, "#") == DENIED
    # A granted subscription receives what an allowed publisher sends.
    assert pub(alice, "alice/a") == 0
    m = alice.expect()
    assert m.topic == "alice/a"


@pytest.mark.parametrize("name", ["+", "#", "a/b", "", "$SYS"])
def test_identity_cannot_widen_a_pattern(broker_factory, tmp_path, name):
    """A user (or client id) named like a wildcard or several levels gets nothing from
    `users/%u/#` / `devices/%c/#` (CVE-2017-7650 class)."""
    (tmp_path / "acl").write_text("pattern readwrite users/%u/#\npattern readwrite devices/%c/#\n")
    b = broker_factory(acl_config(tmp_path / "acl"))
    victim = connect(b, "victim", cid="victim-dev")
    assert sub(victim, "users/victim/#") == 1
    attacker = connect(b, name, cid=name or None)
    filters = ["users/+/#", "users/#", f"users/{name}/#", "#", "devices/+/#", "devices/#",
               f"devices/{name}/#"]
    # Filters paho itself refuses to send (a `#` that is not last) are left out.
    for f in [f for f in filters if "#" not in f.split("/")[:-1]]:
        assert sub(attacker, f) == DENIED, f
    assert pub(attacker, "users/victim/x") == DENIED
    assert pub(attacker, "devices/victim-dev/x") == DENIED


EMQX_ACL = """%% EMQX-style rules
{allow, {username, {re, "^admin-"}}, subscribe, ["$SYS/#"]}.
{deny, {ipaddr, "127.0.0.0/8"}, publish, ["lab/#"]}.
{allow, {clientid, "logger"}, subscribe, ["logs/#"]}.
{allow, all, all, ["users/${username}/#", "dev/%c/#"]}.
{deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.
{allow, all, subscribe, ["open/#"]}.
"""


def test_emqx_acl_file_and_superuser(broker_factory, tmp_path):
    (tmp_path / "acl.conf").write_text(EMQX_ACL)
    pw = tmp_path / "passwd"
    r = subprocess.run([BIN, "passwd", "-c", "--superuser", "--password-stdin", str(pw), "root"],
                       input="root-pw\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    cfg = acl_config(tmp_path / "acl.conf") + (
        f'[auth.password_file]\nenable = true\npath = "{pw}"\nunknown_user = "ignore"\n')
    b = broker_factory(cfg)
    admin, u, logger = connect(b, "admin-1"), connect(b, "u"), connect(b, "x", cid="logger")
    assert sub(admin, "$SYS/brokers") == 1
    assert sub(u, "$SYS/brokers") == DENIED
    assert pub(u, "lab/x") == DENIED                 # every test client is on 127.0.0.1
    assert sub(logger, "logs/#") == 1
    assert sub(u, "logs/#") == DENIED
    assert sub(u, "users/u/#") == 1 and pub(u, "users/u/a") == 0
    assert sub(u, "#") == DENIED                     # {eq, "#"}
    assert sub(u, "open/+") == 1
    assert pub(u, "open/x") == DENIED                # no match: no_match = deny
    # The password file's superuser is not checked against the ACL.
    root = connect(b, "root", password="root-pw")
    assert sub(root, "#") == 1 and pub(root, "lab/x") == 0


def test_reload_bad_file_and_sighup(broker_factory, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text("user alice\ntopic readwrite a/#\n")
    b = broker_factory(acl_config(acl))
    alice = connect(b, "alice")
    assert pub(alice, "b/1") == DENIED
    mark = b.mark()
    acl.write_text("user alice\ntopic readwrite a/#\ntopic write b/#\n")
    b.wait_log("ACL file reloaded", start=mark)
    assert pub(alice, "b/2") == 0
    mark = b.mark()
    acl.write_text("user alice\ntopic readwrite a/#/x\n")
    b.wait_log("ACL file not reloaded", start=mark)
    assert pub(alice, "b/3") == 0                    # the last good file stays
    acl.write_text("user alice\ntopic write c/#\n")
    mark = b.mark()
    b.proc.send_signal(signal.SIGHUP)
    b.wait_log("ACL file reloaded", start=mark)
    assert pub(alice, "c/1") == 0


def test_bad_acl_file_at_start_exits_64(broker_factory, tmp_path):
    acl = tmp_path / "acl.conf"
    acl.write_text("{allow, all}.\n{allow, all, all, [\"a\"]\n")
    b = broker_factory(acl_config(acl), start=False)
    with pytest.raises(AssertionError):
        b.start(timeout=20)
    assert b.proc.wait(20) == 64
    err = "\n".join(b.lines)
    assert f"{acl}:2" in err, err


HOOK = """
from emqx_extension.hooks import EmqxHookSdk, hooks_handler


class Acl(EmqxHookSdk):
    @hooks_handler()
    def on_client_check_acl(self, clientinfo, pubsub, topic, result, state):
        return topic.startswith("hook/")


emqx_hook = Acl(hook_module=f"{__name__}.emqx_hook")


def init():
    return emqx_hook.start()


def deinit():
    pass
"""


def test_acl_file_then_python_hook_by_priority(broker_factory, tmp_path):
    (tmp_path / "acl").write_text("user alice\ntopic deny hook/secret\ntopic readwrite file/#\n")
    cfg = acl_config(tmp_path / "acl", 'no_match = "ignore"\npriority = 10\n') + driver_toml(
        "python3", path="hooks", init_module="acl", priority=0)
    b = start(broker_factory, tmp_path, cfg, files={"hooks/acl.py": HOOK})
    wait_driver(b)
    alice = connect(b, "alice")
    assert pub(alice, "file/x") == 0                 # the file allows; the hook is not asked
    assert pub(alice, "hook/secret") == DENIED       # the file denies first
    assert pub(alice, "hook/open") == 0              # no rule: the hook allows
    assert pub(alice, "other/x") == DENIED           # no rule: the hook denies


def test_reload_revokes_granted_subscriptions_of_live_sessions(broker_factory, tmp_path):
    """A right the new file takes away stops delivery at once (recheck = "resume", the default):
    the reload re-checks the subscriptions already granted, as `ctl clients reauthorize --all`."""
    acl = tmp_path / "acl"
    acl.write_text("user alice\ntopic read alice/#\ntopic read open/#\n\nuser pub\ntopic write #\n")
    b = broker_factory(acl_config(acl))
    alice, publisher = connect(b, "alice"), connect(b, "pub")
    assert sub(alice, "alice/#") == 1
    assert sub(alice, "open/#") == 1
    assert pub(publisher, "alice/before") == 0
    assert alice.expect().topic == "alice/before"
    mark = b.mark()
    acl.write_text("user alice\ntopic read open/#\n\nuser pub\ntopic write #\n")
    b.wait_log("ACL file reloaded: sessions re-authorized", start=mark)
    assert pub(publisher, "alice/after") == 0
    assert pub(publisher, "open/barrier") == 0
    before, _ = alice.until("open/barrier")
    assert [m.topic for m in before] == []            # alice/after never reached her


def test_reload_keeps_granted_subscriptions_with_recheck_subscribe(broker_factory, tmp_path):
    """recheck = "subscribe" keeps EMQX's behaviour: rights are checked at SUBSCRIBE only."""
    acl = tmp_path / "acl"
    acl.write_text("user alice\ntopic read alice/#\n\nuser pub\ntopic write #\n")
    b = broker_factory(acl_config(acl) + '\n[authorization]\nrecheck = "subscribe"\n')
    alice, publisher = connect(b, "alice"), connect(b, "pub")
    assert sub(alice, "alice/#") == 1
    mark = b.mark()
    acl.write_text("user alice\ntopic read open/#\n\nuser pub\ntopic write #\n")
    b.wait_log("ACL file reloaded", start=mark)
    assert pub(publisher, "alice/after") == 0
    assert alice.expect().topic == "alice/after"
    assert b.log_count("sessions re-authorized") == 0
