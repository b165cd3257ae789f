#!/usr/bin/env bash
# build-debs.sh [OUT_DIR] — the Debian packages of this tree (debian/,
# docs/packaging.md): dpkg-buildpackage -b -uc -us in a scratch copy of the
# tree (tracked and new files, not build/ or other ignored ones), so that
# neither the tree nor its parent directory collects build products. The
# .deb, .buildinfo and .changes land in OUT_DIR (default: ./debs).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$src/debs}" && cd "${1:-$src/debs}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/cvq"
git -C "$src" ls-files -z --cached --others --exclude-standard |
	grep -zv '^debs/' | (cd "$src" && xargs -0 tar -cf - --no-recursion) |
	tar -xf - -C "$work/cvq"
cd "$work/cvq"
export DEB_BUILD_OPTIONS="nocheck parallel=${CVQ_DEB_JOBS:-2} ${DEB_BUILD_OPTIONS:-}"
start=$(date +%s)
nice dpkg-buildpackage -b -uc -us > "$work/build.log" 2>&1 || { tail -50 "$work/build.log" >&2; exit 1; }
cp "$work/build.log" "$out/build.log"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mv "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out"/
echo "built in $(( $(date +%s) - start )) s:"
ls "$out"/*.deb
