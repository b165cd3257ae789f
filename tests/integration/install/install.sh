#!/usr/bin/env bash
# `meson install --destdir` into a scratch root, then build programs from
# outside the tree against every installed library through pkg-config only
# (docs/layout.md, "Rules for every library"), and check what the installed
# shared objects export.
#   install.sh BUILD_DIR SRC_DIR
set -euo pipefail
build=$(realpath "$1") src=$(realpath "$2")
here=$src/tests/integration/install
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null

pcdir=$(dirname "$(find "$dest" -name cvq-util.pc -print -quit)")
[ -d "$pcdir" ] || fail "no cvq-util.pc installed"
libdir=$(dirname "$pcdir")
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$pcdir:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig
pcs="cvq-util cvq-card cvq-p11 cvq-ca cvq-ca-http"
for pc in $pcs; do
	[ -f "$pcdir/$pc.pc" ] || fail "$pc.pc not installed"
done
# Libraries added later (docs/layout.md) are checked too: every .pc.
allpcs=$(cd "$pcdir" && ls cvq-*.pc | sed 's/\.pc$//' | tr '\n' ' ')
cc=${CC:-cc}
# Nothing from the source or build tree: -I and -L come from pkg-config.
# (The sysroot also prefixes the system libraries' -I/-L, which then do not
# exist; the compiler falls back to its own search paths for those.)
flags=$(pkg-config --cflags --libs $pcs)
case "$flags" in *"$src"*|*"$build"*) fail "pkg-config points into the tree: $flags";; esac
work=$dest/work
mkdir -p "$work"

shared=0
for so in "$libdir"/libcvq*.so.0; do
	[ -e "$so" ] || continue
	shared=1
	soname=$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
	[ "$soname" = "$(basename "$so")" ] || fail "$so: SONAME '$soname'"
	# Only cvq_ names (and the version node) are exported.
	other=$(nm -D --defined-only "$so" | awk '$2 != "A" && $3 !~ /^cvq_/ {print $3}')
	[ -z "$other" ] || fail "$so exports non-cvq_ names: $other"
done

