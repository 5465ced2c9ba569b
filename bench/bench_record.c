/*
 * bench_record: the Linux ptrace recorder's cost (issue 7).  Results go
 * into bench/README.md ("Linux recorder").
 *
 *   bench_record [-n RUNS] [-d DIR] [-r ROUNDS]
 *
 * Workloads:
 *  - syscall-heavy: `ls -lR DIR` (default /usr/lib), stdout to /dev/null;
 *  - compute-heavy: a C loop (loads, stores, multiplies over a 64 KiB
 *    array, ROUNDS x 16384 iterations, default 1000) built with cc -O2.
 * Each runs natively, under `strace -f -o /dev/null`, and under
 * `strand record --raw` (the recording alone, ordinal positions).  The
 * compute trace is then finalized and replayed (strand_replay_open + seek
 * to the end, key frames checked).  Reported: wall time and CPU time
 * (user + system of the process tree, from RUSAGE_CHILDREN; the machine
 * may be shared, CPU time is the steadier figure), best of RUNS; trace
 * bytes per instruction (finalized compute trace) and per syscall;
 * replay speed in instructions per CPU second; and, on the same loop
 * built as a static program without libc, raw Unicorn (no hooks) against
 * strand replay of its recording: the replay-speed target compares both
 * on exactly the same code (alternately, best of RUNS each).  The three
 * ways of each workload are interleaved run by run.
 *
 * The bench pins itself to the CPU it starts on, as `strand record` pins
 * itself: native runs, strace and the recorder then all run on one CPU
 * and the ratios compare like with like.  For the syscall-heavy trace it
 * also times the finalizing replay and a replay of the finalized trace,
 * side by side (finalize must not be slower than replay), and gives the
 * whole `strand record` (recording + finalize) against strace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <elf.h>
#include <unicorn/unicorn.h>

#include "strand/replay.h"

extern char **environ;

/* The same loop as a static program without libc (exit_group at the end),
 * so that raw Unicorn can run exactly the code the replay runs. */
static const char *bare_src =
	"static unsigned buf[16384];\n"
	"void _start(void) {\n"
	"  unsigned long h = 1469598103934665603ull;\n"
	"  for (int r = 0; r < ROUNDS; r++)\n"
	"    for (int i = 0; i < 16384; i++) {\n"
	"      buf[i] = buf[i] * 1103515245u + 12345u + (unsigned)i;\n"
	"      h = (h ^ buf[i]) * 1099511628211ull;\n"
	"    }\n"
	"  __asm__ volatile(\"syscall\" :: \"a\"(231), \"D\"(h & 0x7f) : \"rcx\", \"r11\", \"memory\");\n"
	"  __builtin_unreachable();\n"
	"}\n";

static void raw_stop(uc_engine *uc, void *ud)
{
	(void)ud;
	uc_emu_stop(uc);
}

/* Run the static ELF `path` on raw Unicorn (no hooks but the exit
 * syscall) from its entry to its exit_group; returns CPU seconds, or a
 * negative value on failure. */
static double now(clockid_t c);
struct timing {
	double wall, cpu;
};
static int run(char *const argv[], struct timing *t);

static double raw_unicorn(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	static uint8_t img[1 << 20];
	size_t n = fread(img, 1, sizeof img, f);
	fclose(f);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	if (n < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_type != ET_EXEC ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > n)
		return -1;
	uc_engine *uc;
	if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
		return -1;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uint64_t lo = ph[i].p_vaddr & ~0xfffull;
		uint64_t hi = (ph[i].p_vaddr + ph[i].p_memsz + 0xfff) & ~0xfffull;
		if (ph[i].p_offset + ph[i].p_filesz > n ||
		    uc_mem_map(uc, lo, hi - lo, UC_PROT_ALL) != UC_ERR_OK ||
		    uc_mem_write(uc, ph[i].p_vaddr, img + ph[i].p_offset, ph[i].p_filesz) != UC_ERR_OK) {
			uc_close(uc);
			return -1;
		}
	}
	uint64_t stack = 0x7ff000000000ull, sp = stack + 0x100000 - 0x1000;
	uc_mem_map(uc, stack, 0x100000, UC_PROT_READ | UC_PROT_WRITE);
	uc_reg_write(uc, UC_X86_REG_RSP, &sp);
	uc_hook h;
	uc_hook_add(uc, &h, UC_HOOK_INSN, (void *)raw_stop, NULL, 1, 0, UC_X86_INS_SYSCALL);
	double c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	uc_err e = uc_emu_start(uc, eh->e_entry, 0, 0, 0);
	double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	uc_close(uc);
	return e == UC_ERR_OK ? cpu : -1;
}

