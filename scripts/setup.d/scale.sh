# scale.sh: the baselines of the scale benchmarks (bench/bench_index.c,
# bench/README.md): Debian's qemu-user (qemu-x86_64, the same TCG engine as
# Unicorn running the same program natively-translated) and valgrind
# (instruction counts where perf has no cycle counters).
#
# Sourced by scripts/setup.sh (or run with sh).  Idempotent.  Without them
# the benchmarks skip those baselines and say so; nothing else needs them.
strand_scale_setup() {
	strand_setup_install qemu-user valgrind || {
		echo "strand setup (scale): cannot install qemu-user/valgrind; bench_index skips those baselines" >&2
		return 0
	}
	return 0
}
strand_scale_setup
