/* tracegen: a tiny recorder for synthetic traces (see tracegen.h). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <unicorn/unicorn.h>

#include "tests/helpers/tracegen.h"

enum { TGE_SWITCH = 1, TGE_THREAD, TGE_WRITE, TGE_KEYFRAME, TGE_MAP, TGE_EXC, TGE_RAW };

struct tg_event {
	uint64_t pos;
	int kind;
	uint32_t tid;
	struct strand_cpu cpu;
	uint64_t addr, size;
	uint32_t prot;
	uint8_t *data;
	uint32_t len;
	const struct strand_record *raw;
};

struct tg_region {
	uint64_t addr, size;
	uint32_t prot, kind;
	char name[64];
	uint8_t *host;
};

struct tg_thr {
	uint32_t tid;
	struct strand_cpu init;
	uc_context *ctx;
	bool started;
	bool alive;
};

struct tg {
	struct strand_writer *w;
	struct tg_opts o;
	uc_engine *uc;
	bool is64;
	struct tg_region regs[64];
	uint32_t nregs;
	struct tg_thr thr[16];
	uint32_t nthr, cur;
	struct tg_event *ev;
	uint32_t nev, capev, evi;
	bool snap_done;
	tg_syscall_fn sys;
	void *sys_ud;
	/* run state */
	uint64_t count;       /* instructions executed */
	uint64_t ordinal;     /* consuming events written */
	uint64_t stop_at;     /* next scheduled event position */
	int stop_why;         /* 0 none, 1 scheduled, 2 sensitive */
	uint64_t stop_pc;
	uint32_t stop_len;
	uint64_t next_kf;
	uint64_t tsc;
	bool exited;
	bool failed;
};

static uint64_t pos_of(struct tg *g, uint64_t exact)
{
	return g->o.ordinal ? g->ordinal : exact;
}

static strand_status put(struct tg *g, struct strand_record *rec, strand_error *err)
{
	return strand_writer_put(g->w, rec, err);
}

void tg_cpu_init(struct strand_cpu *c, uint64_t rip, uint64_t rsp)
{
	memset(c, 0, sizeof *c);
	c->rip = rip;
	c->gpr[STRAND_REG_RSP] = rsp;
	c->rflags = 0x202;
	uint16_t fcw = 0x37f;
	uint32_t mx = 0x1f80;
	memcpy(c->fxsave, &fcw, 2);
	memcpy(c->fxsave + 24, &mx, 4);
}

strand_status tg_open(const char *path, const struct tg_opts *opt, struct tg **out,
		      strand_error *err)
{
	struct tg *g = calloc(1, sizeof *g);
	if (!g)
		return strand_error_set(err, STRAND_ERR_NOMEM, "tracegen: no memory");
	g->o = *opt;
	g->is64 = opt->arch == STRAND_ARCH_X86_64;
	struct strand_trace_info info;
	memset(&info, 0, sizeof info);
	info.format_major = STRAND_FORMAT_MAJOR;
	info.format_minor = STRAND_FORMAT_MINOR;
	info.arch = opt->arch;
	info.abi = opt->abi;
	info.flags = opt->ordinal ? STRAND_TRACE_F_ORDINAL_POSITIONS : 0;
	snprintf(info.recorder, sizeof info.recorder, "strand-tracegen");
	snprintf(info.recorder_version, sizeof info.recorder_version, "0.1.0");
	strand_status st = strand_writer_open(path, &info, NULL, &g->w, err);
	if (st != STRAND_OK) {
		free(g);
		return st;
	}
	if (uc_open(UC_ARCH_X86, g->is64 ? UC_MODE_64 : UC_MODE_32, &g->uc) != UC_ERR_OK) {
		strand_writer_abort(g->w);
		free(g);
		return strand_error_set(err, STRAND_ERR_EMULATOR, "tracegen: uc_open failed");
	}
	*out = g;
	return STRAND_OK;
}