if [ $shared = 1 ]; then
	# Every CVQ_EXPORT declaration of the installed headers is exported.
	incdir=$(dirname "$(find "$dest" -path '*/include/cvq/export.h' -print -quit)")
	[ -d "$incdir" ] || fail "no cvq/export.h installed"
	decl=$(cat "$incdir"/*.h |
		tr '\n' ' ' | grep -o 'CVQ_EXPORT [^(;]*' | grep -o 'cvq_[a-z0-9_]*[^a-z0-9_]*$' |
		grep -o 'cvq_[a-z0-9_]*' | sort -u)
	[ -n "$decl" ] || fail "no CVQ_EXPORT declaration in the installed headers"
	exp=$(for so in "$libdir"/libcvq*.so.0; do nm -D --defined-only "$so"; done |
		awk '{sub(/@.*/, "", $3); print $3}' | sort -u)
	missing=$(comm -23 <(echo "$decl") <(echo "$exp"))
	[ -z "$missing" ] || fail "declared CVQ_EXPORT but not exported: $missing"
	# And no public function declared without CVQ_EXPORT (it would not be
	# visible): declarations start in column 0 in these headers.
	bare=$(grep -nE '^[A-Za-z_][^;{#]*\bcvq_[a-z0-9_]+ *\(' "$incdir"/*.h |
		grep -vE ':(CVQ_EXPORT|typedef|extern "C"|static|struct [a-z_]+ *\{|enum)' || true)
	[ -z "$bare" ] || fail "public declarations without CVQ_EXPORT: $bare"

	$cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/outside" \
		"$here/outside.c" $flags
	# The same for every installed header and version call, whatever the
	# libraries: a program made from what is installed.
	{
		echo '#include <stdio.h>'
		for h in "$incdir"/*.h; do echo "#include <cvq/$(basename "$h")>"; done
		echo 'int main(void) {'
		sed -n 's/^CVQ_EXPORT const char \*\(cvq_[a-z0-9_]*_version\)(void);/\1/p' \
			"$incdir"/*_version.h | while read -r fn; do
			echo "	printf(\"$fn %s\\n\", $fn());"
		done
		echo '	return 0;'
		echo '}'
	} > "$work/every.c"
	$cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/every" "$work/every.c" \
		$(pkg-config --cflags --libs $allpcs)
	LD_LIBRARY_PATH=$libdir "$work/every" > "$work/every.out"
	[ "$(wc -l < "$work/every.out")" = "$(ls "$incdir"/*_version.h | wc -l)" ] ||
		fail "not every version call ran: $(cat "$work/every.out")"
	LD_LIBRARY_PATH=$libdir "$work/outside" | tee "$work/out"
	grep -q '^libcvqca-http ' "$work/out" || fail "no version printed"
	# The program loaded the installed libraries, not the build tree's.
	LD_LIBRARY_PATH=$libdir ldd "$work/outside" | grep 'libcvq' |
		grep -v -- "$libdir" && fail "a library resolved outside the destdir"
	# Internals are not reachable from outside.
	if $cc -o "$work/internal" "$here/internal.c" $flags 2>/dev/null; then
		fail "a program linked card_select, an internal of libcvqcard"
	fi
fi

if ls "$libdir"/libcvq*.a >/dev/null 2>&1; then
	# The static form: one object per archive, the same cvq_ names.
	for a in "$libdir"/libcvq*.a; do
		[ "$(ar t "$a" | wc -l)" = 1 ] || fail "$a: not one object"
		other=$(nm -g --defined-only "$a" | awk 'NF == 3 && $3 !~ /^cvq_/ {print $3}')
		[ -z "$other" ] || fail "$a exports non-cvq_ names: $other"
	done
	# libcvqca-http is left out here: `pkg-config --static libmicrohttpd`
	# asks for GnuTLS's own private libraries (-lunistring...), whose -dev
	# packages a shared build never needs. Its archive is checked above.
	spcs="cvq-util cvq-card cvq-p11 cvq-ca"
	cvqlibs=$(pkg-config --libs-only-l $spcs | tr ' ' '\n' | grep -- '^-lcvq' | tr '\n' ' ')
	others=$(pkg-config --static --cflags --libs $spcs | tr ' ' '\n' | grep -v -- '^-lcvq' | tr '\n' ' ')
	$cc -std=c11 -Wall -Wextra -Wpedantic -Werror -DOUTSIDE_NO_CA_HTTP \
		-o "$work/outside-static" "$here/outside.c" \
		-Wl,-Bstatic -Wl,--start-group $cvqlibs -Wl,--end-group -Wl,-Bdynamic $others
	"$work/outside-static" | tee "$work/out-static"
	ldd "$work/outside-static" | grep -q libcvq && fail "static program loads a libcvq .so"
	if $cc -o "$work/internal" "$here/internal.c" -Wl,-Bstatic -L"$libdir" -lcvqcard \
		-Wl,-Bdynamic $(pkg-config --static --libs cvq-card) 2>/dev/null; then
		fail "a program linked card_select from libcvqcard.a"
	fi
fi
# The units as installed, and with the graphical-pinentry drop-in
# (docs/daemon.md), as systemd-analyze reads them; ExecStart= points into
# the destdir, where cvqd is.
if command -v systemd-analyze >/dev/null; then
	svc=$(find "$dest" -name cvqd.service -print -quit)
	[ -n "$svc" ] || fail "cvqd.service not installed"
	[ -f "$(dirname "$svc")/cvqd.socket" ] || fail "cvqd.socket not installed"
	find "$dest" -path '*sysusers.d/cvqd.conf' | grep -q . || fail "no sysusers.d file"
	find "$dest" -path '*tmpfiles.d/cvqd.conf' | grep -q . || fail "no tmpfiles.d file"
	u=$work/units
	mkdir -p "$u/cvqd.service.d"
	sed "s#^ExecStart=#ExecStart=$dest#" "$svc" > "$u/cvqd.service"
	cp "$(dirname "$svc")/cvqd.socket" "$u/"
	cp "$src/daemon/systemd/pinentry-x11.conf" "$u/cvqd.service.d/"
	systemd-analyze verify --man=no "$u/cvqd.service" "$u/cvqd.socket" 2>&1 | tee "$work/verify"
	[ ! -s "$work/verify" ] || fail "systemd-analyze verify complains"
	grep -q '^User=cvqd' "$u/cvqd.service" || fail "the unit does not run as cvqd"
fi
echo "install: ok ($([ $shared = 1 ] && echo shared) $(ls "$libdir"/libcvq*.a >/dev/null 2>&1 && echo static))"
