#!/bin/sh
# Install the Debian packages strand needs to build, test and record fixtures.
# Idempotent: installs only what is missing.  Needs root (or sudo).
set -eu
PKGS="build-essential cmake pkg-config libunicorn-dev libcapstone-dev libzydis-dev
libcriterion-dev libzstd-dev libxxhash-dev libreadline-dev gcc-mingw-w64-i686
nasm clang python3"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "strand setup: installing$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
