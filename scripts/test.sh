#!/usr/bin/env bash
# Set up a fresh machine and run every cvq test:
#   1. install the Debian packages (scripts/install-deps.sh);
#   2. build with warnings as errors and run every suite (unit, integration
#      on private pcscd benches, fuzz corpus replay);
#   3. build with AddressSanitizer + UndefinedBehaviorSanitizer and run the
#      unit and fuzz-replay suites;
#   4. with clang, build the libFuzzer targets and fuzz each for
#      CVQ_FUZZ_SECONDS (default 10) seconds, from the seed corpus, with a
#      fixed seed (CVQ_FUZZ_SEED, default 1) so a run can be replayed;
#   5. build the Debian packages, lintian them, install them and run the
#      demo story with the installed binaries (scripts/test-debs.sh).
# Prints "N passed, N failed" at the end; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh || exit 1

fuzz_seconds=${CVQ_FUZZ_SECONDS:-10}
passed=0 failed=0 failures=()

setup() { # dir [meson options...]
	local dir=$1; shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

count_results() { # build dir
	local counts
	counts=$(python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
names = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["result"] in ("OK", "EXPECTEDFAIL", "SKIP"):
        ok += r["result"] != "SKIP"
    else:
        bad += 1
        names.append(r["name"])
print(ok, bad, " ".join(names))
PY
)
	read -r p f names <<< "$counts"
	passed=$((passed + p)); failed=$((failed + f))
	[ -n "${names:-}" ] && failures+=($names)
	return 0
}

run_suite() { # label builddir [meson test args...]
	local label=$1 dir=$2; shift 2
	echo "== $label"
	meson test -C "$dir" --print-errorlogs "$@"
	local rc=$?
	count_results "$dir"
	return $rc
}

echo "== build (warnings are errors)"
if setup build --werror -Dtests=enabled && ninja -C build; then
	run_suite "all suites" build
else
	failed=$((failed + 1)); failures+=(build)
fi

echo "== build with ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if setup build-asan --werror -Dtests=enabled -Db_sanitize=address,undefined \
	-Db_lundef=false && ninja -C build-asan; then
	run_suite "unit and fuzz replay under sanitizers" build-asan --suite unit
else
	failed=$((failed + 1)); failures+=(build-asan)
fi

if command -v clang >/dev/null; then
	echo "== libFuzzer (${fuzz_seconds}s per target)"
	if CC=clang setup build-fuzz -Dfuzzing=true -Dtests=disabled \
		-Db_sanitize=address,undefined -Db_lundef=false && ninja -C build-fuzz; then
		for exe in build-fuzz/tests/fuzz/fuzz-*; do
			[ -f "$exe" ] && [ -x "$exe" ] || continue
			name=${exe##*/fuzz-}
			work=$(mktemp -d)
			cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null || true
			if "$exe" -max_total_time="$fuzz_seconds" -max_len=4096 -seed="${CVQ_FUZZ_SEED:-1}" \
				-artifact_prefix="build-fuzz/crash-$name-" "$work" \
				> "build-fuzz/fuzz-$name.log" 2>&1; then
				echo "fuzz $name: ok ($(grep -o 'DONE.*' "build-fuzz/fuzz-$name.log" | head -1))"
				passed=$((passed + 1))
			else
				echo "fuzz $name: FAILED, see build-fuzz/fuzz-$name.log"
				tail -30 "build-fuzz/fuzz-$name.log"
				failed=$((failed + 1)); failures+=("libfuzzer-$name")
			fi
			rm -rf "$work"
		done
	else
		failed=$((failed + 1)); failures+=(build-fuzz)
	fi
fi

# 5. the Debian packages (docs/packaging.md): built from the tree, lintian
#    without errors, installed, the demo story run with the installed
#    binaries, then purged. CVQ_TEST_DEBS=0 skips it (a machine without apt).
if [ "${CVQ_TEST_DEBS:-1}" = 1 ]; then
	echo "== Debian packages"
	if scripts/test-debs.sh > build/test-debs.log 2>&1; then
		tail -n 4 build/test-debs.log
		passed=$((passed + 1))
	else
		tail -n 40 build/test-debs.log
		failed=$((failed + 1)); failures+=(debian-packages)
	fi
fi

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
