/*
 * bench_index: whole-trace questions with and without the sidecar index,
 * side by side in one run.  Results go into bench/README.md.
 *
 *   bench_index [-n INSTRUCTIONS] [-t TRACE] [-s SEEKS] [-c COLD] [-r SIZES]
 *
 * On one trace (generated from the guest below with tests/helpers/tracegen
 * unless -t names one):
 *   (a) `syscalls --failed`: a reader pass over the trace (what the query
 *       engine does without an index) vs the index's event list;
 *   (b) `calls rare`: a replay pass with a call observer (unindexed) vs the
 *       index's call rows plus a replay of the segments involved, which
 *       gives each call's position;
 *   (c) building the index (one replay pass) and its size;
 *   (d) seeks from a cold start (open + seek, a fresh handle each time):
 *       unindexed (replay from the snapshot) vs with the index attached;
 *       and seeks after a pass on one handle;
 *   (e) segment-parallel verification, -j1 vs -j2;
 *   (f) with -r: peak RSS of a replay to the end (a child process) at each
 *       size of the comma-separated list, e.g. -r 1e7,1e8,1e9.
 * Times are wall clock and process CPU (user + system); the machine is
 * shared, so quote `uptime` with them.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strand/index.h"
#include "strand/replay.h"
#include "tests/helpers/tracegen.c"

#define CODE 0x400000ull
#define DATA 0x600000ull
#define STACK 0x7f0000ull

/* The bench_replay workload (loads, stores, ALU, a call every 8th inner
 * iteration, a syscall every ~45k instructions), plus near the end one
 * call of `rare` and a failing syscall (number 2, result -ENOENT). */
static const char *guest =
	"BITS 64\n"
	"ORG 0x400000\n"
	"  mov rbx, 0x600000\n"
	"  mov r12, 12345\n"
	"outer:\n"
	"  imul r12, r12, 1103515245\n"
	"  add r12, 12345\n"
	"  mov rax, r12\n"
	"  shr rax, 16\n"
	"  and rax, 8191\n"
	"  cmp rax, 6300\n"
	"  jb .ok\n"
	"  sub rax, 6300\n"
	".ok:\n"
	"  lea rcx, [rax + 700]\n"
	"inner:\n"
	"  mov rdx, rcx\n"
	"  and rdx, 0x1ff8\n"
	"  mov rax, [rbx + rdx]\n"
	"  add rax, rcx\n"
	"  xor rax, r12\n"
	"  mov [rbx + rdx + 8], rax\n"
	"  rol rax, 7\n"
	"  add [rbx + 0x4000], rax\n"
	"  imul rsi, rax, 3\n"
	"  test cl, 7\n"
	"  jnz .nocall\n"
	"  call leaf\n"
	".nocall:\n"
	"  sub rcx, 1\n"
	"  jnz inner\n"
	"  cmp r15, 3\n"
	"  jne .common\n"
	"  call rare\n"
	"  mov eax, 2\n"
	"  syscall\n"
	".common:\n"
	"  mov eax, 39\n"
	"  syscall\n"
	"  add r12, rax\n"
	"  sub r15, 1\n"
	"  jnz outer\n"
	"  mov eax, 60\n"
	"  xor edi, edi\n"
	"  syscall\n"
	"leaf:\n"
	"  mov r8, [rbx + 0x4008]\n"
	"  add r8, rsi\n"
	"  mov [rbx + 0x4008], r8\n"
	"  ret\n"
	"rare:\n"
	"  mov r9, [rbx + 0x4010]\n"
	"  inc r9\n"
	"  mov [rbx + 0x4010], r9\n"
	"  ret\n";