strand_status tg_map(struct tg *g, uint64_t addr, uint64_t size, uint32_t prot, uint32_t kind,
		     const char *name, const void *data, size_t len, strand_error *err)
{
	if (g->nregs == 64 || len > size)
		return strand_error_set(err, STRAND_ERR_INVALID, "tracegen: bad region");
	struct tg_region *r = &g->regs[g->nregs];
	r->addr = addr;
	r->size = size;
	r->prot = prot;
	r->kind = kind;
	snprintf(r->name, sizeof r->name, "%s", name ? name : "");
	r->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->host == MAP_FAILED)
		return strand_error_set(err, STRAND_ERR_NOMEM, "tracegen: mmap");
	if (data)
		memcpy(r->host, data, len);
	if (uc_mem_map_ptr(g->uc, addr, size, UC_PROT_ALL, r->host) != UC_ERR_OK)
		return strand_error_set(err, STRAND_ERR_EMULATOR, "tracegen: map 0x%" PRIx64, addr);
	g->nregs++;
	struct strand_record rec;
	memset(&rec, 0, sizeof rec);
	rec.type = STRAND_REC_REGION;
	rec.u.region.op = STRAND_MAP_MAP;
	rec.u.region.prot = prot;
	rec.u.region.addr = addr;
	rec.u.region.size = size;
	rec.u.region.kind = kind;
	rec.u.region.name = r->name;
	rec.u.region.data = r->host;
	return put(g, &rec, err);
}

strand_status tg_module(struct tg *g, const struct strand_module *m, strand_error *err)
{
	struct strand_record rec;
	memset(&rec, 0, sizeof rec);
	rec.type = STRAND_REC_MODULE;
	rec.u.module = *m;
	return put(g, &rec, err);
}

strand_status tg_thread(struct tg *g, uint32_t tid, const struct strand_cpu *cpu,
			strand_error *err)
{
	if (g->nthr == 16)
		return strand_error_set(err, STRAND_ERR_INVALID, "tracegen: too many threads");
	struct tg_thr *t = &g->thr[g->nthr++];
	t->tid = tid;
	t->init = *cpu;
	t->alive = true;
	struct strand_record rec;
	memset(&rec, 0, sizeof rec);
	rec.type = STRAND_REC_THREAD;
	rec.tid = tid;
	rec.u.thread.cpu = *cpu;
	rec.u.thread.name = "";
	return put(g, &rec, err);
}

static strand_status add_ev(struct tg *g, struct tg_event *e, strand_error *err)
{
	if (g->nev == g->capev) {
		uint32_t cap = g->capev ? g->capev * 2 : 16;
		struct tg_event *p = realloc(g->ev, cap * sizeof *p);
		if (!p)
			return strand_error_set(err, STRAND_ERR_NOMEM, "tracegen: no memory");
		g->ev = p;
		g->capev = cap;
	}
	/* keep sorted by position, stable */
	uint32_t i = g->nev;
	while (i > 0 && g->ev[i - 1].pos > e->pos)
		i--;
	memmove(&g->ev[i + 1], &g->ev[i], (g->nev - i) * sizeof *g->ev);
	g->ev[i] = *e;
	g->nev++;
	return STRAND_OK;
}

strand_status tg_at_switch(struct tg *g, uint64_t pos, uint32_t tid, strand_error *err)
{
	struct tg_event e = { .pos = pos, .kind = TGE_SWITCH, .tid = tid };
	return add_ev(g, &e, err);
}

strand_status tg_at_thread(struct tg *g, uint64_t pos, uint32_t tid,
			   const struct strand_cpu *cpu, strand_error *err)
{
	struct tg_event e = { .pos = pos, .kind = TGE_THREAD, .tid = tid, .cpu = *cpu };
	return add_ev(g, &e, err);
}

strand_status tg_at_write(struct tg *g, uint64_t pos, uint64_t addr, const void *data,
			  uint32_t len, strand_error *err)
{
	struct tg_event e = { .pos = pos, .kind = TGE_WRITE, .addr = addr, .len = len };
	e.data = malloc(len ? len : 1);
	if (!e.data)
		return strand_error_set(err, STRAND_ERR_NOMEM, "tracegen: no memory");
	memcpy(e.data, data, len);
	return add_ev(g, &e, err);
}

strand_status tg_at_keyframe(struct tg *g, uint64_t pos, strand_error *err)
{
	struct tg_event e = { .pos = pos, .kind = TGE_KEYFRAME };
	return add_ev(g, &e, err);
}