/* Record + finalize the static program, replay it, and run the same code
 * on raw Unicorn. */
static void same_code(const char *strand, const char *tmp, int rounds, int runs)
{
	char src[PATH_MAX], exe[PATH_MAX], trace[PATH_MAX], fin[PATH_MAX], def[64];
	snprintf(src, sizeof src, "%s/bare.c", tmp);
	snprintf(exe, sizeof exe, "%s/bare", tmp);
	snprintf(trace, sizeof trace, "%s/bare.strand", tmp);
	snprintf(fin, sizeof fin, "%s/bare.fin.strand", tmp);
	snprintf(def, sizeof def, "-DROUNDS=%d", rounds);
	FILE *f = fopen(src, "w");
	if (!f || fputs(bare_src, f) < 0 || fclose(f) != 0)
		exit(1);
	char *cc_argv[] = { "cc", "-O2", def, "-static", "-nostdlib", "-no-pie", "-fno-pie",
			    "-fno-stack-protector", "-o", exe, src, NULL };
	struct timing t;
	if (run(cc_argv, &t) != 0) {
		fprintf(stderr, "bench_record: cannot build the static loop\n");
		exit(1);
	}
	char *rec_argv[] = { (char *)strand, "record", "-q", "-o", fin, "--", exe, NULL };
	(void)trace;
	run(rec_argv, &t);
	struct strand_replay *rp;
	strand_error err;
	if (strand_replay_open(fin, NULL, &rp, &err) != STRAND_OK) {
		fprintf(stderr, "bench_record: replay: %s\n", err.msg);
		exit(1);
	}
	uint64_t end = strand_replay_end(rp);
	strand_replay_close(rp);
	/* raw and replay alternately, best of `runs` each */
	double rp_cpu = 1e30, raw_cpu = 1e30;
	strand_status st = STRAND_OK;
	for (int i = 0; i < runs && st == STRAND_OK; i++) {
		double raw = raw_unicorn(exe);
		if (raw <= 0) {
			raw_cpu = -1;
			break;
		}
		if (raw < raw_cpu)
			raw_cpu = raw;
		st = strand_replay_open(fin, NULL, &rp, &err);
		if (st != STRAND_OK)
			break;
		double c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		st = strand_replay_seek(rp, end, &err);
		double c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
		strand_replay_close(rp);
		if (c < rp_cpu)
			rp_cpu = c;
	}
	if (st != STRAND_OK || raw_cpu <= 0) {
		fprintf(stderr, "bench_record: same-code comparison failed: %s\n",
			st != STRAND_OK ? err.msg : "raw Unicorn run failed");
		exit(1);
	}
	printf("\nsame code, static loop without libc (%" PRIu64 " instructions):\n"
	       "  raw Unicorn %.2f s CPU = %.1f M instructions/s; strand replay %.2f s CPU = "
	       "%.1f M instructions/s = %.0f%% of raw\n",
	       end, raw_cpu, (double)end / raw_cpu / 1e6, rp_cpu, (double)end / rp_cpu / 1e6,
	       100.0 * raw_cpu / rp_cpu);
}

