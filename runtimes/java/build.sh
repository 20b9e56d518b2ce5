#!/usr/bin/env bash
# Builds the hookmq Java runtime and SDK with plain javac/jar (no Maven, no dependencies):
#   build/erlport.jar      the port runtime (erlport 1.1.1 API, main class erlport.CLI)
#   build/hookmq-sdk.jar   the handler SDK, compiled against erlport.jar only
#   build/compat-classes/  the EMQX-SDK-style handler, compiled against erlport.jar only
#   build/test-classes/    the tests and their handlers
# Each part is rebuilt only when one of its sources or inputs is newer than its output.
# Usage: runtimes/java/build.sh [--clean]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build"
release=17

if [[ "${1:-}" == "--clean" ]]; then
    rm -rf "$out"
fi
for tool in javac jar; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found on PATH (need JDK 17+)" >&2; exit 1; }
done
mkdir -p "$out"

# sources SRC_DIR: the sorted list of Java sources under SRC_DIR.
sources() {
    find "$1" -name '*.java' | LC_ALL=C sort
}

# stale STAMP SRC_DIR INPUT... : true when STAMP is missing, when the set of sources under
# SRC_DIR changed since STAMP was written, or when any file under SRC_DIR or the INPUTs is newer.
stale() {
    local stamp="$1" src="$2"
    shift 2
    [[ -f "$stamp" ]] || return 0
    [[ "$(sources "$src")" == "$(cat "$stamp")" ]] || return 0
    [[ -n "$(find "$src" "$@" -newer "$stamp" -print -quit)" ]]
}

# compile NAME SRC_DIR CLASSPATH OUTPUT_DIR STAMP
compile() {
    local name="$1" src="$2" cp="$3" dest="$4" stamp="$5"
    local list
    list="$(mktemp)"
    sources "$src" >"$list"
    [[ -s "$list" ]] || { echo "build.sh: no sources in $src" >&2; exit 1; }
    rm -rf "$dest" "$stamp"
    mkdir -p "$dest"
    echo "build.sh: compiling $name" >&2
    javac --release "$release" -encoding UTF-8 -Xlint:all -Werror -g \
        ${cp:+-cp "$cp"} -d "$dest" @"$list" || { rm -f "$list"; exit 1; }
    mv "$list" "$stamp"
}

stamps="$out/stamps"
mkdir -p "$stamps"

if stale "$stamps/runtime" "$here/runtime/src" "$here/build.sh" || [[ ! -f "$out/erlport.jar" ]]; then
    compile runtime "$here/runtime/src" "" "$out/classes/runtime" "$stamps/runtime.tmp"
    rm -f "$out/erlport.jar"
    jar --create --file "$out/erlport.jar" --main-class erlport.CLI -C "$out/classes/runtime" .
    mv "$stamps/runtime.tmp" "$stamps/runtime"
fi

if stale "$stamps/sdk" "$here/sdk/src" "$out/erlport.jar" "$here/build.sh" || [[ ! -f "$out/hookmq-sdk.jar" ]]; then
    compile sdk "$here/sdk/src" "$out/erlport.jar" "$out/classes/sdk" "$stamps/sdk.tmp"
    rm -f "$out/hookmq-sdk.jar"
    jar --create --file "$out/hookmq-sdk.jar" -C "$out/classes/sdk" .
    mv "$stamps/sdk.tmp" "$stamps/sdk"
fi

if stale "$stamps/compat" "$here/compat-test/src" "$out/erlport.jar" "$here/build.sh"; then
    compile compat-test "$here/compat-test/src" "$out/erlport.jar" "$out/compat-classes" "$stamps/compat"
fi

if stale "$stamps/test" "$here/test/src" "$out/erlport.jar" "$out/hookmq-sdk.jar" "$here/build.sh"; then
    compile tests "$here/test/src" "$out/erlport.jar:$out/hookmq-sdk.jar" "$out/test-classes" "$stamps/test"
fi
