/*
 * Record codec of the strand trace format: struct strand_record <-> bytes.
 * Payload layouts are specified in docs/trace-format.md ("Record
 * payloads"); the encoder and decoder below follow that section field by
 * field, in the same order.  Every count and length read from a file is
 * checked against the bytes left in the payload before anything is
 * allocated for it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/grow.h"
#include "formats/trace_format.h"

/* ===================================================================== */
/* Buffers and arena                                                      */
/* ===================================================================== */

bool tf_buf_reserve(struct tf_buf *b, size_t n)
{
	return strand_grow((void **)&b->p, &b->cap, b->len, n, 1, 4096);
}

void tf_buf_free(struct tf_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void *arena_alloc(struct tf_arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (n == 0)
		n = 8;
	if (a->cap - a->used < n) {
		size_t cap = a->cap ? a->cap * 2 : 16384;
		while (cap < n)
			cap *= 2;
		uint8_t *blk = malloc(cap);
		if (!blk)
			return NULL;
		if (a->blk) {
			if (!STRAND_GROW(a->old, a->capold, a->nold, 1)) {
				free(blk);
				return NULL;
			}
			a->old[a->nold++] = a->blk;
		}
		a->blk = blk;
		a->cap = cap;
		a->used = 0;
	}
	void *p = a->blk + a->used;
	a->used += n;
	return p;
}

void tf_arena_reset(struct tf_arena *a)
{
	for (size_t i = 0; i < a->nold; i++)
		free(a->old[i]);
	a->nold = 0;
	a->used = 0;
}

void tf_arena_free(struct tf_arena *a)
{
	tf_arena_reset(a);
	free(a->old);
	free(a->blk);
	memset(a, 0, sizeof *a);
}

/* ===================================================================== */
/* Chunk header                                                           */
/* ===================================================================== */

void tf_chunk_header_encode(uint8_t out[TF_CHUNK_HEADER_SIZE],
			    const struct tf_chunk_header *h)
{
	memcpy(out, TF_CHUNK_MAGIC, 4);
	tf_put32(out + 4, h->flags);
	tf_put32(out + 8, h->compressed);
	tf_put32(out + 12, h->uncompressed);
	tf_put32(out + 16, h->nrecords);
	tf_put32(out + 20, h->codec);
	tf_put64(out + 24, h->first_position);
	tf_put64(out + 32, h->last_position);
	tf_put64(out + 40, h->payload_hash);
	tf_put64(out + 48, XXH3_64bits(out, 48));
}

bool tf_chunk_header_decode(const uint8_t in[TF_CHUNK_HEADER_SIZE],
			    struct tf_chunk_header *h, char *why, size_t whylen)
{
	if (memcmp(in, TF_CHUNK_MAGIC, 4) != 0) {
		snprintf(why, whylen, "bad chunk magic (expected \"CHNK\", got %02x %02x %02x %02x)",
			 in[0], in[1], in[2], in[3]);
		return false;
	}
	uint64_t want = tf_get64(in + 48), got = XXH3_64bits(in, 48);
	if (want != got) {
		snprintf(why, whylen, "chunk header checksum mismatch (expected 0x%016" PRIx64
			 ", got 0x%016" PRIx64 ")", want, got);
		return false;
	}
	h->flags = tf_get32(in + 4);
	h->compressed = tf_get32(in + 8);
	h->uncompressed = tf_get32(in + 12);
	h->nrecords = tf_get32(in + 16);
	h->codec = tf_get32(in + 20);
	h->first_position = tf_get64(in + 24);
	h->last_position = tf_get64(in + 32);
	h->payload_hash = tf_get64(in + 40);
	if (h->codec != TF_CODEC_ZSTD) {
		snprintf(why, whylen, "unknown codec=%" PRIu32 " (expected 1 = zstd)", h->codec);
		return false;
	}
	if (h->uncompressed > TF_CHUNK_MAX_UNCOMPRESSED) {
		snprintf(why, whylen, "uncompressed size=%" PRIu32 " exceeds the limit %u",
			 h->uncompressed, TF_CHUNK_MAX_UNCOMPRESSED);
		return false;
	}
	if (h->uncompressed > (uint64_t)h->compressed * TF_ZSTD_MAX_RATIO) {
		snprintf(why, whylen, "uncompressed size=%" PRIu32 " exceeds what %" PRIu32
			 " compressed bytes can hold", h->uncompressed, h->compressed);
		return false;
	}
	if (h->nrecords == 0 ||
	    (uint64_t)h->nrecords * TF_RECORD_HEADER_SIZE > h->uncompressed) {
		snprintf(why, whylen, "nrecords=%" PRIu32 " does not fit uncompressed size=%" PRIu32,
			 h->nrecords, h->uncompressed);
		return false;
	}
	if (h->first_position > h->last_position) {
		snprintf(why, whylen, "first position=%" PRIu64 " > last position=%" PRIu64,
			 h->first_position, h->last_position);
		return false;
	}
	return true;
}

/* ===================================================================== */
/* Encoder                                                                */
/* ===================================================================== */

/* Encoding helpers append to a buffer already reserved by the caller. */
struct enc {
	struct tf_buf *b;
	bool ok;      /* false once an allocation failed or the record is too big */
	bool too_big; /* the record exceeds TF_RECORD_MAX */
};

static uint8_t *enc_room(struct enc *e, size_t n)
{
	if (e->ok && n > TF_RECORD_MAX) {
		e->ok = false;
		e->too_big = true;
	}
	if (!e->ok || !tf_buf_reserve(e->b, n)) {
		e->ok = false;
		return NULL;
	}
	uint8_t *p = e->b->p + e->b->len;
	e->b->len += n;
	return p;
}

static void e32(struct enc *e, uint32_t v)
{
	uint8_t *p = enc_room(e, 4);
	if (p)
		tf_put32(p, v);
}

static void e64(struct enc *e, uint64_t v)
{
	uint8_t *p = enc_room(e, 8);
	if (p)
		tf_put64(p, v);
}

static void ebytes(struct enc *e, const void *data, size_t len)
{
	uint8_t *p = enc_room(e, len);
	if (p && len) {
		if (data) /* NULL with len > 0 is refused by the checker */
			memcpy(p, data, len);
		else
			memset(p, 0, len);
	}
}

static void estr(struct enc *e, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	e32(e, (uint32_t)n);
	ebytes(e, s, n);
}

static void eblob(struct enc *e, const uint8_t *data, uint32_t len)
{
	e32(e, len);
	ebytes(e, data, len);
}

static void ecpu(struct enc *e, const struct strand_cpu *c)
{
	uint8_t *p = enc_room(e, TF_CPU_SIZE);
	if (!p)
		return;
	for (int i = 0; i < 16; i++)
		tf_put64(p + 8 * i, c->gpr[i]);
	tf_put64(p + 128, c->rip);
	tf_put64(p + 136, c->rflags);
	for (int i = 0; i < STRAND_SEG_COUNT; i++)
		tf_put16(p + 144 + 2 * i, c->sel[i]);
	tf_put32(p + 156, 0);
	tf_put64(p + 160, c->fs_base);
	tf_put64(p + 168, c->gs_base);
	tf_put64(p + 176, c->gdt_base);
	tf_put32(p + 184, c->gdt_limit);
	tf_put32(p + 188, 0);
	memcpy(p + 192, c->fxsave, 512);
}

static void emap(struct enc *e, const struct strand_mapchange *m)
{
	e32(e, m->op);
	e32(e, m->prot);
	e64(e, m->addr);
	e64(e, m->size);
	e32(e, m->kind);
	estr(e, m->name);
	if (m->data) {
		e32(e, 1);
		ebytes(e, m->data, (size_t)m->size);
	} else {
		e32(e, 0);
	}
}

static void efx(struct enc *e, const struct strand_effects *fx)
{
	e32(e, fx->cpu ? 1 : 0);
	if (fx->cpu)
		ecpu(e, fx->cpu);
	e32(e, fx->nregs);
	for (uint32_t i = 0; fx->regs && i < fx->nregs; i++) {
		e32(e, fx->regs[i].reg);
		e64(e, fx->regs[i].value);
	}
	e32(e, fx->nmaps);
	for (uint32_t i = 0; fx->maps && i < fx->nmaps; i++)
		emap(e, &fx->maps[i]);
	e32(e, fx->nwrites);
	for (uint32_t i = 0; fx->writes && i < fx->nwrites; i++) {
		e64(e, fx->writes[i].addr);
		eblob(e, fx->writes[i].data, fx->writes[i].len);
	}
}

static void epayload(struct enc *e, const struct strand_record *r)
{
	switch (r->type) {
	case STRAND_REC_MODULE: {
		const struct strand_module *m = &r->u.module;
		e32(e, m->id);
		e32(e, m->flags);
		e64(e, m->base);
		e64(e, m->size);
		e32(e, m->timestamp);
		e32(e, m->checksum);
		estr(e, m->name);
		estr(e, m->path);
		e32(e, m->nsyms);
		for (uint32_t i = 0; m->syms && i < m->nsyms; i++) {
			const struct strand_symbol *s = &m->syms[i];
			e64(e, s->addr);
			e64(e, s->size);
			e32(e, s->kind);
			estr(e, s->name);
			estr(e, s->demangled);
		}
		break;
	}
	case STRAND_REC_REGION:
		emap(e, &r->u.region);
		break;
	case STRAND_REC_THREAD:
		ecpu(e, &r->u.thread.cpu);
		e64(e, r->u.thread.stack_base);
		e64(e, r->u.thread.stack_limit);
		e64(e, r->u.thread.teb);
		estr(e, r->u.thread.name);
		break;
	case STRAND_REC_NOTE:
		estr(e, r->u.note.key);
		eblob(e, r->u.note.data, r->u.note.len);
		break;
	case STRAND_REC_SYSCALL: {
		const struct strand_syscall *s = &r->u.syscall;
		e64(e, s->pc);
		e32(e, s->number);
		e32(e, s->nargs);
		for (uint32_t i = 0; i < s->nargs && i < 8; i++)
			e64(e, s->args[i]);
		e64(e, s->result);
		efx(e, &s->fx);
		break;
	}
	case STRAND_REC_NONDET:
		e64(e, r->u.nondet.pc);
		e32(e, r->u.nondet.kind);
		efx(e, &r->u.nondet.fx);
		break;
	case STRAND_REC_THREAD_EXIT:
	case STRAND_REC_PROCESS_EXIT:
		e64(e, r->u.exit_code);
		break;
	case STRAND_REC_MEMORY:
		efx(e, &r->u.memory);
		break;
	case STRAND_REC_EXCEPTION: {
		const struct strand_exception *x = &r->u.exception;
		e32(e, x->kind);
		e32(e, x->flags);
		e64(e, x->code);
		e64(e, x->pc);
		e64(e, x->addr);
		efx(e, &x->fx);
		break;
	}
	case STRAND_REC_MODULE_UNLOAD:
		e32(e, r->u.module_id);
		break;
	case STRAND_REC_OUTPUT:
		e32(e, r->u.output.stream);
		eblob(e, r->u.output.data, r->u.output.len);
		break;
	case STRAND_REC_KEYFRAME: {
		const struct strand_keyframe *k = &r->u.keyframe;
		e32(e, k->nthreads);
		for (uint32_t i = 0; k->threads && i < k->nthreads; i++) {
			e32(e, k->threads[i].tid);
			ecpu(e, &k->threads[i].cpu);
		}
		e32(e, k->ndigests);
		for (uint32_t i = 0; k->digests && i < k->ndigests; i++) {
			e64(e, k->digests[i].addr);
			e64(e, k->digests[i].size);
			e64(e, k->digests[i].hash);
		}
		break;
	}
	default: /* SNAPSHOT_END, THREAD_SWITCH: empty payload */
		break;
	}
}

strand_status tf_record_encode(struct tf_buf *b, const struct strand_record *rec,
			       strand_error *err)
{
	size_t start = b->len;
	struct enc e = { b, true, false };
	uint8_t *h = enc_room(&e, TF_RECORD_HEADER_SIZE);
	if (h) {
		tf_put16(h, (uint16_t)rec->type);
		tf_put16(h + 2, 0);
		tf_put32(h + 4, rec->tid);
		tf_put64(h + 8, rec->position);
	}
	epayload(&e, rec);
	size_t len = b->len - start;
	if (e.too_big || len > TF_RECORD_MAX) {
		b->len = start;
		return strand_error_set(err, STRAND_ERR_INVALID,
					"record exceeds the limit of %u bytes "
					"(split large regions into several records)",
					TF_RECORD_MAX);
	}
	if (!e.ok) {
		b->len = start;
		return strand_error_set(err, STRAND_ERR_NOMEM,
					"cannot encode record: out of memory");
	}
	tf_put32(b->p + start + 16, (uint32_t)(len - TF_RECORD_HEADER_SIZE));
	return STRAND_OK;
}

/* ===================================================================== */
/* Decoder                                                                */
/* ===================================================================== */

struct dec {
	const uint8_t *p;
	size_t left;
	struct tf_arena *a;
	strand_error *err;
	strand_status st; /* first failure, STRAND_OK while fine */
	const char *what; /* record type name for messages */
};

static bool dfail(struct dec *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool dfail(struct dec *d, const char *fmt, ...)
{
	if (d->st != STRAND_OK)
		return false;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	d->st = strand_error_set(d->err, STRAND_ERR_CORRUPT, "%s: %s", d->what, msg);
	return false;
}

static const uint8_t *dtake(struct dec *d, size_t n, const char *field)
{
	if (d->st != STRAND_OK)
		return NULL;
	if (n > d->left) {
		dfail(d, "%s needs %zu bytes but only %zu remain in the payload", field, n,
		      d->left);
		return NULL;
	}
	const uint8_t *p = d->p;
	d->p += n;
	d->left -= n;
	return p;
}

static uint32_t d32(struct dec *d, const char *field)
{
	const uint8_t *p = dtake(d, 4, field);
	return p ? tf_get32(p) : 0;
}

static uint64_t d64(struct dec *d, const char *field)
{
	const uint8_t *p = dtake(d, 8, field);
	return p ? tf_get64(p) : 0;
}

static void *dalloc(struct dec *d, size_t n)
{
	if (d->st != STRAND_OK)
		return NULL;
	void *p = arena_alloc(d->a, n);
	if (!p) {
		d->st = strand_error_set(d->err, STRAND_ERR_NOMEM,
					 "%s: cannot allocate %zu bytes", d->what, n);
	}
	return p;
}

/* Count read from the file, checked against the bytes left given the
 * smallest encoding of one element; returns false (and fails) if absurd. */
static bool dcount(struct dec *d, uint32_t n, size_t min_each, const char *field)
{
	if (d->st != STRAND_OK)
		return false;
	if ((uint64_t)n * min_each > d->left)
		return dfail(d, "%s=%" PRIu32 " needs at least %" PRIu64
			     " bytes but only %zu remain in the payload",
			     field, n, (uint64_t)n * min_each, d->left);
	return true;
}

static const char *dstr(struct dec *d, const char *field)
{
	uint32_t n = d32(d, field);
	const uint8_t *s = dtake(d, n, field);
	if (!s)
		return "";
	if (n == 0)
		return "";
	if (memchr(s, 0, n)) {
		dfail(d, "%s contains a NUL byte", field);
		return "";
	}
	char *out = dalloc(d, (size_t)n + 1);
	if (!out)
		return "";
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

static const uint8_t *dblob(struct dec *d, uint32_t *len, const char *field)
{
	uint32_t n = d32(d, field);
	const uint8_t *s = dtake(d, n, field);
	*len = s ? n : 0;
	return s && n ? s : NULL;
}

static void dcpu(struct dec *d, struct strand_cpu *c)
{
	const uint8_t *p = dtake(d, TF_CPU_SIZE, "cpu context");
	if (!p)
		return;
	for (int i = 0; i < 16; i++)
		c->gpr[i] = tf_get64(p + 8 * i);
	c->rip = tf_get64(p + 128);
	c->rflags = tf_get64(p + 136);
	for (int i = 0; i < STRAND_SEG_COUNT; i++)
		c->sel[i] = tf_get16(p + 144 + 2 * i);
	c->pad0[0] = c->pad0[1] = 0;
	c->fs_base = tf_get64(p + 160);
	c->gs_base = tf_get64(p + 168);
	c->gdt_base = tf_get64(p + 176);
	c->gdt_limit = tf_get32(p + 184);
	c->pad1 = 0;
	memcpy(c->fxsave, p + 192, 512);
}

#define MAP_MIN_SIZE 36u /* op prot addr size kind namelen hasdata */

static void dmap(struct dec *d, struct strand_mapchange *m)
{
	m->op = d32(d, "map op");
	m->prot = d32(d, "prot");
	m->addr = d64(d, "addr");
	m->size = d64(d, "size");
	m->kind = d32(d, "kind");
	m->name = dstr(d, "name");
	uint32_t has = d32(d, "has_data");
	m->data = NULL;
	if (d->st != STRAND_OK)
		return;
	if (has > 1) {
		dfail(d, "has_data=%" PRIu32 " (expected 0 or 1)", has);
		return;
	}
	if (has) {
		if (m->size > d->left) {
			dfail(d, "region data of size=%" PRIu64
			      " exceeds the %zu bytes left in the payload", m->size, d->left);
			return;
		}
		m->data = dtake(d, (size_t)m->size, "region data");
	}
}

static void dfx(struct dec *d, struct strand_effects *fx)
{
	memset(fx, 0, sizeof *fx);
	uint32_t has_cpu = d32(d, "has_cpu");
	if (has_cpu > 1) {
		dfail(d, "has_cpu=%" PRIu32 " (expected 0 or 1)", has_cpu);
		return;
	}
	if (has_cpu) {
		struct strand_cpu *c = dalloc(d, sizeof *c);
		if (!c)
			return;
		dcpu(d, c);
		fx->cpu = c;
	}
	uint32_t n = d32(d, "nregs");
	if (!dcount(d, n, 12, "nregs"))
		return;
	struct strand_regval *regs = dalloc(d, (size_t)n * sizeof *regs);
	if (!regs)
		return;
	for (uint32_t i = 0; i < n; i++) {
		regs[i].reg = d32(d, "reg");
		regs[i].value = d64(d, "reg value");
	}
	fx->nregs = n;
	fx->regs = regs;

	n = d32(d, "nmaps");
	if (!dcount(d, n, MAP_MIN_SIZE, "nmaps"))
		return;
	struct strand_mapchange *maps = dalloc(d, (size_t)n * sizeof *maps);
	if (!maps)
		return;
	for (uint32_t i = 0; i < n && d->st == STRAND_OK; i++)
		dmap(d, &maps[i]);
	fx->nmaps = n;
	fx->maps = maps;

	n = d32(d, "nwrites");
	if (!dcount(d, n, 12, "nwrites"))
		return;
	struct strand_memwrite *w = dalloc(d, (size_t)n * sizeof *w);
	if (!w)
		return;
	for (uint32_t i = 0; i < n && d->st == STRAND_OK; i++) {
		w[i].addr = d64(d, "write addr");
		w[i].data = dblob(d, &w[i].len, "write data");
	}
	fx->nwrites = n;
	fx->writes = w;
}

static void dpayload(struct dec *d, struct strand_record *r)
{
	switch (r->type) {
	case STRAND_REC_MODULE: {
		struct strand_module *m = &r->u.module;
		m->id = d32(d, "id");
		m->flags = d32(d, "flags");
		m->base = d64(d, "base");
		m->size = d64(d, "size");
		m->timestamp = d32(d, "timestamp");
		m->checksum = d32(d, "checksum");
		m->name = dstr(d, "name");
		m->path = dstr(d, "path");
		uint32_t n = d32(d, "nsyms");
		if (!dcount(d, n, 28, "nsyms"))
			return;
		struct strand_symbol *s = dalloc(d, (size_t)n * sizeof *s);
		if (!s)
			return;
		for (uint32_t i = 0; i < n && d->st == STRAND_OK; i++) {
			s[i].addr = d64(d, "symbol addr");
			s[i].size = d64(d, "symbol size");
			s[i].kind = d32(d, "symbol kind");
			s[i].name = dstr(d, "symbol name");
			s[i].demangled = dstr(d, "symbol demangled name");
		}
		m->nsyms = n;
		m->syms = s;
		break;
	}
	case STRAND_REC_REGION:
		dmap(d, &r->u.region);
		break;
	case STRAND_REC_THREAD:
		dcpu(d, &r->u.thread.cpu);
		r->u.thread.stack_base = d64(d, "stack_base");
		r->u.thread.stack_limit = d64(d, "stack_limit");
		r->u.thread.teb = d64(d, "teb");
		r->u.thread.name = dstr(d, "name");
		break;
	case STRAND_REC_NOTE:
		r->u.note.key = dstr(d, "key");
		r->u.note.data = dblob(d, &r->u.note.len, "data");
		break;
	case STRAND_REC_SYSCALL: {
		struct strand_syscall *s = &r->u.syscall;
		s->pc = d64(d, "pc");
		s->number = d32(d, "number");
		s->nargs = d32(d, "nargs");
		if (d->st == STRAND_OK && s->nargs > 8) {
			dfail(d, "nargs=%" PRIu32 " exceeds 8", s->nargs);
			return;
		}
		for (uint32_t i = 0; i < s->nargs; i++)
			s->args[i] = d64(d, "arg");
		s->result = d64(d, "result");
		dfx(d, &s->fx);
		break;
	}
	case STRAND_REC_NONDET:
		r->u.nondet.pc = d64(d, "pc");
		r->u.nondet.kind = d32(d, "kind");
		dfx(d, &r->u.nondet.fx);
		break;
	case STRAND_REC_THREAD_EXIT:
	case STRAND_REC_PROCESS_EXIT:
		r->u.exit_code = d64(d, "exit code");
		break;
	case STRAND_REC_MEMORY:
		dfx(d, &r->u.memory);
		break;
	case STRAND_REC_EXCEPTION: {
		struct strand_exception *x = &r->u.exception;
		x->kind = d32(d, "kind");
		x->flags = d32(d, "flags");
		x->code = d64(d, "code");
		x->pc = d64(d, "pc");
		x->addr = d64(d, "addr");
		dfx(d, &x->fx);
		break;
	}
	case STRAND_REC_MODULE_UNLOAD:
		r->u.module_id = d32(d, "module id");
		break;
	case STRAND_REC_OUTPUT:
		r->u.output.stream = d32(d, "stream");
		r->u.output.data = dblob(d, &r->u.output.len, "data");
		break;
	case STRAND_REC_KEYFRAME: {
		struct strand_keyframe *k = &r->u.keyframe;
		uint32_t n = d32(d, "nthreads");
		if (!dcount(d, n, 4 + TF_CPU_SIZE, "nthreads"))
			return;
		struct strand_keyframe_thread *t = dalloc(d, (size_t)n * sizeof *t);
		if (!t)
			return;
		for (uint32_t i = 0; i < n && d->st == STRAND_OK; i++) {
			t[i].tid = d32(d, "thread tid");
			dcpu(d, &t[i].cpu);
		}
		k->nthreads = n;
		k->threads = t;
		n = d32(d, "ndigests");
		if (!dcount(d, n, 24, "ndigests"))
			return;
		struct strand_digest *g = dalloc(d, (size_t)n * sizeof *g);
		if (!g)
			return;
		for (uint32_t i = 0; i < n; i++) {
			g[i].addr = d64(d, "digest addr");
			g[i].size = d64(d, "digest size");
			g[i].hash = d64(d, "digest hash");
		}
		k->ndigests = n;
		k->digests = g;
		break;
	}
	case STRAND_REC_SNAPSHOT_END:
	case STRAND_REC_THREAD_SWITCH:
		break;
	default:
		dfail(d, "unknown record type %" PRIu32, r->type);
		break;
	}
}

strand_status tf_record_decode(struct strand_record *rec, const uint8_t *p,
			       size_t len, struct tf_arena *a,
			       bool tolerate_trailing, strand_error *err)
{
	struct dec d = { p, len, a, err, STRAND_OK, strand_rec_type_str(rec->type) };
	memset(&rec->u, 0, sizeof rec->u);
	dpayload(&d, rec);
	if (d.st == STRAND_OK && d.left && !tolerate_trailing)
		dfail(&d, "%zu unexpected bytes after the last field", d.left);
	return d.st;
}