static double wall(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static void die(const char *what, const strand_error *e)
{
	fprintf(stderr, "bench_index: %s: %s\n", what, e ? e->msg : "");
	exit(1);
}

static void bench_sys(struct tg *g, void *ud, struct tg_syscall *s)
{
	if (!s->exit)
		s->result = s->number == 2 ? (uint64_t)-2 : (uint64_t)s->number * 3;
}

static uint64_t rare_addr;

static void generate(const char *path, uint64_t target)
{
	strand_error err;
	uint8_t *code;
	size_t len;
	if (tg_asm(guest, &code, &len, &err) != STRAND_OK)
		die("assemble", &err);
	/* `rare` is the last routine: find its address from the code's end */
	rare_addr = CODE + len - 18;
	struct tg_opts o = { .arch = STRAND_ARCH_X86_64, .abi = STRAND_ABI_LINUX,
			     .keyframe_every = 10000000 };
	struct tg *g;
	if (tg_open(path, &o, &g, &err) != STRAND_OK)
		die("tg_open", &err);
	struct strand_symbol syms[] = {
		{ .addr = CODE, .kind = STRAND_SYM_FUNC, .name = "start", .demangled = "" },
		{ .addr = rare_addr, .kind = STRAND_SYM_FUNC, .name = "rare", .demangled = "" },
	};
	struct strand_module m = { .id = 1, .flags = STRAND_MODULE_F_MAIN, .base = CODE,
				   .size = 0x1000, .name = "guest", .path = "/guest", .nsyms = 2,
				   .syms = syms };
	tg_module(g, &m, &err);
	tg_map(g, CODE, 0x1000, STRAND_PROT_READ | STRAND_PROT_EXEC, STRAND_REGION_IMAGE, "guest",
	       code, len, &err);
	tg_map(g, DATA, 0x10000, STRAND_PROT_READ | STRAND_PROT_WRITE, STRAND_REGION_HEAP, "data",
	       NULL, 0, &err);
	tg_map(g, STACK, 0x10000, STRAND_PROT_READ | STRAND_PROT_WRITE, STRAND_REGION_STACK,
	       "stack", NULL, 0, &err);
	struct strand_cpu c;
	tg_cpu_init(&c, CODE, STACK + 0x8000);
	c.gpr[15] = target / 44000 + 1; /* outer iterations */
	tg_thread(g, 1, &c, &err);
	tg_on_syscall(g, bench_sys, NULL);
	if (tg_run(g, UINT64_MAX / 2, &err) != STRAND_OK)
		die("tg_run", &err);
	if (tg_close(g, &err) != STRAND_OK)
		die("tg_close", &err);
	free(code);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	int i = (int)ceil(p * n) - 1;
	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* ---- (a) ---- */
static uint64_t failed_unindexed(const char *path)
{
	struct strand_reader *rd;
	strand_error err;
	if (strand_reader_open(path, &rd, &err) != STRAND_OK)
		die("reader", &err);
	uint64_t n = 0;
	const struct strand_record *rec;
	while (strand_reader_next(rd, &rec, &err) == STRAND_OK)
		if (rec->type == STRAND_REC_SYSCALL && (int64_t)rec->u.syscall.result < 0 &&
		    (int64_t)rec->u.syscall.result >= -4095)
			n++;
	strand_reader_close(rd);
	return n;
}

/* ---- (b) ---- */
struct calls {
	uint64_t target, n, first;
};
static void count_calls(struct strand_replay *r, void *ud, const struct strand_call_info *c)
{
	struct calls *cs = ud;
	if (c->to == cs->target) {
		if (!cs->n)
			cs->first = c->position;
		cs->n++;
	}
}

static uint64_t calls_unindexed(const char *path, uint64_t target, uint64_t *first)
{
	struct strand_replay *r;
	strand_error err;
	if (strand_replay_open(path, NULL, &r, &err) != STRAND_OK)
		die("open", &err);
	struct calls cs = { .target = target };
	strand_replay_on_call(r, count_calls, &cs);
	if (strand_replay_seek(r, strand_replay_end(r), &err) != STRAND_OK)
		die("seek", &err);
	strand_replay_close(r);
	*first = cs.first;
	return cs.n;
}

static uint64_t calls_indexed(const char *path, uint64_t target, uint64_t *first,
			      uint32_t *nsegs_replayed)
{
	strand_error err;
	struct strand_index *ix;
	if (strand_index_open(path, NULL, &ix, &err) != STRAND_OK)
		die("index open", &err);
	uint32_t nrows;
	uint64_t total;
	const struct strand_index_calls *rows = strand_index_calls_to(ix, target, &nrows, &total);
	uint32_t nseg;
	const struct strand_index_segment *segs = strand_index_segments(ix, &nseg);
	struct strand_replay *r;
	if (strand_replay_open(path, NULL, &r, &err) != STRAND_OK)
		die("open", &err);
	if (strand_index_attach(ix, r, &err) != STRAND_OK)
		die("attach", &err);
	/* the positions come from replaying only the segments with calls */
	struct calls cs = { .target = target };
	for (uint32_t i = 0; i < nrows; i++) {
		const struct strand_index_segment *s = &segs[rows[i].segment];
		if (strand_replay_seek(r, s->start, &err) != STRAND_OK)
			die("seek", &err);
		strand_obs_id id = strand_replay_on_call(r, count_calls, &cs);
		if (strand_replay_seek(r, s->end, &err) != STRAND_OK)
			die("seek", &err);
		strand_replay_observer_del(r, id);
	}
	*nsegs_replayed = nrows;
	*first = cs.first;
	strand_replay_close(r);
	strand_index_close(ix);
	return cs.n == total ? total : UINT64_MAX;
}

/* ---- (d) ---- */
static double cold_cpu_total;

static double cold_seek(const char *path, uint64_t pos, bool indexed)
{
	strand_error err;
	double t0 = wall(), c0 = cpu();
	struct strand_replay *r;
	if (strand_replay_open(path, NULL, &r, &err) != STRAND_OK)
		die("open", &err);
	if (indexed) {
		struct strand_index *ix;
		if (strand_index_open(path, NULL, &ix, &err) != STRAND_OK)
			die("index open", &err);
		if (strand_index_attach(ix, r, &err) != STRAND_OK)
			die("attach", &err);
		strand_index_close(ix);
	}
	if (strand_replay_seek(r, pos, &err) != STRAND_OK)
		die("seek", &err);
	double dt = wall() - t0;
	cold_cpu_total += cpu() - c0;
	strand_replay_close(r);
	return dt;
}

/* ---- (f) ---- */
static long replay_rss_kib(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct strand_replay *r;
		strand_error err;
		if (strand_replay_open(path, NULL, &r, &err) != STRAND_OK ||
		    strand_replay_seek(r, strand_replay_end(r), &err) != STRAND_OK)
			_exit(1);
		_exit(0);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	uint64_t target = 100000000ull;
	const char *trace = NULL, *sizes = NULL;
	int nseeks = 200, ncold = 5;
	int opt;
	while ((opt = getopt(argc, argv, "n:t:s:c:r:")) != -1) {
		if (opt == 'n')
			target = (uint64_t)strtod(optarg, NULL);
		else if (opt == 't')
			trace = optarg;
		else if (opt == 's')
			nseeks = atoi(optarg);
		else if (opt == 'c')
			ncold = atoi(optarg);
		else if (opt == 'r')
			sizes = optarg;
		else {
			fprintf(stderr, "usage: bench_index [-n N] [-t TRACE] [-s SEEKS] [-c COLD] [-r SIZES]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	char gen[256];
	if (!trace) {
		snprintf(gen, sizeof gen, "/tmp/bench-index-%d.strand", (int)getpid());
		double t0 = wall();
		generate(gen, target);
		fprintf(stderr, "generated %s in %.1f s\n", gen, wall() - t0);
		trace = gen;
	} else {
		uint8_t *code;
		size_t len;
		strand_error e;
		if (tg_asm(guest, &code, &len, &e) == STRAND_OK)
			rare_addr = CODE + len - 18;
	}
	char side[4200];
	strand_index_path(trace, side, sizeof side, NULL);
	unlink(side);
	struct stat sb;
	stat(trace, &sb);
	strand_error err;
	struct strand_reader *rd;
	if (strand_reader_open(trace, &rd, &err) != STRAND_OK)
		die("reader", &err);
	uint64_t end = strand_reader_summary(rd)->last_position;
	strand_reader_close(rd);
	printf("trace: %s, %" PRIu64 " instructions, %lld bytes\n", trace, end,
	       (long long)sb.st_size);

	/* (a), (b) unindexed */
	double w0 = wall(), c0 = cpu();
	uint64_t nf = failed_unindexed(trace);
	double wa = wall() - w0, ca = cpu() - c0;
	w0 = wall(), c0 = cpu();
	uint64_t first_u = 0;
	uint64_t nc = calls_unindexed(trace, rare_addr, &first_u);
	double wb = wall() - w0, cb = cpu() - c0;
	/* (c) */
	w0 = wall(), c0 = cpu();
	if (strand_index_build(trace, NULL, NULL, &err) != STRAND_OK)
		die("index build", &err);
	double wc = wall() - w0, cc = cpu() - c0;
	struct stat ib;
	stat(side, &ib);
	/* (a), (b) indexed */
	w0 = wall(), c0 = cpu();
	struct strand_index *ix;
	if (strand_index_open(trace, NULL, &ix, &err) != STRAND_OK)
		die("index open", &err);
	uint64_t nev, nfi = 0;
	const struct strand_index_event *ev = strand_index_events(ix, &nev);
	for (uint64_t i = 0; i < nev; i++)
		nfi += ev[i].type == STRAND_REC_SYSCALL && ev[i].failed;
	uint32_t nseg;
	strand_index_segments(ix, &nseg);
	strand_index_close(ix);
	double wai = wall() - w0, cai = cpu() - c0;
	w0 = wall(), c0 = cpu();
	uint64_t first_i = 0;
	uint32_t replayed = 0;
	uint64_t nci = calls_indexed(trace, rare_addr, &first_i, &replayed);
	double wbi = wall() - w0, cbi = cpu() - c0;
	printf("(a) syscalls --failed: unindexed %" PRIu64 " in %.3f s wall / %.3f s CPU; "
	       "indexed %" PRIu64 " in %.4f s wall / %.4f s CPU\n", nf, wa, ca, nfi, wai, cai);
	printf("(b) calls rare: unindexed %" PRIu64 " (first at %" PRIu64 ") in %.2f s wall / %.2f s CPU; "
	       "indexed %" PRIu64 " (first at %" PRIu64 ", %u segment(s) replayed) in %.3f s wall / %.3f s CPU\n",
	       nc, first_u, wb, cb, nci, first_i, replayed, wbi, cbi);
	printf("(c) index build: %.2f s wall / %.2f s CPU, %u segments, %lld bytes (%.2f x the trace)\n",
	       wc, cc, nseg, (long long)ib.st_size, (double)ib.st_size / (double)sb.st_size);

	/* (d) seeks */
	srand(42);
	double *cu = calloc((size_t)ncold, sizeof *cu), *ci = calloc((size_t)nseeks, sizeof *ci);
	double *hot = calloc((size_t)nseeks, sizeof *hot);
	for (int i = 0; i < ncold; i++)
		cu[i] = cold_seek(trace, (uint64_t)rand() % end, false);
	double cpu_u = cold_cpu_total / ncold;
	cold_cpu_total = 0;
	for (int i = 0; i < nseeks; i++)
		ci[i] = cold_seek(trace, (uint64_t)rand() % end, true);
	double cpu_i = cold_cpu_total / nseeks;
	struct strand_replay *r;
	if (strand_replay_open(trace, NULL, &r, &err) != STRAND_OK ||
	    strand_replay_seek(r, end, &err) != STRAND_OK)
		die("pass", &err);
	for (int i = 0; i < nseeks; i++) {
		double t0 = wall();
		if (strand_replay_seek(r, (uint64_t)rand() % end, &err) != STRAND_OK)
			die("seek", &err);
		hot[i] = wall() - t0;
	}
	strand_replay_close(r);
	printf("(d) cold seek (open + seek): unindexed median %.0f ms wall, mean %.0f ms CPU (%d seeks); "
	       "indexed median %.1f ms, p90 %.1f ms, p99 %.1f ms wall, mean %.1f ms CPU (%d seeks)\n",
	       pct(cu, ncold, 0.5) * 1e3, cpu_u * 1e3, ncold, pct(ci, nseeks, 0.5) * 1e3,
	       pct(ci, nseeks, 0.9) * 1e3, pct(ci, nseeks, 0.99) * 1e3, cpu_i * 1e3, nseeks);
	printf("    after a pass (one handle): median %.1f ms, p90 %.1f ms, p99 %.1f ms\n",
	       pct(hot, nseeks, 0.5) * 1e3, pct(hot, nseeks, 0.9) * 1e3, pct(hot, nseeks, 0.99) * 1e3);

	/* (e) parallel verification */
	if (strand_index_open(trace, NULL, &ix, &err) != STRAND_OK)
		die("index open", &err);
	for (unsigned j = 1; j <= 2; j++) {
		struct strand_replay_stats vs;
		w0 = wall(), c0 = cpu();
		if (strand_index_verify(ix, j, &vs, &err) != STRAND_OK)
			die("verify", &err);
		uint64_t n = vs.instructions;
		double wv = wall() - w0, cv = cpu() - c0;
		printf("(e) verify -j%u: %.2f s wall, %.2f s CPU, %.1f M instructions/s wall\n", j, wv,
		       cv, (double)n / wv / 1e6);
	}
	strand_index_close(ix);

	/* (f) RSS by size */
	printf("(f) replay to the end of this trace: peak RSS %.1f MiB\n",
	       replay_rss_kib(trace) / 1024.0);
	if (sizes) {
		char *list = strdup(sizes);
		for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
			uint64_t n = (uint64_t)strtod(tok, NULL);
			char p[256];
			snprintf(p, sizeof p, "/tmp/bench-index-rss-%d.strand", (int)getpid());
			generate(p, n);
			long kib = replay_rss_kib(p);
			printf("(f) replay to the end of %" PRIu64 " instructions: peak RSS %.1f MiB\n",
			       n, kib / 1024.0);
			unlink(p);
		}
		free(list);
	}
	if (trace == gen) {
		unlink(gen);
		unlink(side);
	}
	free(cu);
	free(ci);
	free(hot);
	return 0;
}
