#!/usr/bin/env bash
# Debian's own pinentry-tty, unchanged, driven by a person's keystrokes
# (tmux send-keys), through cvq_secret_read("pinentry:...").
set -euo pipefail
ask=$1
command -v tmux >/dev/null || { echo "tmux missing"; exit 77; }
[ -x /usr/bin/pinentry-tty ] || { echo "pinentry-tty missing"; exit 77; }
dir=$(mktemp -d)
sock="$dir/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$dir"' EXIT
tmux -S "$sock" new-session -d -x 100 -y 20 \
	"$ask pinentry:/usr/bin/pinentry-tty > $dir/out 2>&1; echo done >> $dir/out; sleep 5"
for _ in $(seq 100); do
	tmux -S "$sock" capture-pane -p | grep -q 'Code PIN' && break
	sleep 0.1
done
tmux -S "$sock" capture-pane -p | grep -q 'Code PIN' || { tmux -S "$sock" capture-pane -p; exit 1; }
tmux -S "$sock" send-keys 123456 Enter
for _ in $(seq 100); do grep -q done "$dir/out" 2>/dev/null && break; sleep 0.1; done
cat "$dir/out"
# The PIN was not echoed on the screen. (Not `! pipeline`: set -e ignores
# a negated command, so that form could never fail.)
if tmux -S "$sock" capture-pane -p | grep -q 123456; then
	tmux -S "$sock" capture-pane -p
	echo "FAIL: the PIN was echoed"
	exit 1
fi
grep -q 'got 6 characters, as typed' "$dir/out"
