#!/bin/sh
# build.sh OUTDIR: build the recorder's test guest (mini.exe, ntdll.dll,
# minidll.dll, minireloc.dll, minifwd.dll) with i686-w64-mingw32-gcc.  Used by
# tests/test_winemu.c.  minidll and minireloc share a preferred base, so
# the loader must relocate one of them.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../../../.."
mkdir -p "$1"
out=$(cd "$1" && pwd)
CC=${CC_MINGW:-i686-w64-mingw32-gcc}
DLLTOOL=${DLLTOOL_MINGW:-i686-w64-mingw32-dlltool}
CFLAGS="-std=gnu11 -O1 -ffreestanding -fno-builtin -fno-stack-protector -fno-asynchronous-unwind-tables -mno-stack-arg-probe -Wall -Werror -Wno-unused-parameter -I$root/knowledge -I$here"
LDFLAGS="-nostdlib -Wl,--kill-at -Wl,--no-insert-timestamp -Wl,--enable-reloc-section"
cd "$out"
{
	echo "LIBRARY ntdll.dll"
	echo "EXPORTS"
	echo "  KiFastSystemCall@0"
	echo "  KiFastSystemCallRet@0"
	echo "  NtUnknownService@0"
	printf '%s\n' '#define NT_SYSCALL(Name, Number, ArgCount) Name ArgCount' '#include "nt_syscalls.h"' |
		$CC -E -P -I"$root/knowledge" -x c - | awk 'NF == 2 { printf "  %s@%d\n", $1, $2 * 4 }'
} >ntdll.def
$CC $CFLAGS -c "$here/ntdll.c" -o ntdll.o
$CC $LDFLAGS -shared -Wl,--image-base,0x7c800000 -Wl,-e,_NtdllMain@12 -o ntdll.dll ntdll.o ntdll.def
$DLLTOOL -k -d ntdll.def -D ntdll.dll -l libntdll.a
for d in minidll minireloc minifwd; do
	case $d in
	minidll) entry=_MiniDllMain@12 base=0x10000000 ;;
	minireloc) entry=_MiniRelocMain@12 base=0x10000000 ;;
	minifwd) entry=_MiniFwdMain@12 base=0x11000000 ;;
	esac
	$CC $CFLAGS -c "$here/$d.c" -o $d.o
	$CC $LDFLAGS -shared -Wl,--image-base,$base -Wl,-e,$entry -o $d.dll $d.o "$here/$d.def"
	$DLLTOOL -k -d "$here/$d.def" -D $d.dll -l lib$d.a
done
$CC $CFLAGS -c "$here/mini.c" -o mini.o
$CC $LDFLAGS -Wl,--image-base,0x00400000 -Wl,-e,_MiniEntry@4 -o mini.exe mini.o -L. -lminidll -lminireloc -lntdll
rm -f ./*.o ./*.a ntdll.def
