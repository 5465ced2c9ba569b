#!/bin/sh
# Install the Debian packages strand needs to build, test and record fixtures.
# Idempotent: installs only what is missing.  Needs root (or sudo).
# Each topic that needs more (Wine's DLLs, gdb, a browser for the report
# page test...) has its own script in scripts/setup.d/, run after this.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PKGS="build-essential cmake pkg-config libunicorn-dev libcapstone-dev libzydis-dev
libcriterion-dev libzstd-dev libxxhash-dev libreadline-dev gcc-mingw-w64-i686
nasm clang python3"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# strand_setup_install PKG...: apt-get install whichever are missing.
strand_setup_install() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "strand setup: installing$missing" >&2
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

strand_setup_install $PKGS
for f in "$here"/setup.d/*.sh; do
	[ -e "$f" ] || continue
	. "$f"
done