strand_status tg_at_map(struct tg *g, uint64_t pos, uint64_t addr, uint64_t size, uint32_t prot,
			strand_error *err)
{
	struct tg_event e = { .pos = pos, .kind = TGE_MAP, .addr = addr, .size = size, .prot = prot };
	return add_ev(g, &e, err);
}

strand_status tg_at_exception(struct tg *g, uint64_t pos, uint64_t code, uint64_t handler,
			      strand_error *err)
{
	struct tg_event e = { .pos = pos, .kind = TGE_EXC, .addr = handler, .size = code };
	return add_ev(g, &e, err);
}

strand_status tg_at_record(struct tg *g, uint64_t pos, const struct strand_record *rec,
			   strand_error *err)
{
	struct tg_event e = { .pos = pos, .kind = TGE_RAW, .raw = rec };
	return add_ev(g, &e, err);
}

void tg_on_syscall(struct tg *g, tg_syscall_fn fn, void *ud)
{
	g->sys = fn;
	g->sys_ud = ud;
}

bool tg_sys_write(struct tg_syscall *s, uint64_t addr, const void *data, uint32_t len)
{
	if (s->nwrites == 8 || s->wused + len > sizeof s->wbuf)
		return false;
	memcpy(s->wbuf + s->wused, data, len);
	s->writes[s->nwrites].addr = addr;
	s->writes[s->nwrites].len = len;
	s->writes[s->nwrites].data = s->wbuf + s->wused;
	s->wused += len;
	s->nwrites++;
	return true;
}

/* ---- registers ---- */

static const int gpr64[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};
static const int gpr32[8] = {
	UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
	UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
};

static uint64_t rd(struct tg *g, int i)
{
	uint64_t v = 0;
	if (g->is64) {
		uc_reg_read(g->uc, gpr64[i], &v);
	} else {
		uint32_t w = 0;
		uc_reg_read(g->uc, gpr32[i], &w);
		v = w;
	}
	return v;
}

static void wr(struct tg *g, int i, uint64_t v)
{
	if (g->is64) {
		uc_reg_write(g->uc, gpr64[i], &v);
	} else {
		uint32_t w = (uint32_t)v;
		uc_reg_write(g->uc, gpr32[i], &w);
	}
}

static uint64_t pc_get(struct tg *g)
{
	uint64_t v = 0;
	if (g->is64) {
		uc_reg_read(g->uc, UC_X86_REG_RIP, &v);
	} else {
		uint32_t w = 0;
		uc_reg_read(g->uc, UC_X86_REG_EIP, &w);
		v = w;
	}
	return v;
}

static void pc_set(struct tg *g, uint64_t pc)
{
	if (g->is64) {
		uc_reg_write(g->uc, UC_X86_REG_RIP, &pc);
	} else {
		uint32_t w = (uint32_t)pc;
		uc_reg_write(g->uc, UC_X86_REG_EIP, &w);
	}
}

static void cpu_load(struct tg *g, const struct strand_cpu *c)
{
	int n = g->is64 ? 16 : 8;
	for (int i = 0; i < n; i++)
		wr(g, i, c->gpr[i]);
	pc_set(g, c->rip);
	if (g->is64) {
		uc_reg_write(g->uc, UC_X86_REG_RFLAGS, &c->rflags);
		uc_reg_write(g->uc, UC_X86_REG_FS_BASE, &c->fs_base);
		uc_reg_write(g->uc, UC_X86_REG_GS_BASE, &c->gs_base);
	} else {
		uint32_t f = (uint32_t)c->rflags;
		uc_reg_write(g->uc, UC_X86_REG_EFLAGS, &f);
	}
	int nx = g->is64 ? 16 : 8;
	for (int i = 0; i < nx; i++)
		uc_reg_write(g->uc, UC_X86_REG_XMM0 + i, c->fxsave + 160 + 16 * i);
	if (!g->is64 && c->gdt_base) {
		uc_x86_mmr gdtr = { .base = c->gdt_base, .limit = c->gdt_limit };
		uc_reg_write(g->uc, UC_X86_REG_GDTR, &gdtr);
		static const int seg[6] = { UC_X86_REG_ES, UC_X86_REG_CS, UC_X86_REG_SS,
					    UC_X86_REG_DS, UC_X86_REG_FS, UC_X86_REG_GS };
		for (int i = 0; i < 6; i++) {
			uint32_t v = c->sel[i];
			uc_reg_write(g->uc, seg[i], &v);
		}
	}
}

