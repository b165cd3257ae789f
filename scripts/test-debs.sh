#!/usr/bin/env bash
# test-debs.sh [OUT_DIR] — the Debian packages as a city's IT gets them
# (docs/packaging.md): build them (scripts/build-debs.sh), lintian without
# errors, install them on this machine with apt (maintainer scripts run:
# sysusers, tmpfiles), check what they created, build an outside program
# against libcvq-dev through pkg-config only, verify the installed units,
# and run the demo story against the INSTALLED binaries (/usr/bin/cvq-admin,
# /usr/sbin/cvqd, /usr/bin/cvq-vcard) on a private bench. Needs root.
# Prints its run time; CVQ_DEBS_KEEP=1 keeps the packages installed,
# CVQ_DEBS_PREBUILT=1 tests the packages already in OUT_DIR.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/debs}
t0=$(date +%s)
fail() { echo "test-debs: FAIL: $*" >&2; exit 1; }
step() { echo "== $* ($(( $(date +%s) - t0 )) s)"; }

step "build"
if [ "${CVQ_DEBS_PREBUILT:-0}" = 1 ]; then
	ls "$out"/cvq_*.changes > /dev/null || fail "CVQ_DEBS_PREBUILT=1 but no packages in $out"
else
	"$src/scripts/build-debs.sh" "$out"
fi

step "lintian"
# No tag at all is the good case: grep -v then selects nothing and exits 1,
# which must not end the script (pipefail).
lintian --fail-on error --tag-display-limit 0 "$out"/cvq_*.changes 2>&1 |
	{ grep -v 'running with root privileges' || true; } | tee "$out/lintian.txt"
! grep -q '^E:' "$out/lintian.txt" || fail "lintian errors"

step "install"
debs=$(ls "$out"/*.deb | grep -v -- '-dbgsym_')
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	$(printf '%s ' $debs) > "$out/install.log" 2>&1 || { tail -30 "$out/install.log"; fail "apt-get install"; }
cleanup() {
	[ "${CVQ_DEBS_KEEP:-0}" = 1 ] && return 0
	DEBIAN_FRONTEND=noninteractive apt-get purge -y libcvq-dev cvqd cvq-admin cvq-vcard \
		libcvqutil0 libcvqcard0 libcvqp11-0 libcvqca0 libcvqca-http0 libcvqcades0 libcvqverify0 \
		libcvqdoc0 cvq-webeid > /dev/null 2>&1 || true
	rm -rf "$scratch"
}
scratch=$(mktemp -d)
trap cleanup EXIT

step "what the maintainer scripts made"
getent passwd cvqd > /dev/null || fail "no user cvqd (sysusers)"
getent group cvqd-clients > /dev/null || fail "no group cvqd-clients (sysusers)"
[ "$(stat -c %U:%G:%a /var/lib/cvqd)" = cvqd:cvqd:750 ] || fail "/var/lib/cvqd: $(stat -c %U:%G:%a /var/lib/cvqd)"
grep -rq useradd /var/lib/dpkg/info/cvqd.* && fail "a maintainer script calls useradd"
for so in libcvqutil.so.0 libcvqcard.so.0 libcvqp11.so.0 libcvqca.so.0 libcvqca-http.so.0 \
	libcvqcades.so.0 libcvqverify.so.0 libcvqdoc.so.0; do
	ldconfig -p | grep -q "$so" || fail "$so not known to ldconfig"
done
ldd /usr/sbin/cvqd | grep -Eq 'libcvqcard\.so\.0 => /(usr/)?lib/' || fail "cvqd does not load the installed libcvqcard"

step "units"
systemd-analyze verify --man=no /lib/systemd/system/cvqd.service /lib/systemd/system/cvqd.socket 2>&1 |
	tee "$scratch/verify"
[ ! -s "$scratch/verify" ] || fail "systemd-analyze verify complains"
systemd-analyze security --offline=yes /lib/systemd/system/cvqd.service 2>&1 | tail -n 1

step "an outside program against libcvq-dev, pkg-config only"
cc -std=c11 -Wall -Wextra -Werror -o "$scratch/outside" "$src/tests/integration/install/outside.c" \
	$(pkg-config --cflags --libs cvq-util cvq-card cvq-p11 cvq-ca cvq-ca-http cvq-cades cvq-verify cvq-doc)
"$scratch/outside"

step "the demo story with the installed binaries"
mkdir -p "$scratch/build"
ln -s /usr/share/locale "$scratch/build/po"   # the story's localedir
CVQ_BUILD=$scratch/build CVQ_ADMIN=/usr/bin/cvq-admin CVQD=/usr/sbin/cvqd \
CVQ_VCARD=/usr/bin/cvq-vcard \
CVQ_TSTATTACH=${CVQ_TSTATTACH:-$src/build/tests/integration/verify/tstattach} \
	"$src/tests/bench/with-bench" --cards 0 -- "$src/scripts/demo-story.sh" > "$scratch/demo.log" 2>&1 ||
	{ tail -40 "$scratch/demo.log"; fail "the demo story"; }
tail -n 3 "$scratch/demo.log"
step "test-debs: ok"
