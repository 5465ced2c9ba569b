#!/bin/sh
# build.sh OUTDIR: build the programs that run on real Windows system DLLs
# (Wine's, or a Windows machine's) under `strand record-win`, with the
# mingw-w64 i686 win32 toolchain against the real CRT (msvcrt.dll), and
# copy the mingw runtime DLLs they need (libgcc_s_dw2-1.dll,
# libstdc++-6.dll, libwinpthread-1.dll) next to them.
#
# Needs g++-mingw-w64-i686-win32 (scripts/setup.d/wine.sh installs it).
# Reproducible: no timestamps, fixed flags, sources by relative path, no
# debug info; the COFF symbol table is kept for symbols.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
CC=${CC_MINGW_WIN32:-i686-w64-mingw32-gcc-win32}
CXX=${CXX_MINGW_WIN32:-i686-w64-mingw32-g++-win32}
command -v "$CC" >/dev/null || { echo "build.sh: $CC not found (apt-get install gcc-mingw-w64-i686-win32)" >&2; exit 1; }
command -v "$CXX" >/dev/null || { echo "build.sh: $CXX not found (apt-get install g++-mingw-w64-i686-win32)" >&2; exit 1; }
FLAGS="-O1 -fno-omit-frame-pointer -Wall -Wextra"
LDFLAGS="-Wl,--no-insert-timestamp -Wl,--image-base,0x00400000 -Wl,--strip-debug"
cd "$here"
$CC -std=gnu11 $FLAGS -o "$out/hello.exe" hello.c $LDFLAGS
$CC -std=gnu11 $FLAGS -o "$out/missing.exe" missing.c $LDFLAGS
$CC -std=gnu11 $FLAGS -o "$out/threads.exe" threads.c $LDFLAGS -lpthread
$CC -std=gnu11 $FLAGS -o "$out/fault.exe" fault.c $LDFLAGS
$CC -std=gnu11 $FLAGS -o "$out/httpsslhost.exe" httpsslhost.c $LDFLAGS
$CXX -std=gnu++17 $FLAGS -o "$out/cxx.exe" cxx.cpp $LDFLAGS -shared-libgcc
# the mingw runtime DLLs the programs import, without their DWARF debug
# sections (the COFF symbols stay): libstdc++-6.dll is 21 MB with them
STRIP=${STRIP_MINGW:-i686-w64-mingw32-strip}
gccdir=$(dirname "$($CC -print-libgcc-file-name)")
pth=$($CC -print-file-name=libwinpthread-1.dll)
[ -f "$pth" ] || pth=/usr/i686-w64-mingw32/lib/libwinpthread-1.dll
# strip writes the current time into the PE header unless SOURCE_DATE_EPOCH
# is set: keep the original image's TimeDateStamp (reproducible copies)
pe_timestamp() {
	lfanew=$(od -An -t u4 -j 60 -N 4 "$1" | tr -d ' ')
	od -An -t u4 -j $((lfanew + 8)) -N 4 "$1" | tr -d ' '
}
for src in "$gccdir/libgcc_s_dw2-1.dll" "$gccdir/libstdc++-6.dll" "$pth"; do
	SOURCE_DATE_EPOCH=$(pe_timestamp "$src") $STRIP --strip-debug -o "$out/$(basename "$src")" "$src"
done