/* x86-32 with a GDT: the thread's fs_base goes into the descriptor FS
 * selects, then FS is reloaded (what Windows does on a switch). */
static void gdt_fs(struct tg *g, uint32_t ti)
{
	const struct strand_cpu *c = &g->thr[ti].init;
	if (g->is64 || !c->gdt_base)
		return;
	uint16_t sel = c->sel[STRAND_SEG_FS];
	if ((sel & ~3u) == 0)
		return;
	uint64_t da = c->gdt_base + (sel >> 3) * 8u;
	uint8_t d[8];
	uc_mem_read(g->uc, da, d, 8);
	uint32_t b = (uint32_t)c->fs_base;
	d[2] = (uint8_t)b;
	d[3] = (uint8_t)(b >> 8);
	d[4] = (uint8_t)(b >> 16);
	d[7] = (uint8_t)(b >> 24);
	uc_mem_write(g->uc, da, d, 8);
	uint32_t v = sel;
	uc_reg_write(g->uc, UC_X86_REG_FS, &v);
}

static void cpu_save(struct tg *g, struct strand_cpu *c, uint32_t ti)
{
	*c = g->thr[ti].init;
	int n = g->is64 ? 16 : 8;
	for (int i = 0; i < n; i++)
		c->gpr[i] = rd(g, i);
	c->rip = pc_get(g);
	if (g->is64) {
		uc_reg_read(g->uc, UC_X86_REG_RFLAGS, &c->rflags);
		uc_reg_read(g->uc, UC_X86_REG_FS_BASE, &c->fs_base);
		uc_reg_read(g->uc, UC_X86_REG_GS_BASE, &c->gs_base);
	} else {
		uint32_t f = 0;
		uc_reg_read(g->uc, UC_X86_REG_EFLAGS, &f);
		c->rflags = f;
		if (c->gdt_base) {
			static const int seg[6] = { UC_X86_REG_ES, UC_X86_REG_CS, UC_X86_REG_SS,
						    UC_X86_REG_DS, UC_X86_REG_FS, UC_X86_REG_GS };
			for (int i = 0; i < 6; i++) {
				uint32_t v = 0;
				uc_reg_read(g->uc, seg[i], &v);
				c->sel[i] = (uint16_t)v;
			}
		}
	}
	int nx = g->is64 ? 16 : 8;
	for (int i = 0; i < nx; i++)
		uc_reg_read(g->uc, UC_X86_REG_XMM0 + i, c->fxsave + 160 + 16 * i);
}

/* Context of thread ti, running or not. */
static void thread_cpu(struct tg *g, uint32_t ti, struct strand_cpu *c)
{
	if (ti == g->cur) {
		cpu_save(g, c, ti);
		return;
	}
	if (!g->thr[ti].started) {
		*c = g->thr[ti].init;
		return;
	}
	uc_context *tmp;
	uc_context_alloc(g->uc, &tmp);
	uc_context_save(g->uc, tmp);
	uc_context_restore(g->uc, g->thr[ti].ctx);
	cpu_save(g, c, ti);
	uc_context_restore(g->uc, tmp);
	uc_context_free(tmp);
}

static strand_status switch_to(struct tg *g, uint32_t ti)
{
	struct tg_thr *o = &g->thr[g->cur];
	if (!o->ctx)
		uc_context_alloc(g->uc, &o->ctx);
	uc_context_save(g->uc, o->ctx);
	g->cur = ti;
	struct tg_thr *t = &g->thr[ti];
	if (t->started) {
		uc_context_restore(g->uc, t->ctx);
	} else {
		cpu_load(g, &t->init);
		t->started = true;
	}
	gdt_fs(g, ti);
	return STRAND_OK;
}

/* ---- hooks ---- */

static struct tg_region *region_of(struct tg *g, uint64_t a)
{
	for (uint32_t i = 0; i < g->nregs; i++)
		if (a >= g->regs[i].addr && a < g->regs[i].addr + g->regs[i].size)
			return &g->regs[i];
	return NULL;
}

