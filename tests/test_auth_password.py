"""The password-file source ([auth.password_file]) with real clients: files made by Debian's
`mosquitto_passwd` and by `hookmq passwd`, wrong passwords and unknown users alike, superusers,
reload on change and on SIGHUP without dropping clients, bad files at start and on reload, and
the source combined with a Python hook by priority."""

import json
import os
import signal
import stat
import subprocess

import pytest

from auth_support import login
from harness import BIN, Client
from test_exhook_support import rc_value
from test_port_support import driver_toml, start, wait_driver

BAD_CREDENTIALS = 0x86
NOT_AUTHORIZED = 0x87


def passwd(*args, stdin=None):
    """Runs `hookmq passwd ARGS`; returns the completed process."""
    return subprocess.run([BIN, "passwd", *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=60)


def add(path, user, password, *flags):
    r = passwd(*flags, "--password-stdin", path, user, stdin=password + "\n")
    assert r.returncode == 0, r.stderr


def config(path, interval="100ms", unknown="deny", extra=""):
    return (f'[mqtt]\nallow_anonymous = false\n[auth.password_file]\nenable = true\n'
            f'path = "{path}"\nreload_interval = "{interval}"\nunknown_user = "{unknown}"\n{extra}')


def test_mosquitto_passwd_and_hookmq_passwd_files_authenticate(broker_factory, tmp_path):
    pw = tmp_path / "passwd"
    # A file made by Mosquitto's own tool ($7$: PBKDF2-SHA512), then users added by hookmq.
    r = subprocess.run(["mosquitto_passwd", "-c", "-b", str(pw), "alice", "alice-pw"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert pw.read_text().startswith("alice:$7$")
    add(pw, "bob", "bob-pw")
    add(pw, "root", "root-pw", "--superuser")
    lines = pw.read_text().splitlines()
    assert lines[0].startswith("alice:$7$") and lines[1].startswith("bob:$argon2id$")
    assert lines[2].endswith(":superuser")

    b = broker_factory(config(pw))
    alice = login(b, "alice", "alice-pw")
    assert isinstance(alice, Client)
    assert isinstance(login(b, "bob", "bob-pw", protocol=4), Client)
    assert isinstance(login(b, "root", "root-pw"), Client)
    # A wrong password and an unknown user get the same answer.
    assert login(b, "alice", "bob-pw") == BAD_CREDENTIALS
    assert login(b, "mallory", "alice-pw") == BAD_CREDENTIALS
    assert login(b, "alice", "") == BAD_CREDENTIALS
    # 3.1.1 return code 4, which paho reports as 0x86.
    assert login(b, "bob", "wrong", protocol=4) in (4, BAD_CREDENTIALS)
    # No user name: anonymous, refused by mqtt.allow_anonymous = false.
    anon = Client(b, protocol=5)
    assert rc_value(anon.connect()[1]) == NOT_AUTHORIZED
    anon.c.loop_stop()
    # The one who got in can use the broker.
    alice.subscribe("t/1", qos=1)
    bob = login(b, "bob", "bob-pw")
    bob.publish("t/1", b"hi", qos=1)
    assert alice.expect().payload == b"hi"


def test_hookmq_passwd_create_change_delete(tmp_path):
    pw = tmp_path / "users"
    assert passwd(pw, "nobody", stdin="x\n").returncode != 0  # no file without -c
    add(pw, "u1", "first", "-c")
    assert stat.S_IMODE(os.stat(pw).st_mode) == 0o600
    add(pw, "u2", "second")
    before = pw.read_text()
    add(pw, "u1", "changed")
    after = pw.read_text().splitlines()
    assert [line.split(":")[0] for line in after] == ["u1", "u2"]
    assert after[0] != before.splitlines()[0] and after[1] == before.splitlines()[1]
    assert passwd("-D", pw, "u1").returncode == 0
    assert [line.split(":")[0] for line in pw.read_text().splitlines()] == ["u2"]
    r = passwd("-D", pw, "u1")
    assert r.returncode != 0 and "not in" in r.stderr
    for bad in ["a:b", ""]:
        r = passwd("--password-stdin", pw, bad, stdin="pw\n")
        assert r.returncode != 0, bad
    r = passwd("--password-stdin", pw, "u3", stdin="\n")
    assert r.returncode != 0 and "empty password" in r.stderr
    add(pw, "only", "one", "-c")
    assert [line.split(":")[0] for line in pw.read_text().splitlines()] == ["only"]


def test_emqx_export_import(broker_factory, tmp_path):
    # EMQX 5's documented example user (sha256, suffix salt), plus a PBKDF2 user made the way
    # EMQX computes it (hex of PBKDF2-HMAC-SHA256 over the salt text).
    import hashlib
    pbkdf2 = hashlib.pbkdf2_hmac("sha256", b"pbkdf-pw", b"s4lt", 4096).hex()
    export = tmp_path / "sha.json"
    export.write_text(json.dumps([
        {"user_id": "emqx_u", "password_hash":
         "44edc2d57cde8d79c98145003e105b90a14f1460b79186ea9cfe83942fc5abb5",
         "salt": "slat_foo123", "is_superuser": True},
    ]))
    csv = tmp_path / "pbkdf2.csv"
    csv.write_text(f"user_id,password_hash,salt,is_superuser\nkdf,{pbkdf2},s4lt,false\n")
    pw = tmp_path / "passwd"
    r = passwd("-c", "--import-emqx", export, pw)
    assert r.returncode == 0, r.stderr
    r = passwd("--import-emqx", csv, "--emqx-algorithm", "pbkdf2-sha256", pw)
    assert r.returncode == 0, r.stderr
    text = pw.read_text()
    assert "emqx_u:$sha256$suffix$" in text and text.splitlines()[0].endswith(":superuser")
    b = broker_factory(config(pw))
    assert isinstance(login(b, "emqx_u", "public"), Client)
    assert login(b, "emqx_u", "Public") == BAD_CREDENTIALS
    assert isinstance(login(b, "kdf", "pbkdf-pw"), Client)
    r = passwd("--import-emqx", csv, "--emqx-algorithm", "md5", pw)
    assert r.returncode != 0 and "not imported" in r.stderr


def test_reload_on_change_keeps_clients_and_survives_a_bad_file(broker_factory, tmp_path):
    pw = tmp_path / "passwd"
    add(pw, "alice", "a-pw", "-c")
    b = broker_factory(config(pw))
    alice = login(b, "alice", "a-pw")
    alice.subscribe("keep/#", qos=1)
    assert login(b, "carol", "c-pw") == BAD_CREDENTIALS

    mark = b.mark()
    add(pw, "carol", "c-pw")
    b.wait_log("password file reloaded", start=mark)
    carol = login(b, "carol", "c-pw")
    assert isinstance(carol, Client)
    # alice's connection went on through the reload.
    carol.publish("keep/1", b"still here", qos=1)
    assert alice.expect().payload == b"still here"

    # A broken edit: logged, and the users of the last good file still get in.
    mark = b.mark()
    pw.write_text(pw.read_text() + "dave:not-a-hash\n")
    line = b.wait_log("not reloaded", start=mark)
    assert "line 3" in line or ":3:" in line, line
    assert isinstance(login(b, "carol", "c-pw"), Client)
    assert login(b, "dave", "not-a-hash") == BAD_CREDENTIALS


def test_sighup_reloads(broker_factory, tmp_path):
    pw = tmp_path / "passwd"
    add(pw, "alice", "a-pw", "-c")
    add(pw, "frank", "f-pw")
    b = broker_factory(config(pw, interval="0s"))
    alice = login(b, "alice", "a-pw")
    frank = login(b, "frank", "f-pw")
    add(pw, "erin", "e-pw")
    add(pw, "alice", "new-pw")
    mark = b.mark()
    b.proc.send_signal(signal.SIGHUP)
    b.wait_log("password file reloaded", start=mark)
    # alice's password changed: the connection she made with the old one is closed (0x87).
    assert rc_value(alice.expect_disconnect()) == NOT_AUTHORIZED
    alice.c.loop_stop()
    assert isinstance(login(b, "erin", "e-pw"), Client)
    assert login(b, "alice", "a-pw") == BAD_CREDENTIALS
    assert isinstance(login(b, "alice", "new-pw"), Client)
    # A client whose entry did not change stays connected.
    erin = login(b, "erin", "e-pw")
    frank.subscribe("hup/x", qos=1)
    erin.publish("hup/x", b"1", qos=1)
    assert frank.expect().payload == b"1"
    assert frank.disconnects.empty()


@pytest.mark.parametrize("reload", ["change", "sighup"])
def test_clients_of_removed_or_changed_users_are_disconnected(broker_factory, tmp_path, reload):
    """A reload that removes a user or changes its password ends the connections made with the
    old entry: MQTT 5 clients get DISCONNECT 0x87 (Not authorized), MQTT 3.1.1 ones are closed;
    the user's session stays, and a user whose entry did not change stays connected."""
    pw = tmp_path / "passwd"
    add(pw, "alice", "a-pw", "-c")  # removed below
    add(pw, "bob", "b-pw")  # password changed below
    add(pw, "carol", "c-pw")  # unchanged
    b = broker_factory(config(pw, interval="100ms" if reload == "change" else "0s"))
    alice5 = login(b, "alice", "a-pw", cid="alice5")
    alice4 = login(b, "alice", "a-pw", cid="alice4", protocol=4)
    bob = login(b, "bob", "b-pw", cid="bob")
    carol = login(b, "carol", "c-pw", cid="carol")
    carol.subscribe("still/#", qos=1)
    # One edit, so one reload sees both: the file is replaced whole.
    lines = [line for line in pw.read_text().splitlines() if not line.startswith(("alice:", "bob:"))]
    other = tmp_path / "other"
    add(other, "bob", "b-pw2", "-c")
    bob_line = other.read_text().strip()
    tmp = tmp_path / "passwd.new"
    tmp.write_text("\n".join(lines + [bob_line]) + "\n")
    mark = b.mark()
    os.replace(tmp, pw)
    if reload == "sighup":
        b.proc.send_signal(signal.SIGHUP)
    assert rc_value(alice5.expect_disconnect(timeout=15)) == NOT_AUTHORIZED
    alice4.expect_disconnect(timeout=15)  # MQTT 3.1.1 has no DISCONNECT from the server
    assert rc_value(bob.expect_disconnect(timeout=15)) == NOT_AUTHORIZED
    for c in (alice5, alice4, bob):
        c.c.loop_stop()  # paho would reconnect with the old credentials
    b.wait_log("disconnected clients of revoked users", start=mark)
    b.wait_log(r'clientid="alice5".*connection closed', start=mark)
    # The old credentials no longer log in; the new ones do; carol never noticed.
    assert login(b, "alice", "a-pw") == BAD_CREDENTIALS
    assert login(b, "bob", "b-pw") == BAD_CREDENTIALS
    bob2 = login(b, "bob", "b-pw2")
    assert isinstance(bob2, Client)
    bob2.publish("still/1", b"served", qos=1)
    assert carol.expect().payload == b"served"
    assert carol.disconnects.empty()


@pytest.mark.parametrize("content,needle", [
    ("alice:plain-password\n", ":1:"),
    ("", None),
])
def test_bad_or_missing_file_at_start_exits_64(broker_factory, tmp_path, content, needle):
    pw = tmp_path / "passwd"
    if needle:
        pw.write_text(content)
    b = broker_factory(config(pw), start=False)
    with pytest.raises(AssertionError):
        b.start(timeout=20)
    assert b.proc.wait(20) == 64
    err = "\n".join(b.lines)
    assert str(pw) in err, err
    if needle:
        assert needle in err


HOOK = """
from emqx_extension.hooks import EmqxHookSdk, hooks_handler


class Svc(EmqxHookSdk):
    @hooks_handler()
    def on_client_authenticate(self, clientinfo, authresult, state):
        return clientinfo.username == "svc" and clientinfo.password == "svc-token"


emqx_hook = Svc(hook_module=f"{__name__}.emqx_hook")


def init():
    return emqx_hook.start()


def deinit():
    pass
"""


def test_password_file_before_a_python_hook_by_priority(broker_factory, tmp_path):
    pw = tmp_path / "passwd"
    add(pw, "alice", "a-pw", "-c")
    cfg = config(pw, unknown="ignore", extra="priority = 100\n") + driver_toml(
        "python3", path="hooks", init_module="svc", priority=0)
    b = start(broker_factory, tmp_path, cfg, files={"hooks/svc.py": HOOK})
    wait_driver(b)
    # The file decides for its users (the hook is not asked), the hook for everyone else.
    assert isinstance(login(b, "alice", "a-pw"), Client)
    assert login(b, "alice", "svc-token") == BAD_CREDENTIALS
    assert isinstance(login(b, "svc", "svc-token"), Client)
    assert login(b, "eve", "svc-token") == NOT_AUTHORIZED