static const char *compute_src =
	"#include <stdio.h>\n"
	"#include <stdint.h>\n"
	"#include <stdlib.h>\n"
	"static uint32_t buf[16384];\n"
	"int main(int argc, char **argv) {\n"
	"  int rounds = argc > 1 ? atoi(argv[1]) : 1000;\n"
	"  uint64_t h = 1469598103934665603ull;\n"
	"  for (int r = 0; r < rounds; r++)\n"
	"    for (int i = 0; i < 16384; i++) {\n"
	"      buf[i] = buf[i] * 1103515245u + 12345u + (uint32_t)i;\n"
	"      h = (h ^ buf[i]) * 1099511628211ull;\n"
	"    }\n"
	"  printf(\"%llx\\n\", (unsigned long long)h);\n"
	"  return 0;\n"
	"}\n";

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double children_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Finalize the ordinal trace `raw` into `fin`, then replay `fin` to its
 * end; CPU and wall seconds of each.  Exits on error. */
static void finalize_and_replay(const char *raw, const char *fin, struct timing *f,
				struct timing *r, uint64_t *insns)
{
	strand_error err;
	double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
	if (strand_finalize_positions(raw, fin, &err) != STRAND_OK) {
		fprintf(stderr, "bench_record: finalize %s: %s\n", raw, err.msg);
		exit(1);
	}
	f->cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	f->wall = now(CLOCK_MONOTONIC) - w0;
	struct strand_replay *rp;
	if (strand_replay_open(fin, NULL, &rp, &err) != STRAND_OK) {
		fprintf(stderr, "bench_record: replay %s: %s\n", fin, err.msg);
		exit(1);
	}
	*insns = strand_replay_end(rp);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	w0 = now(CLOCK_MONOTONIC);
	strand_status st = strand_replay_seek(rp, *insns, &err);
	r->cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	r->wall = now(CLOCK_MONOTONIC) - w0;
	strand_replay_close(rp);
	if (st != STRAND_OK) {
		fprintf(stderr, "bench_record: replay %s: %s\n", fin, err.msg);
		exit(1);
	}
}

/* Run argv with stdout (and stderr unless keep_err) to /dev/null. */
static int run(char *const argv[], struct timing *t)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	double w0 = now(CLOCK_MONOTONIC), c0 = children_cpu();
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "bench_record: cannot run %s: %s\n", argv[0], strerror(rc));
		exit(1);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	t->wall = now(CLOCK_MONOTONIC) - w0;
	t->cpu = children_cpu() - c0;
	return status;
}

static void best_of(int runs, char *const argv[], struct timing *best)
{
	best->wall = best->cpu = 1e30;
	for (int i = 0; i < runs; i++) {
		struct timing t;
		int st = run(argv, &t);
		if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 1)) {
			fprintf(stderr, "bench_record: %s failed (status 0x%x)\n", argv[0], st);
			exit(1);
		}
		if (t.wall < best->wall)
			best->wall = t.wall;
		if (t.cpu < best->cpu)
			best->cpu = t.cpu;
	}
}

