#!/usr/bin/env bash
# The main job: set up, build, and run the demo story on virtual cards.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
# The TSA's second officer is another uid (two-person control): root.
[ "$(id -u)" = 0 ] || exec sudo tests/bench/with-bench --cards 0 -- scripts/demo-story.sh
exec tests/bench/with-bench --cards 0 -- scripts/demo-story.sh
