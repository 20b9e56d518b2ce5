"""An example for hook authors: test a hooks.py without a broker or MQTT clients.

It lays out the seed's files as the EMQX guide does (`data/extension/hooks.py` and
`etc/plugins/extension_hook.conf`, both verbatim), then runs `hookmq hooks replay` on the event
files of the guide's four use cases next to this file and checks the answers against the
`*.expected.jsonl` files. Copy it into your hook repository, point HOOKS_PY and CONF at your own
files and write events for your cases (the format is in docs/testing-hooks.md).

Needs `hookmq` (HOOKMQ_BIN, default target/debug/hookmq) and a Python with the hook's
dependencies first on PATH (here the PyPI `emqx-extension-sdk`). Run with:

    python -m pytest examples/replay/test_seed_hooks.py
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEED = pathlib.Path(os.environ.get("HOOKMQ_SEED", ROOT.parent / "shared" / "seed"))
BIN = os.environ.get("HOOKMQ_BIN", str(ROOT / "target" / "debug" / "hookmq"))
HOOKS_PY = SEED / "hooks.py"
CONF = SEED / "extension_hook.conf"
USE_CASES = ["authenticate", "online_status", "acl", "messages"]


@pytest.fixture
def hook_dir(tmp_path):
    if not SEED.is_dir():
        pytest.skip(f"the seed directory {SEED} is absent: it holds the guide's hooks.py and "
                    "extension_hook.conf, which this example runs verbatim")
    (tmp_path / "data" / "extension").mkdir(parents=True)
    (tmp_path / "etc" / "plugins").mkdir(parents=True)
    shutil.copyfile(HOOKS_PY, tmp_path / "data" / "extension" / "hooks.py")
    shutil.copyfile(CONF, tmp_path / "etc" / "plugins" / "extension_hook.conf")
    return tmp_path


def replay(hook_dir, events, *args):
    # The hook's Python (with emqx-extension-sdk) first on PATH: the driver runs `python3`.
    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([BIN, "hooks", "replay", str(events), "--dir", str(hook_dir), *args],
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("case", USE_CASES)
def test_the_seed_hooks_answer_as_expected(hook_dir, case):
    out = replay(hook_dir, HERE / "seed" / f"{case}.jsonl",
                 "--expect", str(HERE / "seed" / f"{case}.expected.jsonl"))
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    assert "answers as expected" in out.stderr


def test_a_wrong_expectation_fails_and_says_where(hook_dir, tmp_path):
    wrong = tmp_path / "wrong.jsonl"
    # The seed lets in any client with a client id: expecting a refusal must fail.
    wrong.write_text('{"answer": {"verdict": "stop", "value": {"allow": false}}}\n'
                     '{"answer": {"verdict": "stop", "value": {"allow": false}}}\n')
    out = replay(hook_dir, HERE / "seed" / "authenticate.jsonl", "--expect", str(wrong))
    assert out.returncode == 1, out.stderr
    assert "answer 1 (events line 3, client.authenticate [python3])" in out.stderr, out.stderr
