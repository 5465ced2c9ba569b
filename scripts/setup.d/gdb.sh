# gdb.sh: Debian's gdb, which the `strand gdbserver` end-to-end tests
# (tests/test_gdb.c) drive in batch mode.  Sourced by scripts/setup.sh.
strand_setup_install gdb || { echo "strand setup (gdb): cannot install gdb" >&2; return 1; }