static void hook_code(uc_engine *uc, uint64_t addr, uint32_t size, void *ud)
{
	struct tg *g = ud;
	if (g->count == g->stop_at) {
		g->stop_why = 1;
		uc_emu_stop(uc);
		return;
	}
	if (size == 2 || size == 3) {
		struct tg_region *r = region_of(g, addr);
		if (r && addr + size <= r->addr + r->size) {
			const uint8_t *b = r->host + (addr - r->addr);
			bool sens = (b[0] == 0x0f && (b[1] == 0x05 || b[1] == 0x34 || b[1] == 0x31 ||
						      b[1] == 0xa2)) ||
				    (b[0] == 0xcd && (b[1] == 0x80 || b[1] == 0x2e)) ||
				    (size == 3 && b[0] == 0x0f && b[1] == 0x01 && b[2] == 0xf9);
			if (sens) {
				g->stop_why = 2;
				g->stop_pc = addr;
				g->stop_len = size;
				uc_emu_stop(uc);
				return;
			}
		}
	}
	g->count++;
}

/* ---- events ---- */

static strand_status write_keyframe(struct tg *g, strand_error *err)
{
	struct strand_keyframe_thread kt[16];
	uint32_t n = 0;
	for (uint32_t i = 0; i < g->nthr; i++) {
		if (!g->thr[i].alive)
			continue;
		kt[n].tid = g->thr[i].tid;
		thread_cpu(g, i, &kt[n].cpu);
		n++;
	}
	struct strand_digest dg[64];
	uint32_t nd = 0;
	/* regions are added in address order by the tests; sort anyway */
	struct tg_region *order[64];
	for (uint32_t i = 0; i < g->nregs; i++)
		order[i] = &g->regs[i];
	for (uint32_t i = 1; i < g->nregs; i++)
		for (uint32_t j = i; j > 0 && order[j]->addr < order[j - 1]->addr; j--) {
			struct tg_region *t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (uint32_t i = 0; i < g->nregs; i++) {
		dg[nd].addr = order[i]->addr;
		dg[nd].size = order[i]->size;
		dg[nd].hash = strand_digest(order[i]->host, order[i]->size);
		nd++;
	}
	struct strand_record rec;
	memset(&rec, 0, sizeof rec);
	rec.type = STRAND_REC_KEYFRAME;
	rec.tid = g->thr[g->cur].tid;
	rec.position = pos_of(g, g->count);
	rec.u.keyframe.nthreads = n;
	rec.u.keyframe.threads = kt;
	rec.u.keyframe.ndigests = nd;
	rec.u.keyframe.digests = dg;
	return put(g, &rec, err);
}

static int thr_index(struct tg *g, uint32_t tid)
{
	for (uint32_t i = 0; i < g->nthr; i++)
		if (g->thr[i].tid == tid)
			return (int)i;
	return -1;
}

static strand_status apply_scheduled(struct tg *g, struct tg_event *e, strand_error *err)
{
	struct strand_record rec;
	memset(&rec, 0, sizeof rec);
	rec.position = pos_of(g, g->count);
	rec.tid = g->thr[g->cur].tid;
	switch (e->kind) {
	case TGE_SWITCH: {
		int ti = thr_index(g, e->tid);
		if (ti < 0)
			return strand_error_set(err, STRAND_ERR_INVALID, "tracegen: no tid %u", e->tid);
		switch_to(g, (uint32_t)ti);
		rec.type = STRAND_REC_THREAD_SWITCH;
		rec.tid = e->tid;
		return put(g, &rec, err);
	}
	case TGE_THREAD: {
		if (g->nthr == 16)
			return strand_error_set(err, STRAND_ERR_INVALID, "tracegen: too many threads");
		struct tg_thr *t = &g->thr[g->nthr++];
		memset(t, 0, sizeof *t);
		t->tid = e->tid;
		t->init = e->cpu;
		t->alive = true;
		rec.type = STRAND_REC_THREAD;
		rec.tid = e->tid;
		rec.u.thread.cpu = e->cpu;
		rec.u.thread.name = "";
		return put(g, &rec, err);
	}
	case TGE_WRITE: {
		struct tg_region *r = region_of(g, e->addr);
		if (!r || e->addr + e->len > r->addr + r->size)
			return strand_error_set(err, STRAND_ERR_INVALID, "tracegen: write outside");
		memcpy(r->host + (e->addr - r->addr), e->data, e->len);
		uc_ctl_remove_cache(g->uc, e->addr, e->addr + e->len);
		struct strand_memwrite mw = { .addr = e->addr, .len = e->len, .data = e->data };
		rec.type = STRAND_REC_MEMORY;
		rec.u.memory.nwrites = 1;
		rec.u.memory.writes = &mw;
		return put(g, &rec, err);
	}
	case TGE_KEYFRAME:
		return write_keyframe(g, err);
	case TGE_EXC: {
		struct strand_regval rv = { .reg = STRAND_REG_RIP, .value = e->addr };
		rec.type = STRAND_REC_EXCEPTION;
		rec.u.exception.kind = STRAND_EXC_EXCEPTION;
		rec.u.exception.code = e->size;
		rec.u.exception.pc = pc_get(g);
		rec.u.exception.fx.nregs = 1;
		rec.u.exception.fx.regs = &rv;
		pc_set(g, e->addr);
		return put(g, &rec, err);
	}
	case TGE_RAW: {
		struct strand_record c = *e->raw;
		c.position = rec.position;
		if (!c.tid)
			c.tid = rec.tid;
		if (c.type == STRAND_REC_THREAD_EXIT) {
			int ti = thr_index(g, c.tid);
			if (ti >= 0)
				g->thr[ti].alive = false;
		}
		return put(g, &c, err);
	}
	case TGE_MAP: {
		if (g->nregs == 64)
			return strand_error_set(err, STRAND_ERR_INVALID, "tracegen: too many regions");
		struct tg_region *r = &g->regs[g->nregs++];
		memset(r, 0, sizeof *r);
		r->addr = e->addr;
		r->size = e->size;
		r->prot = e->prot;
		r->kind = STRAND_REGION_ANON;
		r->host = mmap(NULL, e->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uc_mem_map_ptr(g->uc, e->addr, e->size, UC_PROT_ALL, r->host);
		struct strand_mapchange mc = { .op = STRAND_MAP_MAP, .prot = e->prot, .addr = e->addr,
					       .size = e->size, .kind = STRAND_REGION_ANON, .name = "" };
		rec.type = STRAND_REC_MEMORY;
		rec.u.memory.nmaps = 1;
		rec.u.memory.maps = &mc;
		return put(g, &rec, err);
	}
	}
	return STRAND_OK;
}

static void default_sys(struct tg *g, struct tg_syscall *s)
{
	bool is64 = g->is64;
	if ((is64 && (s->number == 60 || s->number == 231)) ||
	    (!is64 && (s->number == 1 || s->number == 252)))
		s->exit = true;
}

static strand_status handle_sensitive(struct tg *g, strand_error *err)
{
	uint64_t pc = g->stop_pc;
	struct tg_region *r = region_of(g, pc);
	const uint8_t *b = r->host + (pc - r->addr);
	struct strand_record rec;
	memset(&rec, 0, sizeof rec);
	rec.position = pos_of(g, g->count);
	rec.tid = g->thr[g->cur].tid;
	struct strand_regval rv[4];
	uint32_t nrv = 0;
	strand_status st;
	if ((b[0] == 0x0f && (b[1] == 0x05 || b[1] == 0x34)) || b[0] == 0xcd) {
		struct tg_syscall s;
		memset(&s, 0, sizeof s);
		s.pc = pc;
		s.number = (uint32_t)rd(g, 0);
		if (g->is64) {
			static const int a[6] = { 7, 6, 2, 10, 8, 9 };
			for (int i = 0; i < 6; i++)
				s.args[i] = rd(g, a[i]);
		} else if (g->o.abi == STRAND_ABI_WINDOWS_NT) {
			/* as the NT kernel reads them: 32-bit words at edx
			 * (int 0x2e) or edx + 8 (sysenter from KiFastSystemCall) */
			uint64_t base = rd(g, 2) + (b[0] == 0x0f ? 8 : 0);
			for (int i = 0; i < 6; i++) {
				uint32_t w = 0;
				uc_mem_read(g->uc, base + 4 * (uint64_t)i, &w, 4);
				s.args[i] = w;
			}
		} else {
			static const int a[6] = { 3, 1, 2, 6, 7, 5 };
			for (int i = 0; i < 6; i++)
				s.args[i] = rd(g, a[i]);
		}
		default_sys(g, &s);
		if (g->sys)
			g->sys(g, g->sys_ud, &s);
		if (s.exit) {
			g->exited = true;
			return STRAND_OK; /* not executed: the process ends here */
		}
		for (uint32_t i = 0; i < s.nwrites; i++) {
			struct tg_region *wr_ = region_of(g, s.writes[i].addr);
			if (!wr_)
				return strand_error_set(err, STRAND_ERR_INVALID, "tracegen: sys write");
			memcpy(wr_->host + (s.writes[i].addr - wr_->addr), s.writes[i].data,
			       s.writes[i].len);
			uc_ctl_remove_cache(g->uc, s.writes[i].addr,
					    s.writes[i].addr + s.writes[i].len);
		}
		wr(g, 0, s.result);
		rv[nrv].reg = STRAND_REG_RAX;
		rv[nrv++].value = s.result;
		rec.type = STRAND_REC_SYSCALL;
		rec.u.syscall.pc = pc;
		rec.u.syscall.number = s.number;
		rec.u.syscall.nargs = 6;
		memcpy(rec.u.syscall.args, s.args, sizeof s.args);
		rec.u.syscall.result = s.result;
		rec.u.syscall.fx.nregs = nrv;
		rec.u.syscall.fx.regs = rv;
		rec.u.syscall.fx.nwrites = s.nwrites;
		rec.u.syscall.fx.writes = s.writes;
		pc_set(g, pc + g->stop_len);
		st = put(g, &rec, err);
	} else {
		rec.type = STRAND_REC_NONDET;
		rec.u.nondet.pc = pc;
		if (b[1] == 0xa2) {
			rec.u.nondet.kind = STRAND_NONDET_CPUID;
			uint64_t v[4] = { 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 };
			static const uint32_t regs_[4] = { STRAND_REG_RAX, STRAND_REG_RBX,
							   STRAND_REG_RCX, STRAND_REG_RDX };
			for (int i = 0; i < 4; i++) {
				rv[nrv].reg = regs_[i];
				rv[nrv++].value = v[i];
				wr(g, (int)regs_[i], v[i]);
			}
		} else {
			rec.u.nondet.kind = b[1] == 0x31 ? STRAND_NONDET_RDTSC : STRAND_NONDET_RDTSCP;
			g->tsc += 1000 + g->count;
			rv[nrv].reg = STRAND_REG_RAX;
			rv[nrv++].value = g->tsc & 0xffffffffu;
			rv[nrv].reg = STRAND_REG_RDX;
			rv[nrv++].value = g->tsc >> 32;
			wr(g, 0, g->tsc & 0xffffffffu);
			wr(g, 2, g->tsc >> 32);
			if (rec.u.nondet.kind == STRAND_NONDET_RDTSCP) {
				rv[nrv].reg = STRAND_REG_RCX;
				rv[nrv++].value = 1;
				wr(g, 1, 1);
			}
		}
		rec.u.nondet.fx.nregs = nrv;
		rec.u.nondet.fx.regs = rv;
		pc_set(g, pc + g->stop_len);
		st = put(g, &rec, err);
	}
	g->count++;
	g->ordinal++;
	return st;
}

strand_status tg_run(struct tg *g, uint64_t max_insns, strand_error *err)
{
	strand_status st;
	if (g->nthr == 0)
		return strand_error_set(err, STRAND_ERR_INVALID, "tracegen: no thread");
	struct strand_record rec;
	memset(&rec, 0, sizeof rec);
	rec.type = STRAND_REC_SNAPSHOT_END;
	rec.tid = g->thr[0].tid;
	st = put(g, &rec, err);
	if (st != STRAND_OK)
		return st;
	g->cur = 0;
	cpu_load(g, &g->thr[0].init);
	gdt_fs(g, 0);
	g->thr[0].started = true;
	uc_hook h;
	uc_hook_add(g->uc, &h, UC_HOOK_CODE, (void *)hook_code, g, 1, 0);
	g->next_kf = g->o.keyframe_every ? g->o.keyframe_every : UINT64_MAX;
	while (!g->exited && g->count < max_insns) {
		/* scheduled events at this position */
		while (g->evi < g->nev && g->ev[g->evi].pos <= g->count) {
			st = apply_scheduled(g, &g->ev[g->evi], err);
			g->evi++;
			if (st != STRAND_OK)
				return st;
		}
		if (g->count >= g->next_kf) {
			st = write_keyframe(g, err);
			if (st != STRAND_OK)
				return st;
			g->next_kf += g->o.keyframe_every;
		}
		uint64_t next = max_insns;
		if (g->evi < g->nev && g->ev[g->evi].pos < next)
			next = g->ev[g->evi].pos;
		if (g->next_kf < next)
			next = g->next_kf;
		g->stop_at = next;
		g->stop_why = 0;
		uc_err e = uc_emu_start(g->uc, pc_get(g), 0, 0, 0);
		if (e != UC_ERR_OK)
			return strand_error_set(err, STRAND_ERR_EMULATOR,
						"tracegen: emulation failed at pc=0x%" PRIx64
						" position %" PRIu64 ": %s",
						pc_get(g), g->count, uc_strerror(e));
		if (g->stop_why == 2) {
			st = handle_sensitive(g, err);
			if (st != STRAND_OK)
				return st;
		} else if (g->stop_why == 0) {
			break; /* hlt: the end */
		}
	}
	if (!g->o.no_final_keyframe) {
		st = write_keyframe(g, err);
		if (st != STRAND_OK)
			return st;
	}
	memset(&rec, 0, sizeof rec);
	rec.type = STRAND_REC_PROCESS_EXIT;
	rec.tid = g->thr[g->cur].tid;
	rec.position = pos_of(g, g->count);
	return put(g, &rec, err);
}

uint64_t tg_position(const struct tg *g)
{
	return g->count;
}

static void tg_free(struct tg *g)
{
	for (uint32_t i = 0; i < g->nev; i++)
		free(g->ev[i].data);
	free(g->ev);
	for (uint32_t i = 0; i < g->nthr; i++)
		if (g->thr[i].ctx)
			uc_context_free(g->thr[i].ctx);
	if (g->uc)
		uc_close(g->uc);
	for (uint32_t i = 0; i < g->nregs; i++)
		munmap(g->regs[i].host, g->regs[i].size);
	free(g);
}

strand_status tg_close(struct tg *g, strand_error *err)
{
	strand_status st = strand_writer_close(g->w, err);
	tg_free(g);
	return st;
}

void tg_abort(struct tg *g)
{
	if (!g)
		return;
	strand_writer_abort(g->w);
	tg_free(g);
}

strand_status tg_asm(const char *src, uint8_t **out, size_t *len, strand_error *err)
{
	char in[] = "/tmp/strand-tg-XXXXXX";
	int fd = mkstemp(in);
	if (fd < 0)
		return strand_error_set(err, STRAND_ERR_IO, "tracegen: mkstemp");
	size_t sl = strlen(src);
	if (write(fd, src, sl) != (ssize_t)sl) {
		close(fd);
		unlink(in);
		return strand_error_set(err, STRAND_ERR_IO, "tracegen: write");
	}
	close(fd);
	char outp[64], cmd[256];
	snprintf(outp, sizeof outp, "%s.bin", in);
	snprintf(cmd, sizeof cmd, "nasm -f bin -o %s %s 2>&1", outp, in);
	int rc = system(cmd);
	unlink(in);
	if (rc != 0)
		return strand_error_set(err, STRAND_ERR_INVALID, "tracegen: nasm failed (%d)", rc);
	FILE *f = fopen(outp, "rb");
	if (!f)
		return strand_error_set(err, STRAND_ERR_IO, "tracegen: no nasm output");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*out = malloc(n > 0 ? (size_t)n : 1);
	*len = fread(*out, 1, (size_t)n, f);
	fclose(f);
	unlink(outp);
	return STRAND_OK;
}
