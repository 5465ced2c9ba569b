#!/bin/sh
# build-guests.sh OUTDIR: build the strand guest modules (PE32, i686) into OUTDIR.
#
# The guests are small re-creations of the Windows Server 2003 modules of
# the HTTP SSL case (see README.md): ntdll.dll kernel32.dll advapi32.dll
# httpapi.dll strmfilt.dll w3ssl.dll lsass.exe, and for the alternate
# path iisw3adm.dll svchost.exe.  Needs i686-w64-mingw32-gcc (Debian package gcc-mingw-w64-i686).
#
# Reproducible: fixed flags, no timestamps (--no-insert-timestamp), sources
# compiled by relative path from the source directory (the COFF .file
# symbols hold only those relative names), no debug info.  Two builds give
# byte-identical images (with the same toolchain: the committed fixtures
# come from Debian 12's gcc-mingw-w64-i686 12.2.0 and binutils 2.40; another
# compiler version gives other bytes).  COFF symbols are kept (not stripped)
# so the images carry function symbols.  Warnings are shown, not fatal, so
# a newer compiler's new warnings do not stop a rebuild.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
src="$here/src"
knowledge="$here/../../knowledge"
mkdir -p "$1"
out=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/strand-guests.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

CC=${CC_MINGW:-i686-w64-mingw32-gcc}
DLLTOOL=${DLLTOOL_MINGW:-i686-w64-mingw32-dlltool}
command -v "$CC" >/dev/null || { echo "build-guests: $CC not found (apt-get install gcc-mingw-w64-i686)" >&2; exit 1; }

# Frame pointers, no inlining and no sibling calls: every function keeps
# its own frame, as in the checked Windows builds the case's stacks came
# from.  -fno-builtin: the C library functions are ntdll's exports.
CFLAGS="-std=gnu11 -O1 -ffreestanding -fno-builtin -fno-stack-protector
	-fno-asynchronous-unwind-tables -fno-omit-frame-pointer -fno-inline
	-fno-optimize-sibling-calls -mno-stack-arg-probe -mpreferred-stack-boundary=2
	-Wall -Wextra -Wno-unused-parameter -Iinclude"
LDFLAGS="-nostdlib -Wl,--kill-at -Wl,--no-insert-timestamp
	-Wl,--major-os-version,5 -Wl,--minor-os-version,2
	-Wl,--major-subsystem-version,5 -Wl,--minor-subsystem-version,2"

cd "$src"
# The recorder's syscall table is the single source of service numbers.
cp "$knowledge/nt_syscalls.h" "$work/nt_syscalls.h"

# compile MODULE FILE...: objects into $work/MODULE/
compile() {
	mod=$1
	shift
	mkdir -p "$work/$mod"
	for f in "$@"; do
		$CC $CFLAGS -I"$work" -c "$f" -o "$work/$mod/$(basename "$f" .c).o"
	done
}

# implib MODULE DEF: import library lib MODULE.a with decorated stdcall
# symbols (_Foo@8) that import the undecorated export name (Foo).
implib() {
	# run in $work with a relative name: dlltool derives symbol names
	# (__head_libX_a) from the library's path, and they end up in the
	# importers' COFF symbol tables
	def=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
	(cd "$work" && $DLLTOOL -k -d "$def" -D "$1.dll" -l "lib$1.a")
}

# link_dll MODULE BASE ENTRY DEF LIBS...
link_dll() {
	mod=$1 base=$2 entry=$3 def=$4
	shift 4
	$CC $LDFLAGS -shared -Wl,--image-base,"$base" -Wl,-e,"$entry" \
		-Wl,--subsystem,windows -o "$out/$mod.dll" "$work/$mod"/*.o "$def" "$@"
	implib "$mod" "$def"
}

# link_exe MODULE BASE ENTRY LIBS...
link_exe() {
	mod=$1 base=$2 entry=$3
	shift 3
	$CC $LDFLAGS -Wl,--image-base,"$base" -Wl,-e,"$entry" \
		-Wl,--subsystem,windows -o "$out/$mod.exe" "$work/$mod"/*.o "$@"
}

# ntdll: the export list is ntdll.def.in plus every native service in the
# recorder's table.  Only the Nt* names: Windows' ntdll also exports a Zw*
# alias at the same address, but then a symbolizer has two names for one
# stub and the guests never call Zw*.
{
	cat ntdll/ntdll.def.in
	printf '%s\n' '#define NT_SYSCALL(Name, Number, ArgCount) Name ArgCount' \
		'#include "nt_syscalls.h"' |
		$CC -E -P -I"$work" -x c - |
		awk 'NF == 2 { printf "  %s@%d\n", $1, $2 * 4 }'
} >"$work/ntdll.def"
compile ntdll ntdll/syscalls.c ntdll/rtl.c
link_dll ntdll 0x7c800000 _NtdllEntry@12 "$work/ntdll.def"

L="-L$work"
if [ -f kernel32/kernel32.def ]; then
	compile kernel32 kernel32/*.c
	link_dll kernel32 0x77e40000 _BaseDllInitialize@12 kernel32/kernel32.def $L -lntdll
fi
if [ -f advapi32/advapi32.def ]; then
	compile advapi32 advapi32/*.c
	link_dll advapi32 0x77f50000 _AdvapiDllInitialize@12 advapi32/advapi32.def $L -lkernel32 -lntdll
fi
if [ -f httpapi/httpapi.def ]; then
	compile httpapi httpapi/*.c
	link_dll httpapi 0x5a320000 _DllMain@12 httpapi/httpapi.def $L -ladvapi32 -lkernel32 -lntdll
fi
if [ -f strmfilt/strmfilt.def ]; then
	compile strmfilt strmfilt/*.c
	link_dll strmfilt 0x5a2b0000 _DllMain@12 strmfilt/strmfilt.def $L -lhttpapi -ladvapi32 -lkernel32 -lntdll
fi
if [ -f w3ssl/w3ssl.def ]; then
	compile w3ssl w3ssl/*.c
	link_dll w3ssl 0x5a2a0000 _DllMain@12 w3ssl/w3ssl.def $L -lstrmfilt -ladvapi32 -lkernel32 -lntdll
fi
if [ -f iisw3adm/iisw3adm.def ]; then
	compile iisw3adm iisw3adm/*.c
	link_dll iisw3adm 0x5a600000 _DllMain@12 iisw3adm/iisw3adm.def $L -lhttpapi -ladvapi32 -lkernel32 -lntdll
fi
if [ -f svchost/svchost.c ]; then
	compile svchost svchost/*.c
	link_exe svchost 0x01000000 _SvcHostEntry@4 $L -liisw3adm -ladvapi32 -lkernel32 -lntdll
fi
if [ -f lsass/lsass.c ]; then
	compile lsass lsass/*.c
	link_exe lsass 0x01000000 _LsassEntry@4 $L -lw3ssl -ladvapi32 -lkernel32 -lntdll
fi
