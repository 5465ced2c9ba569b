#!/bin/sh
# Install strand into a scratch prefix, then build a C API client and an
# outside plugin against that prefix only (pkg-config), and run both.
# usage: run.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name strand.pc | head -1)")/..
export PKG_CONFIG_PATH="$libdir/pkgconfig"
export LD_LIBRARY_PATH="$libdir"
trace=$src/tests/traces/httpssl-nodevice.strand

# what the prefix holds
for f in bin/strand include/strand/strand.h include/strand/version.h include/strand/plugin.h; do
	[ -e "$prefix/$f" ] || { echo "install: $f missing" >&2; exit 1; }
done
ls "$libdir"/libstrand.so.* "$libdir"/libstrand.a "$libdir"/cmake/strand/strandConfig.cmake >/dev/null
find "$prefix" -name strand-report.1 | grep -q . || { echo "install: man page missing" >&2; exit 1; }
find "$prefix" -path '*bash-completion/completions/strand' | grep -q . || { echo "install: completion missing" >&2; exit 1; }
find "$prefix" -path '*share/strand/strand.gdb' | grep -q . || { echo "install: strand.gdb missing" >&2; exit 1; }
[ "$(pkg-config --modversion strand)" = "$(cat "$src/VERSION")" ]

# a client and a plugin, from outside the source tree
cd "$work"
cp "$src/tests/install/client.c" "$src/tests/install/plugin.c" .
cc -std=c11 -Wall -Werror -o client client.c $(pkg-config --cflags --libs strand)
cc -std=c11 -Wall -Werror -shared -fPIC -o eventcount.so plugin.c $(pkg-config --cflags strand)
./client "$trace" 100 >client.out
cat client.out
grep -q '^library .*, pc=0x[0-9a-f]* at 100$' client.out
grep -q '^syscalls: [1-9]' client.out
# the library exports the public API only
if nm -D --defined-only "$libdir"/libstrand.so | awk '{print $3}' | grep -v '^strand_' | grep -q .; then
	echo "install: libstrand.so exports non-strand_ symbols" >&2; exit 1
fi
"$prefix/bin/strand" report --json -a syscalls --plugin ./eventcount.so "$trace" |
	python3 -c 'import json,sys; n=json.load(sys.stdin)["eventcount"]["events"]; assert n > 0; print("plugin events:", n)'
# and the same from a CMake project through find_package(strand)
mkdir cm && cat > cm/CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.20)
project(strand_client C)
find_package(strand REQUIRED)
add_executable(client ../client.c)
target_link_libraries(client PRIVATE strand::strand)
CM
cmake -S cm -B cm/b -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build cm/b >/dev/null
./cm/b/client "$trace" 100 | grep -q '^syscalls: [1-9]'
echo "install: ok"
