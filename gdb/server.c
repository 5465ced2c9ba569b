/*
 * What gdb's requests mean against a replay (gdb/server.h).  Packets come
 * framed and checked from gdb/rsp.c; this file answers them.
 *
 * Motion: `c`/`vCont;c` run forward to the nearest stop, `bc` backward;
 * `s`/`vCont;s` and `bs` step one instruction of the selected thread (the
 * trace's positions interleave threads: other threads' instructions in
 * between run too).  Long runs go in slices of GDB_SLICE instructions
 * with a position stop between them, so an interrupt byte (Ctrl-C) is
 * seen within a slice.  The stop reply names the thread and why:
 * swbreak/hwbreak, watch/rwatch/awatch with the accessed address, or
 * replaylog:end / replaylog:begin at the ends of the trace.
 *
 * `monitor seek` (or any monitor motion) moves the replay behind gdb's
 * back: gdb keeps its registers and frames.  So the next resume does not
 * move but reports the new place as a stop with no signal (T00: gdb says
 * "Thread N stopped." and reads everything again); strand.gdb's
 * `strand-seek POS` is `monitor seek POS` and `stepi`.
 *
 * Watchpoints backward: forward execution reports an access after the
 * instruction that made it; backward, gdb expects to stand before that
 * instruction (the old value in memory), so a backward hit steps back
 * one more instruction.
 *
 * Writes (G, P, M, X) are refused: the replay must stay the recording.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/grow.h"
#include "gdb/server_int.h"

#define GDB_SLICE (1u << 21) /* instructions between interrupt checks */

/* ===================================================================== */
/* Registers                                                              */
/* ===================================================================== */

#define CORE32(n, t) { n, 32, t, "core" }
#define CORE64(n, t) { n, 64, t, "core" }
#define X87                                                                   \
	{ "st0", 80, "i387_ext", "core" }, { "st1", 80, "i387_ext", "core" }, \
	{ "st2", 80, "i387_ext", "core" }, { "st3", 80, "i387_ext", "core" }, \
	{ "st4", 80, "i387_ext", "core" }, { "st5", 80, "i387_ext", "core" }, \
	{ "st6", 80, "i387_ext", "core" }, { "st7", 80, "i387_ext", "core" }, \
	CORE32("fctrl", "int"), CORE32("fstat", "int"), CORE32("ftag", "int"),   \
	CORE32("fiseg", "int"), CORE32("fioff", "int"), CORE32("foseg", "int"),  \
	CORE32("fooff", "int"), CORE32("fop", "int")
#define XMM(n) { n, 128, "vec128", "sse" }

static const struct gdb_reg regs32[] = {
	CORE32("eax", "int32"), CORE32("ecx", "int32"), CORE32("edx", "int32"),
	CORE32("ebx", "int32"), CORE32("esp", "data_ptr"), CORE32("ebp", "data_ptr"),
	CORE32("esi", "int32"), CORE32("edi", "int32"), CORE32("eip", "code_ptr"),
	CORE32("eflags", "int32"), CORE32("cs", "int32"), CORE32("ss", "int32"),
	CORE32("ds", "int32"), CORE32("es", "int32"), CORE32("fs", "int32"),
	CORE32("gs", "int32"), X87,
	XMM("xmm0"), XMM("xmm1"), XMM("xmm2"), XMM("xmm3"), XMM("xmm4"), XMM("xmm5"),
	XMM("xmm6"), XMM("xmm7"), { "mxcsr", 32, "int", "sse" },
	{ "orig_eax", 32, "int", "linux" },
	{ "fs_base", 32, "int", "segments" }, { "gs_base", 32, "int", "segments" },
};

static const struct gdb_reg regs64[] = {
	CORE64("rax", "int64"), CORE64("rbx", "int64"), CORE64("rcx", "int64"),
	CORE64("rdx", "int64"), CORE64("rsi", "int64"), CORE64("rdi", "int64"),
	CORE64("rbp", "data_ptr"), CORE64("rsp", "data_ptr"), CORE64("r8", "int64"),
	CORE64("r9", "int64"), CORE64("r10", "int64"), CORE64("r11", "int64"),
	CORE64("r12", "int64"), CORE64("r13", "int64"), CORE64("r14", "int64"),
	CORE64("r15", "int64"), CORE64("rip", "code_ptr"), CORE32("eflags", "int32"),
	CORE32("cs", "int32"), CORE32("ss", "int32"), CORE32("ds", "int32"),
	CORE32("es", "int32"), CORE32("fs", "int32"), CORE32("gs", "int32"), X87,
	XMM("xmm0"), XMM("xmm1"), XMM("xmm2"), XMM("xmm3"), XMM("xmm4"), XMM("xmm5"),
	XMM("xmm6"), XMM("xmm7"), XMM("xmm8"), XMM("xmm9"), XMM("xmm10"), XMM("xmm11"),
	XMM("xmm12"), XMM("xmm13"), XMM("xmm14"), XMM("xmm15"),
	{ "mxcsr", 32, "int", "sse" }, { "orig_rax", 64, "int", "linux" },
	{ "fs_base", 64, "int", "segments" }, { "gs_base", 64, "int", "segments" },
};

