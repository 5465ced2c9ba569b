# recorder.sh: the programs of the Linux recorder's corpus test
# (tests/test_ptrace_corpus.c): a Go toolchain for the Go case, xz, git,
# make and gcc (most come with the base packages already).  Sourced by
# scripts/setup.sh.  A case whose program is missing is skipped, not failed.
strand_setup_install golang-go xz-utils git make gcc util-linux || {
	echo "strand setup (recorder): cannot install the corpus programs; their cases will be skipped" >&2
	return 0
}
