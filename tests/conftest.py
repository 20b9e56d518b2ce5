"""Fixtures shared by the integration tests: a running broker per test (or per module)."""

import sys
import pathlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from harness import BrokerProcess  # noqa: E402


@pytest.fixture
def broker_factory(tmp_path):
    """Starts brokers with a given config; stops them after the test."""
    started = []

    def make(config="", env=None, args=(), workdir=None, start=True):
        b = BrokerProcess(workdir or tmp_path / f"broker{len(started)}", config, env, args)
        started.append(b)
        return b.start() if start else b

    yield make
    for b in started:
        b.stop()


@pytest.fixture
def broker(broker_factory):
    """A broker with the default configuration, plus $SYS readable with wildcards."""
    return broker_factory("[mqtt]\nallow_sys_wildcard_subscribe = true\n[sys]\ninterval = \"1s\"\n")
