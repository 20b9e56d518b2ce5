"""The committed generated modules are what generate.py makes from the current .proto files."""

import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
SDK = HERE.parent
sys.path.insert(0, str(SDK))

import generate  # noqa: E402


def test_generated_code_is_current(tmp_path):
    pytest.importorskip("grpc_tools")
    made = generate.generate(tmp_path / "pb")
    committed = SDK / "hookmq_ext" / "_pb"
    names = sorted(p.name for p in made.glob("*.py"))
    assert names == sorted(p.name for p in committed.glob("*.py"))
    for name in names:
        assert (made / name).read_text() == (committed / name).read_text(), (
            f"hookmq_ext/_pb/{name} is stale: run python sdk/python/generate.py")
