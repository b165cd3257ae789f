#!/usr/bin/env bash
# libcvqdoc's PDF revisions judged by peers: PDFs from several producers
# (cairo, Ghostscript, qpdf with object streams, qpdf-linearised, an
# already-signed one) get a signature revision; qpdf --check finds no
# error, poppler's pdfsig says valid and "Total document signed", earlier
# signatures stay valid, and one byte changed anywhere in the signed
# ranges or the signature makes pdfsig say invalid. The CMS here comes
# from a software key (pdfsign-soft): the city's seal is doc-seal.sh.
set -euo pipefail
B=${CVQ_BUILD:?}/tests/integration/document
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem \
	-out c.pem -subj "/CN=Sceau de test/O=Ville de Test" -days 10 2>/dev/null

"$B/cvq-mkpdf" cairo.pdf 3
qpdf --object-streams=generate cairo.pdf objstm.pdf
qpdf --linearize cairo.pdf linear.pdf
if command -v gs >/dev/null; then
	printf '%%!PS\n/Helvetica findfont 14 scalefont setfont 72 720 moveto (Acte de mariage) show showpage\n' > a.ps
	gs -q -dNOPAUSE -dBATCH -sDEVICE=pdfwrite -sOutputFile=ghostscript.pdf a.ps
fi
"$B/pdfsign-soft" cairo.pdf presigned.pdf k.pem c.pem

valid_sigs() { pdfsig -nocert "$1" 2>/dev/null | grep -c "Signature is Valid" || true; }

for f in *.pdf; do
	case $f in *-signed.pdf) continue ;; esac
	before=$(valid_sigs "$f")
	"$B/pdfsign-soft" "$f" "${f%.pdf}-signed.pdf" k.pem c.pem
	out=${f%.pdf}-signed.pdf
	qpdf --check "$out" > check.txt 2>&1 || { cat check.txt; fail "qpdf --check $out"; }
	grep -q "No syntax or stream encoding errors" check.txt || fail "qpdf warnings on $out"
	pdfsig -nocert "$out" > sig.txt 2>&1 || true
	after=$(grep -c "Signature is Valid" sig.txt || true)
	[ "$after" -eq $((before + 1)) ] || { cat sig.txt; fail "$out: $after valid signatures, wanted $((before + 1))"; }
	tail -4 sig.txt | grep -q "Total document signed" || { cat sig.txt; fail "$out: last signature not over the whole document"; }
	# The original bytes are untouched: an incremental update only appends.
	cmp -n "$(stat -c %s "$f")" "$f" "$out" || fail "$out rewrote the original revision"
	ok "$f: signed revision, qpdf clean, pdfsig valid ($after signatures)"
done

# One byte changed: in the first range, in the last range, in the signature.
out=cairo-signed.pdf
size=$(stat -c %s "$out")
read -r _ a b c <<< "$(pdfsig -nocert "$out" | sed -n 's/.*Signed Ranges: \[0 - \([0-9]*\)\], \[\([0-9]*\) - \([0-9]*\)\].*/x \1 \2 \3/p' | tail -1)"
for pos in 200 $((b + 10)) $((a + 40)); do
	cp "$out" flip.pdf
	orig=$(dd if=flip.pdf bs=1 skip="$pos" count=1 2>/dev/null | xxd -p)
	new=$(printf '%02x' $(( (0x$orig + 1) % 256 )))
	[ "$orig" = 30 ] && new=31
	printf "\\x$new" | dd of=flip.pdf bs=1 seek="$pos" conv=notrunc 2>/dev/null
	if pdfsig -nocert flip.pdf 2>&1 | tail -4 | grep -q "Signature is Valid"; then
		fail "byte $pos changed and pdfsig still says valid"
	fi
	ok "byte $pos of $size changed: pdfsig refuses"
done
echo "doc-structure: all checks passed"
