"""pytest set-up for the Python port runtime's tests: puts ``runtimes/python`` on ``sys.path``
and offers the interpreters and hook directories the process tests run against."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if RUNTIME_DIR not in sys.path:
    sys.path.insert(0, RUNTIME_DIR)

SEED_DIR = os.environ.get("HOOKMQ_SEED") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(RUNTIME_DIR))), "shared", "seed")


def _interpreters():
    """This interpreter, plus every other CPython 3.6+ that pyenv has installed here."""
    found = [("py%d.%d" % sys.version_info[:2], sys.executable)]
    seen = {sys.version_info[:2]}
    pattern = os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")
    for path in sorted(glob.glob(pattern)):
        out = subprocess.run([path, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, timeout=30)
        if out.returncode != 0:
            continue
        version = tuple(int(x) for x in out.stdout.split())
        if version >= (3, 6) and version not in seen:
            seen.add(version)
            found.append(("py%d.%d" % version, path))
    return found


INTERPRETERS = _interpreters()


@pytest.fixture(params=[path for _, path in INTERPRETERS], ids=[name for name, _ in INTERPRETERS])
def python(request):
    """Path of a Python interpreter to run the runtime with."""
    return request.param


@pytest.fixture(scope="session")
def sdk_dir(tmp_path_factory):
    """A directory holding a copy of the installed emqx_extension SDK package, for
    interpreters other than the test venv's (the SDK is pure Python with no dependencies)."""
    import emqx_extension
    target = tmp_path_factory.mktemp("sdk")
    shutil.copytree(os.path.dirname(emqx_extension.__file__),
                    str(target / "emqx_extension"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    return str(target)


@pytest.fixture
def seed_workdir(tmp_path):
    """A broker working directory with the seed's hooks.py, byte for byte, in data/extension/."""
    source = os.path.join(SEED_DIR, "hooks.py")
    if not os.path.exists(source):
        pytest.skip("the seed (../shared/seed/hooks.py) is not present beside the repository")
    ext = tmp_path / "data" / "extension"
    ext.mkdir(parents=True)
    shutil.copyfile(source, str(ext / "hooks.py"))
    return str(tmp_path)
