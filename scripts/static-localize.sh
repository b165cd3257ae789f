#!/bin/sh
# static-localize.sh OUT.a IN.a...
#
# The static form of a cvq library (docs/layout.md): every object of the
# input archives is linked into ONE relocatable object (ld -r), whose hidden
# symbols are then made local (objcopy --localize-hidden). The archive so
# made exports the same cvq_ names as the shared library; the library's
# internal helpers (card_select, p11_session, ca_now, ...) can no longer
# clash with a program's own symbols or be called from outside.
#
# LD, OBJCOPY and AR may name other tools (cross builds, LLVM).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 OUT.a IN.a..." >&2; exit 2; }
out=$1; shift
: "${LD:=ld}" "${OBJCOPY:=objcopy}" "${AR:=ar}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
name=$(basename "$out" .a)
"$LD" -r -o "$tmp/$name.o" --whole-archive "$@" --no-whole-archive
"$OBJCOPY" --localize-hidden "$tmp/$name.o"
rm -f "$out.tmp"
"$AR" rcsD "$out.tmp" "$tmp/$name.o"
mv -f "$out.tmp" "$out"
