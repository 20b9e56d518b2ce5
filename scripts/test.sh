#!/usr/bin/env bash
# Runs the whole hookmq test suite on a fresh machine. It installs what the tests need (Debian
# packages, a Python venv with pinned packages, the Java runtime built with javac), builds the
# workspace once, and runs the Rust, Java and Python tests against the real broker binary.
#
#   scripts/test.sh            everything
#   scripts/test.sh --quick    skip fmt/clippy (local iteration)
#   PYTEST_ARGS="-k retained" scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
step() { printf '\n=== %s (%ss)\n' "$*" "$SECONDS"; }

step "system packages"
need=()
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
# mosquitto_passwd makes the Mosquitto-format password file of tests/test_auth_password.py.
command -v mosquitto_passwd >/dev/null 2>&1 || need+=(mosquitto)
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
# The cluster tests run real NATS servers (JetStream is in Debian's 2.9).
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv)
# MQTT.js (a real MQTT 5 client that speaks AUTH) runs on Node for tests/test_enhanced_auth.py.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# The dashboard's browser tests (tests/test_dashboard.py) drive Debian's Chromium.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

step "python venv (tests/requirements.txt)"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' 2>/dev/null; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
# The Python SDK of the extension protocol, as users install it.
.venv/bin/pip install -q --disable-pip-version-check ./sdk/python

step "node: MQTT.js (tests/mqttjs, pinned by its package-lock.json)"
npm ci --prefix tests/mqttjs --no-audit --no-fund --loglevel=error

step "java runtime (javac)"
runtimes/java/build.sh
runtimes/java/test.sh

if [ "$QUICK" = 0 ]; then
  step "rust: fmt and clippy"
  cargo fmt --all -- --check
  cargo clippy --workspace --all-targets -- -D warnings
fi

step "rust: build and tests"
cargo build --workspace --bins --examples
cargo test --workspace

step "python: runtime and integration tests"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export HOOKMQ_BIN="$TARGET_DIR/debug/hookmq"
# The broker finds the Python and Java runtimes of this checkout whatever the target dir.
export HOOKMQ_RUNTIMES="$ROOT/runtimes"
# One pytest process per test file: paho-mqtt's network loop uses select(), which cannot watch a
# descriptor above 1023, and in one process for the whole suite the descriptors that tests leave
# to the garbage collector (brokers' pipes, servers, clients) passed that bound late in the run,
# failing whatever came last. Exit code 5 is a file with no tests (the shared *_support modules).
failed=()
for t in runtimes/python/tests sdk/python/tests examples/replay tests/test_*.py; do
  rc=0
  .venv/bin/python -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} "$t" || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then failed+=("$t"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "pytest failed in: ${failed[*]}" >&2
  exit 1
fi

step "done"
