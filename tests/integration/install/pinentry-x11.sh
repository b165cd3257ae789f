#!/usr/bin/env bash
# A graphical pinentry reaching the kiosk's session the way
# daemon/systemd/pinentry-x11.conf sets it up (docs/daemon.md): Xvfb is
# the kiosk's X server, with a cookie only the kiosk user has; the session
# runs `xhost +SI:localuser:USER`; Debian's pinentry-gtk-2, started by
# cvq_secret_read("pinentry:...") as that unprivileged user (nobody here,
# cvqd on a kiosk), in a private /tmp (PrivateTmp=) with only DISPLAY set
# (the drop-in's Environment=), shows its dialog; xdotool types the PIN.
# Then the same without the xhost line: the dialog must not come up.
#   pinentry-x11.sh PINENTRY_ASK
set -euo pipefail
ask=$(realpath "$1")
for p in Xvfb xauth xhost xdotool mcookie unshare setpriv; do
	command -v "$p" >/dev/null || { echo "$p missing"; exit 77; }
done
[ -x /usr/bin/pinentry-gtk-2 ] || { echo "pinentry-gtk-2 missing"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root (setpriv, a private /tmp)"; exit 77; }
user=nobody
dir=$(mktemp -d)
chmod 755 "$dir"
# The private /tmp below hides whatever lives under /tmp, a build tree
# included (CI's clone may be there): the program and the cvq libraries
# it links go to a folder of their own outside /tmp first.
run=$(mktemp -d /run/cvq-pinentry-x11.XXXXXX)
chmod 755 "$run"
cp "$ask" "$run/pinentry-ask"
ldd "$ask" | awk '$3 ~ /libcvq/ {print $3}' | while read -r lib; do cp "$lib" "$run/"; done
ask=$run/pinentry-ask
xpid=
trap '[ -n "$xpid" ] && kill "$xpid" 2>/dev/null; rm -rf "$dir" "$run"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The kiosk's X server, access by cookie (as a display manager starts it).
export XAUTHORITY=$dir/kiosk.xauth
touch "$XAUTHORITY"
chmod 600 "$XAUTHORITY"
exec 3> "$dir/display"
# -noreset: a kiosk session keeps clients connected; without any, the X
# server would reset and forget the xhost entry.
Xvfb -displayfd 3 -auth "$XAUTHORITY" -noreset -nolisten tcp -screen 0 800x600x24 2> "$dir/xvfb.log" &
xpid=$!
exec 3>&-
for _ in $(seq 100); do [ -s "$dir/display" ] && break; sleep 0.1; done
[ -s "$dir/display" ] || { cat "$dir/xvfb.log"; fail "Xvfb did not start"; }
export DISPLAY=:$(cat "$dir/display")
# Xvfb reads the -auth file when a client connects: put the cookie there.
xauth -f "$XAUTHORITY" add "$DISPLAY" . "$(mcookie)"

# What cvqd does under the unit: its own user, a private /tmp, no cookie.
ask_as_service() {
	unshare -m sh -c 'mount -t tmpfs tmpfs /tmp && exec setpriv --reuid "$1" --regid nogroup \
		--clear-groups env -i DISPLAY="$2" HOME=/nonexistent PATH=/usr/bin:/bin LD_LIBRARY_PATH="${3%/*}" \
		"$3" pinentry:/usr/bin/pinentry-gtk-2' sh "$user" "$DISPLAY" "$ask" \
		> "$dir/out" 2>&1 &
	pid=$!
}
type_pin() { # type_pin: 0 when the dialog came up and got the PIN
	local w
	w=$(timeout 15 xdotool search --sync --onlyvisible --class pinentry 2>/dev/null | head -n 1) || return 1
	[ -n "$w" ] || return 1
	xdotool windowactivate --sync "$w" 2>/dev/null || xdotool windowfocus --sync "$w"
	xdotool type --delay 20 123456
	xdotool key Return
}

# Without the session's xhost line, the service's pinentry cannot open the
# display (so the test below can fail).
ask_as_service
wait "$pid" && fail "pinentry reached the display without xhost: $(cat "$dir/out")"
grep -q 'got 6 characters' "$dir/out" && fail "a PIN got through without xhost"

xhost "+SI:localuser:$user" > /dev/null
ask_as_service
type_pin || { kill "$pid" 2>/dev/null || true; cat "$dir/out"; fail "no pinentry dialog on $DISPLAY"; }
wait "$pid" || { cat "$dir/out"; fail "pinentry-ask failed"; }
cat "$dir/out"
grep -q 'got 6 characters, as typed' "$dir/out" || fail "the PIN did not arrive as typed"
echo "PASS pinentry-x11"
