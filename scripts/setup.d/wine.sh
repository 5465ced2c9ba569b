# wine.sh: real Windows user-mode code for `strand record-win` tests.
#
# Sourced by scripts/setup.sh (or run with sh).  Unpacks Debian's i386
# `libwine` (Wine's PE32 system DLLs and locale data) into a cache
# directory without installing it, and installs the mingw-w64 i686 win32
# toolchain (the real CRT, libgcc, libstdc++, winpthreads) the guest test
# programs are built with.
#
#   cache: ${STRAND_WINE_DIR:-${STRAND_CACHE:-$HOME/.cache/strand}/wine-8.0~repack-4}
#
# The tests look in the same place (the same variables, same default).
# Idempotent: does nothing when the cache is complete.  Needs root (or sudo)
# for apt.  A version other than the pinned one is an error: the tests'
# expectations (service numbers, instruction counts) are those of it.
strand_wine_setup() (
	# a subshell: nothing of it leaks into scripts/setup.sh
	ver="8.0~repack-4"
	cache="${STRAND_CACHE:-$HOME/.cache/strand}"
	dir="${STRAND_WINE_DIR:-$cache/wine-$ver}"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	if command -v strand_setup_install >/dev/null 2>&1; then
		strand_setup_install g++-mingw-w64-i686-win32 || return 1
	elif ! dpkg-query -W -f='${Status}' g++-mingw-w64-i686-win32 2>/dev/null | grep -q "install ok installed"; then
		echo "strand setup (wine): installing g++-mingw-w64-i686-win32" >&2
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
			g++-mingw-w64-i686-win32 >/dev/null || return 1
	fi
	if [ -f "$dir/.complete" ] && [ -f "$dir/usr/lib/i386-linux-gnu/wine/i386-windows/zlib1.dll" ]; then
		return 0
	fi
	if ! dpkg --print-foreign-architectures | grep -qx i386; then
		echo "strand setup (wine): adding the i386 architecture to dpkg" >&2
		$sudo dpkg --add-architecture i386 || return 1
		$sudo apt-get update -qq || return 1
	fi
	have=$(apt-cache policy libwine:i386 2>/dev/null | awk '/Candidate:/ { print $2 }')
	if [ -z "$have" ] || [ "$have" = "(none)" ]; then
		$sudo apt-get update -qq
		have=$(apt-cache policy libwine:i386 2>/dev/null | awk '/Candidate:/ { print $2 }')
	fi
	if ! apt-cache madison libwine:i386 2>/dev/null | awk '{ print $3 }' | grep -qx "$ver"; then
		echo "strand setup (wine): libwine:i386 version $ver is not available from apt (candidate: ${have:-none}); the Wine tests are pinned to $ver" >&2
		return 1
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/strand-wine.XXXXXX")
	chmod 755 "$tmp"
	echo "strand setup (wine): downloading libwine:i386=$ver into $dir" >&2
	if ! (cd "$tmp" && apt-get download -qq "libwine:i386=$ver" 2>/dev/null); then
		echo "strand setup (wine): apt-get download libwine:i386=$ver failed" >&2
		rm -rf "$tmp"
		return 1
	fi
	deb=$(ls "$tmp"/libwine_*_i386.deb)
	got=$(dpkg-deb -f "$deb" Version)
	if [ "$got" != "$ver" ]; then
		echo "strand setup (wine): downloaded libwine version $got, expected $ver" >&2
		rm -rf "$tmp"
		return 1
	fi
	mkdir -p "$dir"
	dpkg -x "$deb" "$dir" || { rm -rf "$tmp"; return 1; }
	# libwine depends on libz-mingw-w64: user32.dll imports its zlib1.dll,
	# which an installed Debian Wine finds beside its own DLLs
	zver="1.2.13+dfsg-1"
	if ! (cd "$tmp" && apt-get download -qq "libz-mingw-w64=$zver" 2>/dev/null); then
		echo "strand setup (wine): apt-get download libz-mingw-w64=$zver failed (pinned with libwine $ver)" >&2
		rm -rf "$tmp"
		return 1
	fi
	dpkg -x "$tmp"/libz-mingw-w64_*_all.deb "$tmp/z" &&
		cp "$tmp/z/usr/i686-w64-mingw32/lib/zlib1.dll" "$dir/usr/lib/i386-linux-gnu/wine/i386-windows/zlib1.dll" ||
		{ rm -rf "$tmp"; return 1; }
	rm -rf "$tmp"
	if [ ! -f "$dir/usr/lib/i386-linux-gnu/wine/i386-windows/ntdll.dll" ]; then
		echo "strand setup (wine): $dir has no usr/lib/i386-linux-gnu/wine/i386-windows/ntdll.dll after unpacking" >&2
		return 1
	fi
	echo "$ver" >"$dir/.complete"
)
strand_wine_setup || { echo "strand setup (wine): failed" >&2; exit 1; }