static uint64_t file_size(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* Syscall and total event counts of a trace. */
static void trace_counts(const char *path, uint64_t *syscalls, uint64_t *records)
{
	struct strand_reader *r;
	strand_error err;
	*syscalls = *records = 0;
	if (strand_reader_open(path, &r, &err) != STRAND_OK) {
		fprintf(stderr, "bench_record: %s\n", err.msg);
		exit(1);
	}
	const struct strand_trace_summary *s = strand_reader_summary(r);
	*syscalls = s->count_by_type[STRAND_REC_SYSCALL];
	*records = s->nrecords;
	strand_reader_close(r);
}

static void row(const char *what, const struct timing *t, const struct timing *native)
{
	printf("| %-28s | %9.3f | %9.3f | %7.2fx | %7.2fx |\n", what, t->wall, t->cpu,
	       t->wall / native->wall, t->cpu / native->cpu);
}

static void three_way(const char *title, int runs, char **prog, const char *strand,
		      const char *trace, struct timing out[3])
{
	char *st_argv[64], *rec_argv[64];
	int n = 0, m = 0;
	st_argv[n++] = "strace";
	st_argv[n++] = "-f";
	st_argv[n++] = "-o";
	st_argv[n++] = "/dev/null";
	rec_argv[m++] = (char *)strand;
	rec_argv[m++] = "record";
	rec_argv[m++] = "--raw";
	rec_argv[m++] = "-q";
	rec_argv[m++] = "-o";
	rec_argv[m++] = (char *)trace;
	rec_argv[m++] = "--";
	for (int i = 0; prog[i]; i++) {
		st_argv[n++] = prog[i];
		rec_argv[m++] = prog[i];
	}
	st_argv[n] = NULL;
	rec_argv[m] = NULL;
	/* interleaved, so that the machine's load hits all three alike */
	for (int k = 0; k < 3; k++)
		out[k].wall = out[k].cpu = 1e30;
	for (int i = 0; i < runs; i++) {
		struct timing t;
		best_of(1, prog, &t);
		if (t.wall < out[0].wall) out[0].wall = t.wall;
		if (t.cpu < out[0].cpu) out[0].cpu = t.cpu;
		best_of(1, st_argv, &t);
		if (t.wall < out[1].wall) out[1].wall = t.wall;
		if (t.cpu < out[1].cpu) out[1].cpu = t.cpu;
		best_of(1, rec_argv, &t);
		if (t.wall < out[2].wall) out[2].wall = t.wall;
		if (t.cpu < out[2].cpu) out[2].cpu = t.cpu;
	}
	printf("\n%s\n\n", title);
	printf("| %-28s | %9s | %9s | %8s | %8s |\n", "run", "wall s", "cpu s", "wall/nat", "cpu/nat");
	printf("|------------------------------|-----------|-----------|----------|----------|\n");
	row("native", &out[0], &out[0]);
	row("strace -f -o /dev/null", &out[1], &out[0]);
	row("strand record --raw", &out[2], &out[0]);
	printf("\nstrand record / strace: wall %.2fx, cpu %.2fx\n", out[2].wall / out[1].wall,
	       out[2].cpu / out[1].cpu);
}

int main(int argc, char **argv)
{
	int runs = 1, rounds = 1000;
	const char *dir = "/usr/lib";
	int opt;
	while ((opt = getopt(argc, argv, "n:d:r:")) != -1) {
		if (opt == 'n')
			runs = atoi(optarg);
		else if (opt == 'd')
			dir = optarg;
		else if (opt == 'r')
			rounds = atoi(optarg);
		else {
			fprintf(stderr, "usage: bench_record [-n RUNS] [-d DIR] [-r ROUNDS]\n");
			return 2;
		}
	}
	if (runs < 1)
		runs = 1;
	char self[PATH_MAX], strand[PATH_MAX + 16];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	if (sl <= 0)
		return 1;
	self[sl] = 0;
	snprintf(strand, sizeof strand, "%s/strand", dirname(self));
	char tmp[] = "/tmp/bench-record-XXXXXX";
	if (!mkdtemp(tmp))
		return 1;
	char path[PATH_MAX], exe[PATH_MAX], trace[PATH_MAX], fin[PATH_MAX], rounds_s[32];
	snprintf(rounds_s, sizeof rounds_s, "%d", rounds);

	long load = 0;
	FILE *lf = fopen("/proc/loadavg", "r");
	double la = 0;
	if (lf) {
		if (fscanf(lf, "%lf", &la) != 1)
			la = 0;
		fclose(lf);
	}
	(void)load;
	int cpu = sched_getcpu();
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof set, &set);
	}
	printf("bench_record: best of %d run(s); load average %.2f on %ld CPUs; everything "
	       "pinned to CPU %d\n", runs, la, sysconf(_SC_NPROCESSORS_ONLN), cpu);

	/* syscall-heavy */
	struct timing ls[3];
	char *ls_argv[] = { "ls", "-lR", (char *)dir, NULL };
	snprintf(trace, sizeof trace, "%s/ls.strand", tmp);
	char title[512];
	snprintf(title, sizeof title, "syscall-heavy: ls -lR %s", dir);
	three_way(title, runs, ls_argv, strand, trace, ls);
	uint64_t ls_sys, ls_rec;
	trace_counts(trace, &ls_sys, &ls_rec);
	printf("trace: %" PRIu64 " bytes, %" PRIu64 " syscalls, %.1f bytes/syscall, "
	       "recording %.1f us CPU/syscall over native\n",
	       file_size(trace), ls_sys, (double)file_size(trace) / (double)(ls_sys ? ls_sys : 1),
	       1e6 * (ls[2].cpu - ls[0].cpu) / (double)(ls_sys ? ls_sys : 1));
	{
		struct timing lf, lr;
		uint64_t ins = 0;
		snprintf(fin, sizeof fin, "%s/ls.fin.strand", tmp);
		finalize_and_replay(trace, fin, &lf, &lr, &ins);
		printf("finalize: %.2f s CPU (%.2f s wall); replay of the finalized trace: %.2f s CPU "
		       "(%.2f s wall); finalize / replay: cpu %.2fx; %" PRIu64 " instructions\n",
		       lf.cpu, lf.wall, lr.cpu, lr.wall, lf.cpu / lr.cpu, ins);
		printf("whole strand record (recording + finalize) / strace: cpu %.2fx, wall %.2fx\n",
		       (ls[2].cpu + lf.cpu) / ls[1].cpu, (ls[2].wall + lf.wall) / ls[1].wall);
	}

	/* compute-heavy */
	snprintf(path, sizeof path, "%s/compute.c", tmp);
	snprintf(exe, sizeof exe, "%s/compute", tmp);
	FILE *f = fopen(path, "w");
	if (!f || fputs(compute_src, f) < 0 || fclose(f) != 0)
		return 1;
	char *cc_argv[] = { "cc", "-O2", "-o", exe, path, NULL };
	struct timing t;
	if (run(cc_argv, &t) != 0) {
		fprintf(stderr, "bench_record: cannot build the compute program\n");
		return 1;
	}
	struct timing cp[3];
	char *cp_argv[] = { exe, rounds_s, NULL };
	snprintf(trace, sizeof trace, "%s/compute.strand", tmp);
	snprintf(title, sizeof title, "compute-heavy: C loop, %d x 16384 iterations", rounds);
	three_way(title, runs, cp_argv, strand, trace, cp);

	snprintf(fin, sizeof fin, "%s/compute.fin.strand", tmp);
	strand_error err;
	double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
	if (strand_finalize_positions(trace, fin, &err) != STRAND_OK) {
		fprintf(stderr, "bench_record: finalize: %s\n", err.msg);
		return 1;
	}
	double fin_cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0, fin_wall = now(CLOCK_MONOTONIC) - w0;
	struct strand_replay *rp;
	if (strand_replay_open(fin, NULL, &rp, &err) != STRAND_OK) {
		fprintf(stderr, "bench_record: replay: %s\n", err.msg);
		return 1;
	}
	uint64_t end = strand_replay_end(rp);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	w0 = now(CLOCK_MONOTONIC);
	strand_status st = strand_replay_seek(rp, end, &err);
	double rp_cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0, rp_wall = now(CLOCK_MONOTONIC) - w0;
	struct strand_replay_stats stats;
	strand_replay_get_stats(rp, &stats);
	strand_replay_close(rp);
	if (st != STRAND_OK) {
		fprintf(stderr, "bench_record: replay: %s\n", err.msg);
		return 1;
	}
	uint64_t cp_sys, cp_rec;
	trace_counts(fin, &cp_sys, &cp_rec);
	uint64_t fsz = file_size(fin);
	printf("\ncompute trace: %" PRIu64 " instructions, %" PRIu64 " syscalls, %" PRIu64
	       " bytes = %.4f bytes (%.3f bits) per instruction\n",
	       end, cp_sys, fsz, (double)fsz / (double)end, 8.0 * (double)fsz / (double)end);
	printf("finalize: %.2f s CPU (%.2f s wall), %.1f M instructions/s CPU\n", fin_cpu, fin_wall,
	       (double)end / fin_cpu / 1e6);
	printf("replay to the end: %.2f s CPU (%.2f s wall), %.1f M instructions/s CPU, "
	       "%" PRIu64 " key frames checked\n",
	       rp_cpu, rp_wall, (double)end / rp_cpu / 1e6, stats.keyframes_checked);

	same_code(strand, tmp, rounds, runs);

	char rm[PATH_MAX + 16];
	snprintf(rm, sizeof rm, "rm -rf '%s'", tmp);
	(void)!system(rm);
	return 0;
}