/* GPR order of the core feature, as strand_cpu.gpr indexes */
static const int gpr_order32[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
static const int gpr_order64[16] = { 0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15 };

const struct gdb_reg *gdb_regs(bool x86_64, bool linux_abi, unsigned *n)
{
	/* the "linux" feature (orig_eax/orig_rax) only for Linux traces: it
	 * sits just before the segment bases, so others drop it by shifting */
	(void)linux_abi;
	*n = x86_64 ? sizeof regs64 / sizeof regs64[0] : sizeof regs32 / sizeof regs32[0];
	return x86_64 ? regs64 : regs32;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *out, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* Full x87 tag word from FXSAVE's abridged one: empty (11) or valid (00). */
static uint32_t full_ftag(uint8_t abridged)
{
	uint32_t t = 0;
	for (int i = 0; i < 8; i++)
		if (!(abridged & (1u << i)))
			t |= 3u << (2 * i);
	return t;
}

void gdb_reg_value(const struct strand_cpu *cpu, bool x86_64, bool linux_abi,
		   unsigned i, uint8_t *out)
{
	unsigned n;
	const struct gdb_reg *t = gdb_regs(x86_64, linux_abi, &n);
	unsigned bytes = t[i].bits / 8;
	memset(out, 0, bytes);
	const uint8_t *fx = cpu->fxsave;
	unsigned ngpr = x86_64 ? 16 : 8;
	static const int segs[6] = { STRAND_SEG_CS, STRAND_SEG_SS, STRAND_SEG_DS,
				     STRAND_SEG_ES, STRAND_SEG_FS, STRAND_SEG_GS };
	if (i < ngpr) {
		put_le(out, cpu->gpr[x86_64 ? gpr_order64[i] : gpr_order32[i]], bytes);
		return;
	}
	i -= ngpr;
	if (i == 0) {
		put_le(out, cpu->rip, bytes);
		return;
	}
	if (i == 1) {
		put_le(out, cpu->rflags, bytes);
		return;
	}
	if (i < 8) {
		put_le(out, cpu->sel[segs[i - 2]], bytes);
		return;
	}
	i -= 8;
	if (i < 8) { /* st0..st7 */
		memcpy(out, fx + 32 + 16 * i, 10);
		return;
	}
	i -= 8;
	switch (i) {
	case 0: put_le(out, le(fx + 0, 2), 4); return;   /* fctrl */
	case 1: put_le(out, le(fx + 2, 2), 4); return;   /* fstat */
	case 2: put_le(out, full_ftag(fx[4]), 4); return; /* ftag */
	case 3: put_le(out, le(fx + 12, 2), 4); return;  /* fiseg */
	case 4: put_le(out, le(fx + 8, 4), 4); return;   /* fioff */
	case 5: put_le(out, le(fx + 20, 2), 4); return;  /* foseg */
	case 6: put_le(out, le(fx + 16, 4), 4); return;  /* fooff */
	case 7: put_le(out, le(fx + 6, 2) & 0x7ff, 4); return; /* fop */
	}
	i -= 8;
	unsigned nxmm = x86_64 ? 16 : 8;
	if (i < nxmm) {
		memcpy(out, fx + 160 + 16 * i, 16);
		return;
	}
	i -= nxmm;
	switch (i) {
	case 0: put_le(out, le(fx + 24, 4), 4); return;       /* mxcsr */
	case 1: put_le(out, UINT64_MAX, bytes); return;       /* orig_eax/rax */
	case 2: put_le(out, cpu->fs_base, bytes); return;
	case 3: put_le(out, cpu->gs_base, bytes); return;
	}
}

/* ===================================================================== */
/* The server                                                             */
/* ===================================================================== */

enum { ZT_SW = 0, ZT_HW = 1, ZT_WRITE = 2, ZT_READ = 3, ZT_ACCESS = 4 };

struct zpoint {
	int type;          /* ZT_* */
	uint64_t addr;
	uint64_t len;      /* watch: bytes; break: kind */
	uint32_t stop_id;  /* the replay's */
};

struct symfile {
	uint32_t module_id;
	char path[512];
};

struct srv {
	struct strand_query *q;          /* borrowed */
	struct strand_replay *r;         /* the query's */
	struct gdb_rsp_conn c;
	const struct gdb_server_options *opt;
	bool x86_64, linux_abi;
	uint32_t g_tid;                  /* Hg thread; 0 = current */
	struct zpoint *z;                /* owned */
	size_t nz, capz;
	char dir[256];                   /* temporary directory of symbol files, "" if none */
	struct symfile *sf;              /* owned */
	size_t nsf, capsf;
	uint64_t lib_sig;                /* modules reported in the last library list */
	char last_stop[256];             /* for '?' */
	bool cancelled;                  /* an interrupt stopped a monitor command:
					    the rest of its line is not run */
	bool moved;                      /* a monitor command moved the replay
					    since gdb's last stop: the next
					    resume reports where, not moving */
	char pending[256];               /* a stop held back behind a "library"
					    stop, sent at the next resume; "" if none */
	char *reply;                     /* GDB_RSP_MAX + 1 bytes, owned */
	char *xml;                       /* scratch for qXfer objects, owned */
	struct gdb_cfi *cfi;             /* owned; NULL: no frames learnt */
	bool done;                       /* detach / kill */
};

static strand_status reply(struct srv *s, const char *str, strand_error *err)
{
	return gdb_rsp_send_str(&s->c, str, err);
}

/* "E.message" errors: gdb shows the text */
static strand_status reply_err(struct srv *s, const char *msg, strand_error *err)
{
	char b[512];
	snprintf(b, sizeof b, "E.%s", msg);
	return reply(s, b, err);
}

/* ---------------------------------------------------------------- xml */

static char *target_xml(struct srv *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	unsigned n;
	const struct gdb_reg *t = gdb_regs(s->x86_64, s->linux_abi, &n);
	fprintf(f, "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
		   "<target version=\"1.0\">\n<architecture>%s</architecture>\n"
		   "<osabi>%s</osabi>\n",
		s->x86_64 ? "i386:x86-64" : "i386", s->linux_abi ? "GNU/Linux" : "none");
	static const char *const features[] = { "core", "sse", "linux", "segments" };
	unsigned regnum = 0;
	for (unsigned k = 0; k < 4; k++) {
		if (!strcmp(features[k], "linux") && !s->linux_abi) {
			regnum++; /* orig_eax keeps its number, unused */
			continue;
		}
		fprintf(f, "<feature name=\"org.gnu.gdb.i386.%s\">\n", features[k]);
		if (!strcmp(features[k], "sse"))
			fputs("<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
			      "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
			      "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
			      "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
			      "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
			      "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
			      "<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
			      "<field name=\"v2_double\" type=\"v2d\"/>"
			      "<field name=\"v16_int8\" type=\"v16i8\"/>"
			      "<field name=\"v8_int16\" type=\"v8i16\"/>"
			      "<field name=\"v4_int32\" type=\"v4i32\"/>"
			      "<field name=\"v2_int64\" type=\"v2i64\"/>"
			      "<field name=\"uint128\" type=\"uint128\"/></union>\n", f);
		for (unsigned i = 0; i < n; i++) {
			if (strcmp(t[i].feature, features[k]))
				continue;
			fprintf(f, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"/>\n",
				t[i].name, t[i].bits, t[i].type, i);
			regnum++;
		}
		fputs("</feature>\n", f);
	}
	fputs("</target>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Symbol file path of a module, written on first use; NULL on failure. */
static const char *symfile_for(struct srv *s, const struct strand_module *m)
{
	for (size_t i = 0; i < s->nsf; i++)
		if (s->sf[i].module_id == m->id)
			return s->sf[i].path;
	if (!s->dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(s->dir, sizeof s->dir, "%s/strand-gdb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(s->dir)) {
			s->dir[0] = '\0';
			return NULL;
		}
	}
	if (!STRAND_GROW(s->sf, s->capsf, s->nsf, 1))
		return NULL;
	struct symfile *f = &s->sf[s->nsf];
	/* the module's name, made safe for a path */
	char name[128];
	size_t k = 0;
	for (const char *p = m->name; *p && k < sizeof name - 1; p++)
		name[k++] = (*p == '/' || *p == '\\' || *p == '<' || *p == '>' ||
			     *p == '"' || *p == '&') ? '_' : *p;
	name[k] = '\0';
	snprintf(f->path, sizeof f->path, "%s/%u-%s", s->dir, m->id, name);
	strand_error e;
	uint8_t *frame = NULL;
	size_t frame_len = 0;
	if (!gdb_cfi_debug_frame(s->cfi, m->base, m->base + m->size, &frame, &frame_len))
		frame_len = 0; /* out of memory: gdb analyses prologues */
	strand_status st = gdb_symfile_write(f->path, m, s->x86_64, m->flags & STRAND_MODULE_F_MAIN,
					     frame, frame_len, &e);
	free(frame);
	if (st != STRAND_OK) {
		if (s->opt->debug)
			fprintf(stderr, "strand gdbserver: %s\n", e.msg);
		return NULL;
	}
	f->module_id = m->id;
	s->nsf++;
	return f->path;
}

static uint64_t modules_sig(struct srv *s)
{
	uint32_t n = 0;
	const struct strand_module *const *m = strand_replay_modules(s->r, &n);
	uint64_t sig = n;
	for (uint32_t i = 0; i < n; i++)
		sig = sig * 1000003u ^ m[i]->base ^ ((uint64_t)m[i]->id << 40);
	return sig;
}

static char *libraries_xml(struct srv *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	uint32_t n = 0;
	const struct strand_module *const *m = strand_replay_modules(s->r, &n);
	if (s->linux_abi)
		fputs("<library-list-svr4 version=\"1.0\">\n", f);
	else
		fputs("<library-list version=\"1.0\">\n", f);
	for (uint32_t i = 0; i < n; i++) {
		if (m[i]->flags & STRAND_MODULE_F_MAIN)
			continue; /* gdb's exec file (qXfer:exec-file:read) */
		const char *path = symfile_for(s, m[i]);
		if (!path)
			continue;
		if (s->linux_abi)
			fprintf(f, "<library name=\"%s\" lm=\"0x%x\" l_addr=\"0x0\" l_ld=\"0x0\" lmid=\"0x0\"/>\n",
				path, i + 1);
		else
			fprintf(f, "<library name=\"%s\"><segment address=\"0x%" PRIx64
				   "\"/></library>\n", path, m[i]->base);
	}
	fputs(s->linux_abi ? "</library-list-svr4>\n" : "</library-list>\n", f);
	s->lib_sig = modules_sig(s);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* qXfer:OBJECT:read:ANNEX:OFF,LEN over a document */
static strand_status xfer_reply(struct srv *s, const char *doc, const char *args,
				strand_error *err)
{
	uint64_t off, len;
	const char *p = args;
	if (!doc)
		return reply(s, "E01", err);
	if (!gdb_rsp_parse_hex(&p, &off) || *p++ != ',' || !gdb_rsp_parse_hex(&p, &len))
		return reply(s, "E00", err);
	size_t dl = strlen(doc);
	if (len > GDB_RSP_MAX / 2 - 2)
		len = GDB_RSP_MAX / 2 - 2;
	if (off >= dl)
		return reply(s, "l", err);
	size_t n = dl - off < len ? dl - off : len;
	s->reply[0] = off + n >= dl ? 'l' : 'm';
	memcpy(s->reply + 1, doc + off, n);
	return gdb_rsp_send(&s->c, s->reply, n + 1, err);
}

/* ---------------------------------------------------------------- stops */

static void stop_reply(struct srv *s, strand_status st, strand_dir dir,
		       const struct strand_stop_hit *hit, bool interrupted)
{
	char reason[96] = "";
	int sig = interrupted ? 2 : 5;
	if (st == STRAND_END) {
		snprintf(reason, sizeof reason, "replaylog:%s;",
			 dir == STRAND_BACKWARD ? "begin" : "end");
	} else if (st == STRAND_STOPPED && hit) {
		for (size_t i = 0; i < s->nz; i++) {
			const struct zpoint *z = &s->z[i];
			if (z->stop_id != hit->stop_id)
				continue;
			static const char *const names[] = { "swbreak", "hwbreak", "watch",
							     "rwatch", "awatch" };
			if (z->type <= ZT_HW)
				snprintf(reason, sizeof reason, "%s:;", names[z->type]);
			else
				snprintf(reason, sizeof reason, "%s:%" PRIx64 ";", names[z->type],
					 hit->addr);
			break;
		}
	}
	/* gdb takes the thread of a stop reply as the new Hg thread */
	s->g_tid = 0;
	snprintf(s->last_stop, sizeof s->last_stop, "T%02xthread:%" PRIx32 ";%s", sig,
		 strand_replay_thread(s->r), reason);
	/* Modules changed: gdb must re-read the library list, which it does
	 * on a "library" stop, and then resumes at once.  So a stop with a
	 * reason of its own is held back: "library" goes first, the real
	 * stop answers the resume that follows. */
	if (modules_sig(s) != s->lib_sig) {
		if (reason[0] || interrupted) {
			snprintf(s->pending, sizeof s->pending, "%s", s->last_stop);
			snprintf(s->last_stop, sizeof s->last_stop, "T05thread:%" PRIx32 ";library:;",
				 strand_replay_thread(s->r));
		} else {
			size_t l = strlen(s->last_stop);
			snprintf(s->last_stop + l, sizeof s->last_stop - l, "library:;");
		}
	}
}

/* Run to a stop in `dir`, in slices, watching for an interrupt. */
static strand_status run_sliced(struct srv *s, strand_dir dir, struct strand_stop_hit *hit,
				bool *interrupted, strand_error *err)
{
	for (;;) {
		uint64_t pos = strand_replay_position(s->r), end = strand_replay_end(s->r);
		struct strand_stop slice = { .kind = STRAND_STOP_POSITION, .enabled = true };
		bool sliced = dir == STRAND_FORWARD ? end - pos > GDB_SLICE : pos > GDB_SLICE;
		uint32_t sid = 0;
		strand_status st;
		if (sliced) {
			slice.position = dir == STRAND_FORWARD ? pos + GDB_SLICE : pos - GDB_SLICE;
			if ((st = strand_replay_stop_add(s->r, &slice, &sid, err)) < 0)
				return st;
		}
		memset(hit, 0, sizeof *hit);
		st = strand_replay_run(s->r, dir, hit, err);
		if (sliced)
			strand_replay_stop_del(s->r, sid);
		if (st == STRAND_STOPPED && sliced && hit->stop_id == sid) {
			if (gdb_rsp_poll_interrupt(&s->c)) {
				s->c.interrupt = false;
				*interrupted = true;
				return STRAND_OK;
			}
			continue;
		}
		return st;
	}
}

static bool have_watch(const struct srv *s)
{
	for (size_t i = 0; i < s->nz; i++)
		if (s->z[i].type >= ZT_WRITE)
			return true;
	return false;
}

/* Run forward from here to here + 1 and say which of our stops the
 * instruction hit (a watchpoint it triggers, a breakpoint where it
 * lands): STRAND_OK with hit->stop_id = 0 if none. */
static strand_status one_forward(struct srv *s, struct strand_stop_hit *hit,
				 strand_error *err)
{
	uint64_t pos = strand_replay_position(s->r);
	if (pos >= strand_replay_end(s->r))
		return STRAND_END;
	struct strand_stop p = { .kind = STRAND_STOP_POSITION, .enabled = true,
				 .position = pos + 1 };
	uint32_t id;
	strand_status st = strand_replay_stop_add(s->r, &p, &id, err);
	if (st < 0)
		return st;
	memset(hit, 0, sizeof *hit);
	st = strand_replay_run(s->r, STRAND_FORWARD, hit, err);
	strand_replay_stop_del(s->r, id);
	if (st != STRAND_STOPPED)
		return st;
	/* only what this one instruction did counts: a hit reported further
	 * on (a later instruction of the same block) is not ours */
	if (hit->stop_id == id || hit->position != pos + 1)
		memset(hit, 0, sizeof *hit);
	if (strand_replay_position(s->r) != pos + 1)
		return strand_replay_seek(s->r, pos + 1, err);
	return STRAND_OK;
}

/* One instruction of thread `tid` (0 = the current one) in `dir`.
 * Instructions go one by one through the stops, so a watchpoint that an
 * instruction triggers is reported in both directions (backward: standing
 * before the instruction). */
static strand_status step_thread(struct srv *s, strand_dir dir, uint32_t tid,
				 struct strand_stop_hit *hit, bool *interrupted,
				 strand_error *err)
{
	if (!tid)
		tid = strand_replay_thread(s->r);
	strand_status st;
	uint64_t k = 0;
	bool watch = have_watch(s);
	memset(hit, 0, sizeof *hit);
	do {
		if (dir == STRAND_FORWARD) {
			st = one_forward(s, hit, err);
		} else {
			st = strand_replay_step(s->r, -1, err);
			if (st == STRAND_OK && watch) {
				uint64_t at = strand_replay_position(s->r);
				struct strand_stop_hit h;
				st = one_forward(s, &h, err);
				if (st >= 0 && h.stop_id && h.kind == STRAND_STOP_WATCH)
					*hit = h;
				if (st >= 0)
					st = strand_replay_seek(s->r, at, err);
			}
		}
		if (st != STRAND_OK)
			return st;
		if (hit->stop_id)
			return STRAND_STOPPED;
		if (++k % 4096 == 0 && gdb_rsp_poll_interrupt(&s->c)) {
			s->c.interrupt = false;
			*interrupted = true;
			return STRAND_OK;
		}
	} while (strand_replay_thread(s->r) != tid);
	return STRAND_OK;
}

/* Backward, the first instruction crossed is the one just behind us:
 * the replay's backward run looks only before the current position, so
 * an access that instruction made (reported forward right here) or a
 * breakpoint at it is checked first.  STRAND_STOPPED with *hit if it
 * stops there, STRAND_OK (one instruction back) if not, STRAND_END at
 * the start. */
static strand_status cross_back(struct srv *s, struct strand_stop_hit *hit,
				strand_error *err)
{
	memset(hit, 0, sizeof *hit);
	strand_status st = strand_replay_step(s->r, -1, err);
	if (st != STRAND_OK)
		return st;
	if (have_watch(s)) {
		uint64_t at = strand_replay_position(s->r);
		struct strand_stop_hit h;
		st = one_forward(s, &h, err);
		if (st >= 0)
			st = strand_replay_seek(s->r, at, err);
		if (st < 0)
			return st;
		if (h.stop_id && h.kind == STRAND_STOP_WATCH) {
			*hit = h;
			return STRAND_STOPPED;
		}
	}
	struct strand_cpu cpu;
	if (strand_replay_cpu(s->r, &cpu, err) < 0)
		return STRAND_OK;
	for (size_t i = 0; i < s->nz; i++) {
		if (s->z[i].type <= ZT_HW && s->z[i].addr == cpu.rip) {
			memset(hit, 0, sizeof *hit);
			hit->stop_id = s->z[i].stop_id;
			hit->kind = STRAND_STOP_BREAK;
			hit->addr = cpu.rip;
			hit->position = strand_replay_position(s->r);
			return STRAND_STOPPED;
		}
	}
	return STRAND_OK;
}

static strand_status resume(struct srv *s, bool step, strand_dir dir, uint32_t tid,
			    strand_error *err)
{
	if (s->pending[0]) { /* gdb resumed after a "library" stop */
		snprintf(s->last_stop, sizeof s->last_stop, "%s", s->pending);
		s->pending[0] = '\0';
		return reply(s, s->last_stop, err);
	}
	if (s->moved) { /* report where `monitor seek` went: gdb prints
			   "Thread N stopped." and the frame, with fresh registers */
		s->moved = false;
		stop_reply(s, STRAND_OK, STRAND_FORWARD, NULL, false);
		s->last_stop[1] = s->last_stop[2] = '0'; /* T00: a stop with no signal */
		return reply(s, s->last_stop, err);
	}
	struct strand_stop_hit hit;
	memset(&hit, 0, sizeof hit);
	bool interrupted = false;
	strand_status st;
	bool ran = false; /* hit from the replay's run (backward: after the access) */
	if (step)
		st = step_thread(s, dir, tid, &hit, &interrupted, err);
	else if (dir == STRAND_BACKWARD && (st = cross_back(s, &hit, err)) != STRAND_OK)
		; /* the instruction just behind us is where it stops (or an error) */
	else
		st = run_sliced(s, dir, &hit, &interrupted, err), ran = true;
	if (st < 0) {
		/* a divergence or I/O error: say so in gdb's console, then stop */
		char msg[STRAND_ERROR_MAX + 32];
		snprintf(msg, sizeof msg, "strand: %s\n", err->msg);
		char *hex = malloc(strlen(msg) * 2 + 2);
		if (hex) {
			hex[0] = 'O';
			gdb_rsp_hex(msg, strlen(msg), hex + 1);
			strand_error e2;
			gdb_rsp_send_str(&s->c, hex, &e2);
			free(hex);
		}
		st = STRAND_OK;
	}
	if (st == STRAND_STOPPED && dir == STRAND_BACKWARD && ran &&
	    hit.kind == STRAND_STOP_WATCH) {
		/* stand before the accessing instruction: gdb sees the old value */
		strand_status s2 = strand_replay_step(s->r, -1, err);
		if (s2 < 0)
			return s2;
	}
	stop_reply(s, st, dir, &hit, interrupted);
	return reply(s, s->last_stop, err);
}

/* ---------------------------------------------------------------- packets */

static uint32_t parse_tid(const char *p)
{
	if (p[0] == '-' && p[1] == '1')
		return 0;
	uint64_t v;
	if (*p == 'p') { /* multiprocess form p<pid>.<tid> */
		const char *dot = strchr(p, '.');
		p = dot ? dot + 1 : p + 1;
	}
	if (!gdb_rsp_parse_hex(&p, &v) || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

static bool thread_alive(struct srv *s, uint32_t tid)
{
	uint32_t tids[1024], n = 0;
	strand_replay_threads(s->r, tids, 1024, &n);
	for (uint32_t i = 0; i < n && i < 1024; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

/* Registers of the Hg thread (0: the current one); false if it is not
 * alive at this position. */
static bool thread_regs(struct srv *s, struct strand_cpu *cpu)
{
	uint32_t tid = s->g_tid ? s->g_tid : strand_replay_thread(s->r);
	return strand_replay_thread_cpu(s->r, tid, cpu, NULL) == STRAND_OK;
}

static strand_status do_regs(struct srv *s, strand_error *err)
{
	unsigned n;
	const struct gdb_reg *t = gdb_regs(s->x86_64, s->linux_abi, &n);
	struct strand_cpu cpu;
	bool mine = thread_regs(s, &cpu);
	char *o = s->reply;
	for (unsigned i = 0; i < n; i++) {
		unsigned bytes = t[i].bits / 8;
		if (!s->linux_abi && !strcmp(t[i].feature, "linux"))
			continue; /* not in this target description */
		if (!mine) { /* a thread that is not alive here: unavailable */
			memset(o, 'x', 2 * bytes);
			o += 2 * bytes;
			continue;
		}
		uint8_t v[16];
		gdb_reg_value(&cpu, s->x86_64, s->linux_abi, i, v);
		gdb_rsp_hex(v, bytes, o);
		o += 2 * bytes;
	}
	*o = '\0';
	return reply(s, s->reply, err);
}

static strand_status do_reg(struct srv *s, const char *p, strand_error *err)
{
	uint64_t i;
	unsigned n;
	const struct gdb_reg *t = gdb_regs(s->x86_64, s->linux_abi, &n);
	if (!gdb_rsp_parse_hex(&p, &i) || i >= n ||
	    (!s->linux_abi && !strcmp(t[i].feature, "linux")))
		return reply(s, "E00", err);
	unsigned bytes = t[i].bits / 8;
	struct strand_cpu cpu;
	if (!thread_regs(s, &cpu)) {
		memset(s->reply, 'x', 2 * bytes);
		s->reply[2 * bytes] = '\0';
		return reply(s, s->reply, err);
	}
	uint8_t v[16];
	gdb_reg_value(&cpu, s->x86_64, s->linux_abi, (unsigned)i, v);
	gdb_rsp_hex(v, bytes, s->reply);
	return reply(s, s->reply, err);
}

static strand_status do_mem(struct srv *s, const char *p, bool binary, strand_error *err)
{
	uint64_t addr, len;
	if (!gdb_rsp_parse_hex(&p, &addr) || *p++ != ',' || !gdb_rsp_parse_hex(&p, &len))
		return reply(s, "E00", err);
	size_t max = binary ? GDB_RSP_MAX / 2 - 1 : GDB_RSP_MAX / 2 - 1;
	if (len > max)
		len = max;
	uint8_t buf[GDB_RSP_MAX / 2], valid[GDB_RSP_MAX / 2];
	strand_replay_read(s->r, addr, buf, (size_t)len, valid);
	size_t ok = 0;
	while (ok < len && valid[ok])
		ok++;
	if (ok == 0 && len > 0)
		return reply(s, "E14", err); /* EFAULT */
	if (binary) {
		s->reply[0] = 'b';
		memcpy(s->reply + 1, buf, ok);
		return gdb_rsp_send(&s->c, s->reply, ok + 1, err);
	}
	gdb_rsp_hex(buf, ok, s->reply);
	return reply(s, s->reply, err);
}

static strand_status do_z(struct srv *s, const char *p, bool insert, strand_error *err)
{
	uint64_t type, addr, len;
	if (!gdb_rsp_parse_hex(&p, &type) || type > 4 || *p++ != ',' ||
	    !gdb_rsp_parse_hex(&p, &addr) || *p++ != ',' || !gdb_rsp_parse_hex(&p, &len))
		return reply(s, "E00", err);
	for (size_t i = 0; i < s->nz; i++) {
		struct zpoint *z = &s->z[i];
		if (z->type != (int)type || z->addr != addr || (type >= ZT_WRITE && z->len != len))
			continue;
		if (insert)
			return reply(s, "OK", err);
		strand_replay_stop_del(s->r, z->stop_id);
		s->z[i] = s->z[--s->nz];
		return reply(s, "OK", err);
	}
	if (!insert)
		return reply(s, "OK", err); /* not there: nothing to remove */
	if (type >= ZT_WRITE && (len == 0 || len > (1u << 20)))
		return reply(s, "E22", err);
	struct strand_stop st = { .enabled = true, .addr = addr };
	if (type <= ZT_HW) {
		st.kind = STRAND_STOP_BREAK;
	} else {
		st.kind = STRAND_STOP_WATCH;
		st.len = len;
		st.access = type == ZT_WRITE ? STRAND_WATCH_WRITE
			    : type == ZT_READ ? STRAND_WATCH_READ
					      : STRAND_WATCH_READ | STRAND_WATCH_WRITE;
	}
	if (!STRAND_GROW(s->z, s->capz, s->nz, 1))
		return reply(s, "E0c", err);
	uint32_t id;
	strand_error e;
	if (strand_replay_stop_add(s->r, &st, &id, &e) < 0)
		return reply_err(s, e.msg, err);
	s->z[s->nz++] = (struct zpoint){ .type = (int)type, .addr = addr, .len = len,
					 .stop_id = id };
	return reply(s, "OK", err);
}

static strand_status do_threads(struct srv *s, strand_error *err)
{
	uint32_t tids[1024], n = 0;
	strand_replay_threads(s->r, tids, 1024, &n);
	size_t o = 0;
	s->reply[o++] = 'm';
	for (uint32_t i = 0; i < n && i < 1024 && o + 12 < GDB_RSP_MAX; i++)
		o += (size_t)snprintf(s->reply + o, GDB_RSP_MAX - o, "%s%" PRIx32, i ? "," : "",
				      tids[i]);
	if (n == 0)
		o += (size_t)snprintf(s->reply + o, GDB_RSP_MAX - o, "%" PRIx32,
				      strand_replay_thread(s->r));
	s->reply[o] = '\0';
	return reply(s, s->reply, err);
}

struct monitor_out {
	struct srv *s;
	strand_error *err;
	strand_status st;
};

static void send_console(struct srv *s, const char *text, size_t len, strand_error *err)
{
	const size_t chunk = GDB_RSP_MAX / 2 - 2;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		s->reply[0] = 'O';
		gdb_rsp_hex(text + off, n, s->reply + 1);
		if (gdb_rsp_send_str(&s->c, s->reply, err) != STRAND_OK)
			return;
	}
}

static int monitor_one(void *ud, const char *cmd)
{
	struct monitor_out *mo = ud;
	struct strand_query_result res = { 0 };
	strand_error e;
	strand_status st = strand_query_exec(mo->s->q, cmd, &res, &e);
	if (st < 0) {
		char msg[STRAND_ERROR_MAX + 16];
		int n = snprintf(msg, sizeof msg, "error: %s\n", e.msg);
		send_console(mo->s, msg, (size_t)n, mo->err);
	} else {
		send_console(mo->s, res.text, res.text_len, mo->err);
	}
	if (res.quit)
		mo->s->done = true;
	/* a seek or motion that ran, even one that stayed in place, is news
	 * for gdb (strand.gdb's strand-seek resumes to hear of it) */
	size_t w = strspn(cmd, " \t");
	if (st >= 0 && ((!strncmp(cmd + w, "seek", 4) && (!cmd[w + 4] || cmd[w + 4] == ' ')) ||
			strand_query_is_motion(cmd)))
		mo->s->moved = true;
	strand_query_result_fini(&res);
	return mo->s->cancelled; /* non-zero: the rest of the line is dropped */
}

/* The query session's cancel callback: an interrupt byte from gdb (or
 * any client) stops a long monitor command between slices. */
static bool conn_interrupted(void *ud)
{
	struct srv *s = ud;
	if (!gdb_rsp_poll_interrupt(&s->c))
		return false;
	s->c.interrupt = false;
	s->cancelled = true;
	return true;
}

static strand_status do_monitor(struct srv *s, const char *hex, strand_error *err)
{
	size_t hl = strlen(hex);
	char *cmd = malloc(hl / 2 + 1);
	if (!cmd)
		return reply(s, "E0c", err);
	long n = gdb_rsp_unhex(hex, hl, cmd, hl / 2);
	if (n < 0) {
		free(cmd);
		return reply(s, "E00", err);
	}
	cmd[n] = '\0';
	struct monitor_out mo = { .s = s, .err = err };
	uint64_t pos = strand_replay_position(s->r);
	strand_query_set_cancel(s->q, conn_interrupted, s);
	s->cancelled = false;
	strand_query_split(cmd, monitor_one, &mo);
	strand_query_set_cancel(s->q, NULL, NULL);
	free(cmd);
	if (strand_replay_position(s->r) != pos)
		s->moved = true; /* gdb's registers and frames are stale */
	/* the commands may have moved the replay or changed its stops */
	stop_reply(s, STRAND_OK, STRAND_FORWARD, NULL, false);
	return reply(s, "OK", err);
}

static bool starts(const char *p, const char *prefix)
{
	return strncmp(p, prefix, strlen(prefix)) == 0;
}

static strand_status do_vcont(struct srv *s, const char *p, strand_error *err)
{
	/* vCont;ACTION[:TID];...  the first action naming a step wins */
	bool step = false;
	uint32_t tid = 0;
	for (const char *a = strchr(p, ';'); a; a = strchr(a + 1, ';')) {
		char act = a[1];
		const char *colon = strchr(a + 1, ':');
		const char *next = strchr(a + 1, ';');
		uint32_t t = colon && (!next || colon < next) ? parse_tid(colon + 1) : 0;
		if ((act == 's' || act == 'S') && !step) {
			step = true;
			tid = t;
		}
	}
	return resume(s, step, STRAND_FORWARD, tid, err);
}

static strand_status handle(struct srv *s, const char *p, size_t len, strand_error *err)
{
	switch (p[0]) {
	case '?':
		return reply(s, s->last_stop, err);
	case 'g':
		return do_regs(s, err);
	case 'p':
		return do_reg(s, p + 1, err);
	case 'G': case 'P': case 'M': case 'X':
		return reply_err(s, "the replay is the recording: registers and memory are "
				    "read-only", err);
	case 'm':
		return do_mem(s, p + 1, false, err);
	case 'x':
		return do_mem(s, p + 1, true, err);
	case 'c': case 'C':
		return resume(s, false, STRAND_FORWARD, 0, err);
	case 's': case 'S':
		return resume(s, true, STRAND_FORWARD, s->g_tid, err);
	case 'b':
		if (p[1] == 'c')
			return resume(s, false, STRAND_BACKWARD, 0, err);
		if (p[1] == 's')
			return resume(s, true, STRAND_BACKWARD, 0, err);
		return reply(s, "", err);
	case 'Z':
		return do_z(s, p + 1, true, err);
	case 'z':
		return do_z(s, p + 1, false, err);
	case 'H':
		if (p[1] == 'g')
			s->g_tid = parse_tid(p + 2);
		return reply(s, "OK", err);
	case 'T':
		return reply(s, thread_alive(s, parse_tid(p + 1)) ? "OK" : "E01", err);
	case 'D':
		s->done = true;
		return reply(s, "OK", err);
	case 'k':
		s->done = true;
		return STRAND_OK;
	case 'v':
		if (starts(p, "vCont?"))
			return reply(s, "vCont;c;C;s;S", err);
		if (starts(p, "vCont;"))
			return do_vcont(s, p, err);
		if (starts(p, "vKill")) {
			s->done = true;
			return reply(s, "OK", err);
		}
		return reply(s, "", err);
	case 'Q':
		if (starts(p, "QStartNoAckMode")) {
			strand_status st = reply(s, "OK", err);
			s->c.no_ack = true;
			return st;
		}
		return reply(s, "", err);
	case 'q':
		if (starts(p, "qSupported")) {
			char b[256];
			snprintf(b, sizeof b,
				 "PacketSize=%x;QStartNoAckMode+;qXfer:features:read+;qXfer:exec-file:read+;%s;"
				 "ReverseStep+;ReverseContinue+;swbreak+;hwbreak+;vContSupported+",
				 GDB_RSP_MAX,
				 s->linux_abi ? "qXfer:libraries-svr4:read+" : "qXfer:libraries:read+");
			return reply(s, b, err);
		}
		if (starts(p, "qXfer:features:read:target.xml:")) {
			free(s->xml);
			s->xml = target_xml(s);
			return xfer_reply(s, s->xml, p + strlen("qXfer:features:read:target.xml:"), err);
		}
		if (starts(p, "qXfer:libraries-svr4:read:") && s->linux_abi) {
			const char *a = strchr(p + strlen("qXfer:libraries-svr4:read:"), ':');
			free(s->xml);
			s->xml = libraries_xml(s);
			return xfer_reply(s, s->xml, a ? a + 1 : "", err);
		}
		if (starts(p, "qXfer:libraries:read:") && !s->linux_abi) {
			const char *a = strchr(p + strlen("qXfer:libraries:read:"), ':');
			free(s->xml);
			s->xml = libraries_xml(s);
			return xfer_reply(s, s->xml, a ? a + 1 : "", err);
		}
		if (starts(p, "qXfer:exec-file:read:")) {
			const char *a = strchr(p + strlen("qXfer:exec-file:read:"), ':');
			uint32_t n = 0;
			const struct strand_module *const *m = strand_replay_modules(s->r, &n);
			const char *path = NULL;
			for (uint32_t i = 0; i < n && !path; i++)
				if (m[i]->flags & STRAND_MODULE_F_MAIN)
					path = symfile_for(s, m[i]);
			return xfer_reply(s, path, a ? a + 1 : "", err);
		}
		if (starts(p, "qfThreadInfo"))
			return do_threads(s, err);
		if (starts(p, "qsThreadInfo"))
			return reply(s, "l", err);
		if (starts(p, "qC")) {
			char b[32];
			snprintf(b, sizeof b, "QC%" PRIx32, strand_replay_thread(s->r));
			return reply(s, b, err);
		}
		if (starts(p, "qAttached"))
			return reply(s, "1", err);
		if (starts(p, "qSymbol"))
			return reply(s, "OK", err);
		if (starts(p, "qThreadExtraInfo,")) {
			uint32_t tid = parse_tid(p + strlen("qThreadExtraInfo,"));
			char t[64];
			snprintf(t, sizeof t, "%s", tid == strand_replay_thread(s->r)
							? "running at this position" : "waiting");
			gdb_rsp_hex(t, strlen(t), s->reply);
			return reply(s, s->reply, err);
		}
		if (starts(p, "qRcmd,"))
			return do_monitor(s, p + strlen("qRcmd,"), err);
		return reply(s, "", err);
	default:
		(void)len;
		return reply(s, "", err);
	}
}

static void remove_dir(struct srv *s)
{
	for (size_t i = 0; i < s->nsf; i++)
		unlink(s->sf[i].path);
	if (s->dir[0])
		rmdir(s->dir);
}

strand_status gdb_serve(struct strand_query *q, int in_fd, int out_fd,
			const struct gdb_server_options *opt, strand_error *err)
{
	static const struct gdb_server_options defaults = { 0 };
	struct srv s;
	memset(&s, 0, sizeof s);
	s.q = q;
	s.r = strand_query_replay(q);
	s.opt = opt ? opt : &defaults;
	const struct strand_trace_info *info = strand_replay_info(s.r);
	s.x86_64 = info->arch == STRAND_ARCH_X86_64;
	s.linux_abi = info->abi == STRAND_ABI_LINUX;
	strand_status st = gdb_rsp_conn_init(&s.c, in_fd, out_fd, err);
	if (st < 0)
		return st;
	s.c.trace = s.opt->debug;
	s.reply = malloc(GDB_RSP_MAX + 1);
	if (!s.reply) {
		st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot allocate reply buffer");
		goto out;
	}
	if (s.opt->trace) {
		strand_error e;
		uint64_t max = s.opt->cfi_max_insns ? s.opt->cfi_max_insns : GDB_CFI_MAX_INSNS;
		if (gdb_cfi_build(s.opt->trace, s.x86_64, max, &s.cfi, &e) < 0) {
			fprintf(stderr, "strand gdbserver: %s (gdb analyses prologues)\n", e.msg);
		} else if (s.opt->debug) {
			uint64_t ran, known = gdb_cfi_learnt(s.cfi, &ran);
			fprintf(stderr, "strand gdbserver: frames learnt at %" PRIu64 " of %" PRIu64
				" pcs that ran\n", known, ran);
		}
	}
	/* the first stop reply says "library:" so gdb loads the symbol
	 * files at once */
	s.lib_sig = ~modules_sig(&s);
	stop_reply(&s, STRAND_OK, STRAND_FORWARD, NULL, false);
	while (!s.done && !(s.opt->quit && *s.opt->quit)) {
		const char *pkt;
		size_t len;
		st = gdb_rsp_read(&s.c, &pkt, &len, err);
		if (st == STRAND_END) {
			st = STRAND_OK;
			break;
		}
		if (st == STRAND_STOPPED) { /* interrupt while stopped: report the stop */
			stop_reply(&s, STRAND_OK, STRAND_FORWARD, NULL, true);
			if ((st = reply(&s, s.last_stop, err)) < 0)
				break;
			continue;
		}
		if (st < 0)
			break;
		/* the packet lives in the parser: copy it before replying */
		char *copy = malloc(len + 1);
		if (!copy) {
			st = strand_error_set(err, STRAND_ERR_NOMEM, "cannot copy packet");
			break;
		}
		memcpy(copy, pkt, len);
		copy[len] = '\0';
		st = handle(&s, copy, len, err);
		free(copy);
		if (st == STRAND_END) {
			st = STRAND_OK;
			break;
		}
		if (st < 0)
			break;
	}
	if (st > 0)
		st = STRAND_OK;
out:
	remove_dir(&s);
	for (size_t i = 0; i < s.nz; i++)
		strand_replay_stop_del(s.r, s.z[i].stop_id);
	free(s.z);
	free(s.sf);
	free(s.xml);
	free(s.reply);
	gdb_cfi_free(s.cfi);
	gdb_rsp_conn_fini(&s.c);
	return st;
}
