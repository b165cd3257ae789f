#!/usr/bin/env bash
# Faults: kill -9 during a batch issuance leaves the store intact (integrity
# check ok, every certificate written out is in the store, serials unique);
# a read-only store and a full disk give a clear error and change nothing.
. "$(dirname "$0")/lib.sh"
cd "$W"

trap 'cd /; umount -l "$W/ca" 2>/dev/null || true; umount -l "$W/small" 2>/dev/null || true; ca_cleanup' EXIT
make_ca ca --subject "/CN=CVQ Fautes"
export CVQ_CA_CONFIG=$W/ca/ca.conf
mkdir csrs out
N=${CVQ_FAULT_CSRS:-1500}
# One key for all CSRs keeps set-up fast; each CSR is still its own PoP.
openssl ecparam -name prime256v1 -genkey -noout -out k.pem
for i in $(seq 1 "$N"); do
	openssl req -new -key k.pem -subj "/CN=svc$i" -out csrs/$i.csr 2>/dev/null
done

# --- kill -9 in the middle of a batch
"$ADMIN" cert issue --profile service --out-dir out csrs/*.csr 2>/dev/null &
pid=$!
for i in $(seq 1 600); do
	[ "$(ls out | wc -l)" -ge 300 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.05
done
# The kill must land in the batch, not after it: a batch that finished (or
# a kill of its zombie) would test nothing. SIGKILL is 128 + 9.
kill -9 $pid 2>/dev/null || fail "the batch ended before the kill (raise CVQ_FAULT_CSRS)"
rc=0
wait $pid 2>/dev/null || rc=$?
[ "$rc" = 137 ] || fail "the batch was not killed (exit $rc)"
written=$(ls out | wc -l)
[ "$written" -gt 0 ] || fail "nothing written before the kill"
[ "$written" -lt "$N" ] || fail "all $N written: the kill came too late"
# Files are whole or absent (temporary name, then rename): none empty or cut.
for f in out/*; do
	case $f in *.pem) ;; *) fail "not a certificate in the output directory: $f";; esac
	tail -n 1 "$f" | grep -q -- '-----END CERTIFICATE-----' || fail "$f is empty or cut short"
done
[ "$(sqlite3 ca/ca.db 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
stored=$(sqlite3 ca/ca.db "SELECT count(*) FROM certs WHERE profile = 3")
[ "$stored" -ge "$written" ] || fail "$written written, only $stored stored"
for f in out/*.pem; do
	s=$(basename "$f" .pem)
	[ "$(sqlite3 ca/ca.db "SELECT count(*) FROM certs WHERE serial = '$s'")" = 1 ] ||
		fail "$s written out but not in the store"
done
[ "$(sqlite3 ca/ca.db 'SELECT count(DISTINCT serial) = count(*) FROM certs')" = 1 ] || fail "serials"
"$ADMIN" audit verify >/dev/null || fail "audit after kill"
ok "kill -9 after $written of $N certificates: store intact, all written ones recorded"

# --- a batch with CSRs that cannot be read (read by the batch's threads as
# it goes): each one refused, named and audited, the others issued
mkdir part
: > csrs/empty.csr
head -c $((1 << 20)) /dev/zero > csrs/huge.csr
refused_before=$(sqlite3 ca/ca.db "SELECT count(*) FROM audit WHERE action = 'cert.refuse'")
rc=0
"$ADMIN" cert issue --profile service --out-dir part csrs/1.csr csrs/missing.csr csrs/2.csr \
	csrs/empty.csr csrs/huge.csr csrs/3.csr 2> part.err || rc=$?
[ "$rc" -ne 0 ] || fail "a batch with unreadable CSRs succeeded"
for f in missing empty huge; do
	grep -q "cannot read csrs/$f.csr" part.err || { cat part.err; fail "csrs/$f.csr not named"; }
done
[ "$(ls part | wc -l)" = 3 ] || { ls part; fail "the 3 readable CSRs not all issued"; }
refused=$(sqlite3 ca/ca.db "SELECT count(*) FROM audit WHERE action = 'cert.refuse'")
[ $((refused - refused_before)) = 3 ] || fail "$((refused - refused_before)) refusals audited, not 3"
"$ADMIN" audit verify >/dev/null || fail "audit after a batch with unreadable CSRs"
rm -f csrs/empty.csr csrs/huge.csr
ok "unreadable CSRs in a batch: each refused, named and audited; the others issued"

# --- a read-only store (a read-only mount: root ignores file modes)
csr one.csr
before=$(sqlite3 ca/ca.db "SELECT count(*) FROM certs")
mount --bind -o ro "$W/ca" "$W/ca"
rc=0
"$ADMIN" cert issue --profile service --subject /CN=ro --out ro.pem one.csr 2> ro.err || rc=$?
[ $rc -eq 7 ] || { cat ro.err; fail "read-only store: exit $rc"; }
grep -qi "read-only\|readonly\|cannot open" ro.err || { cat ro.err; fail "unclear read-only error"; }
[ ! -s ro.pem ] || fail "a certificate left a read-only CA"
umount "$W/ca"
[ "$(sqlite3 ca/ca.db "SELECT count(*) FROM certs")" = "$before" ] || fail "read-only store changed"
ok "read-only store: clear error, nothing written"

# --- a full disk: the store on a tiny tmpfs, filled up
mkdir small
mount -t tmpfs -o size=2m tmpfs small
cp -a ca small/
sed -i "s#^db = .*#db = $W/small/ca/ca.db#" small/ca/ca.conf
# One issuance first, so the WAL files exist; then fill the disk.
"$ADMIN" --config small/ca/ca.conf cert issue --profile service --subject /CN=first --out first.pem one.csr
before=$(sqlite3 small/ca/ca.db "SELECT count(*) FROM certs")
dd if=/dev/zero of=small/fill bs=4k 2>/dev/null || true
rc=0
for i in $(seq 1 50); do
	"$ADMIN" --config small/ca/ca.conf cert issue --profile service --subject /CN=full$i \
		--out full$i.pem one.csr 2> full.err || { rc=$?; break; }
done
[ "$rc" -eq 7 ] || { cat full.err; fail "full disk: exit $rc"; }
grep -qi "full" full.err || { cat full.err; fail "unclear full-disk error"; }
[ ! -s full$i.pem ] || fail "a certificate left despite the full disk"
rm -f small/fill
[ "$(sqlite3 small/ca/ca.db 'PRAGMA integrity_check')" = ok ] || fail "integrity after full disk"
after=$(sqlite3 small/ca/ca.db "SELECT count(*) FROM certs")
[ "$after" -eq $((before + i - 1)) ] || fail "half-written: $before + $((i - 1)) != $after"
umount small
ok "full disk: clear error, nothing half-written"

# --- output files on a full disk: never an empty or cut certificate or CRL
mkdir tiny
mount -t tmpfs -o size=16k tmpfs tiny
"$ADMIN" crl issue --out tiny/ca.crl
openssl crl -inform DER -in tiny/ca.crl -noout || fail "first CRL unreadable"
cp tiny/ca.crl crl.before
# The next CRL lists 120 more entries: more than the page the old one holds,
# so a CRL rewritten in place (truncate, write) would be cut short.
for f in $(ls out | head -n 120); do
	"$ADMIN" cert revoke "$(basename "$f" .pem)" > /dev/null || fail "revoke $f"
done
for i in $(seq 1 8); do csr c$i.csr; done
rc=0
"$ADMIN" cert issue --profile service --out-dir tiny c?.csr 2> tiny.err || rc=$?
[ "$rc" -ne 0 ] || { umount tiny; fail "8 certificates fit in 16k?"; }
grep -qi "cannot write" tiny.err || { cat tiny.err; umount tiny; fail "unclear error for a full output disk"; }
for f in tiny/*.pem; do
	tail -n 1 "$f" | grep -q -- '-----END CERTIFICATE-----' || { umount tiny; fail "$f is empty or cut short"; }
done
[ -z "$(ls -A tiny | grep -v -e '\.pem$' -e '^ca\.crl$')" ] || { ls -A tiny; umount tiny; fail "temporary files left"; }
rc=0
"$ADMIN" crl issue --out tiny/ca.crl 2> crl.err || rc=$?
[ "$rc" -ne 0 ] || { umount tiny; fail "a CRL written to a full disk"; }
cmp -s tiny/ca.crl crl.before || { umount tiny; fail "the previous CRL was damaged by a failed crl issue"; }
umount tiny
ok "full output disk: every certificate file whole, the previous CRL kept"
echo "PASS ca-faults"
