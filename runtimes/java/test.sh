#!/usr/bin/env bash
# Builds (if needed) and tests the hookmq Java runtime and SDK. Needs only a JDK 17+.
# Usage: runtimes/java/test.sh [TestClass.testName-substring ...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/build.sh"
build="$here/build"
exec java -Dhookmq.java.build="$build" \
    -cp "$build/erlport.jar:$build/hookmq-sdk.jar:$build/test-classes:$build/compat-classes" \
    hookmq.javatest.TestMain "$@"
