#!/usr/bin/env bash
# Install the Debian packages cvq needs to build, test and run its demo.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

packages=(
	# build
	meson ninja-build pkg-config gcc clang libclang-rt-14-dev gettext
	libpcsclite-dev libssl-dev libp11-dev libsqlite3-dev libmicrohttpd-dev libgnutls28-dev
	libjansson-dev libinih-dev libcmocka-dev zlib1g-dev libp11-kit-dev libicu-dev
	# sealed documents (#14): PDF structure, sample documents, the peers
	libqpdf-dev qpdf libcairo2-dev fonts-dejavu-core poppler-utils libnss3-tools ghostscript
	# the bench: real PC/SC stack, virtual reader, SoftHSM
	pcscd vsmartcard-vpcd softhsm2 iproute2 util-linux python3
	# peers that judge our output
	opensc opensc-pkcs11 yubico-piv-tool gnutls-bin openssl sqlite3 curl
	nginx-light pinentry-tty tmux libengine-pkcs11-openssl xxd python3 jq bc
	# cvq-webeid (issue #15): a real browser, and an independent token check
	chromium python3-cryptography
	# packaging and the kiosk runtime (docs/packaging.md): debs, lintian,
	# systemd-analyze, a graphical pinentry on a virtual X display
	debhelper lintian dpkg-dev systemd xvfb xauth x11-xserver-utils xdotool pinentry-gtk2
	# CSRs openssl req will not write (ca-roles.sh); instruction counts (bench/ca-checks.sh)
	valgrind
	# what the holder sees, judged in real terminals and by OCR (#11)
	screen x11-apps tesseract-ocr tesseract-ocr-fra
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts pcscd through systemd socket activation where systemd runs;
# our benches use a private pcscd and never need the machine's one.
