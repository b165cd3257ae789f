#!/usr/bin/env bash
# The second demo (issue #14): set up, build, and seal a marriage
# certificate through cvqd's /v1/seal with a key on a SoftHSM2 token;
# poppler's pdfsig and cvq-admin document verify judge it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec tests/bench/with-bench --cards '' --softhsm -- scripts/demo-documents-story.sh
