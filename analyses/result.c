/* The result tree: see include/strand/analysis.h ("Result tree").
 *
 * Nodes and their strings live in an arena owned by the strand_result:
 * blocks of ARENA_BLOCK bytes (or one block per oversized string), freed
 * together by strand_result_free. */
#include "strand/analysis.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 65536

struct arena_block {
	struct arena_block *next;
	size_t used; /* bytes of data[] handed out, <= cap */
	size_t cap;
	max_align_t data[];
};

struct strand_result {
	struct arena_block *blocks; /* newest first */
	struct strand_rnode *root;
	bool oom;                   /* a builder failed to allocate */
};

static void *arena_alloc(struct strand_result *res, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct arena_block *b = res->blocks;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = malloc(sizeof *b + cap);
		if (!b) {
			res->oom = true;
			return NULL;
		}
		b->cap = cap;
		b->used = 0;
		b->next = res->blocks;
		res->blocks = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

static const char *arena_strdup(struct strand_result *res, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = arena_alloc(res, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

struct strand_result *strand_result_new(void)
{
	struct strand_result *res = calloc(1, sizeof *res);
	if (!res)
		return NULL;
	res->root = arena_alloc(res, sizeof *res->root);
	if (!res->root) {
		free(res);
		return NULL;
	}
	res->root->kind = STRAND_R_OBJECT;
	res->root->owner = res;
	return res;
}

void strand_result_free(struct strand_result *res)
{
	if (!res)
		return;
	struct arena_block *b = res->blocks;
	while (b) {
		struct arena_block *n = b->next;
		free(b);
		b = n;
	}
	free(res);
}

struct strand_rnode *strand_result_root(struct strand_result *res)
{
	return res ? res->root : NULL;
}

strand_status strand_result_status(const struct strand_result *res)
{
	return res && !res->oom ? STRAND_OK : STRAND_ERR_NOMEM;
}

/* Append a new node of `kind` to parent (NULL-tolerant). */
static struct strand_rnode *add(struct strand_rnode *parent, const char *name,
				uint32_t kind)
{
	if (!parent)
		return NULL;
	struct strand_result *res = parent->owner;
	struct strand_rnode *n = arena_alloc(res, sizeof *n);
	if (!n)
		return NULL;
	n->kind = kind;
	n->owner = res;
	n->parent = parent;
	if (parent->kind == STRAND_R_OBJECT) {
		n->name = arena_strdup(res, name ? name : "");
		if (!n->name)
			return NULL;
	}
	if (parent->last)
		parent->last->next = n;
	else
		parent->first = n;
	parent->last = n;
	parent->nchildren++;
	return n;
}

struct strand_rnode *strand_r_object(struct strand_rnode *p, const char *name)
{
	return add(p, name, STRAND_R_OBJECT);
}

struct strand_rnode *strand_r_list(struct strand_rnode *p, const char *name)
{
	return add(p, name, STRAND_R_LIST);
}

struct strand_rnode *strand_r_string(struct strand_rnode *p, const char *name,
				     const char *s)
{
	struct strand_rnode *n = add(p, name, STRAND_R_STRING);
	if (!n)
		return NULL;
	n->v.s = arena_strdup(n->owner, s ? s : "");
	if (!n->v.s)
		n->v.s = "";
	return n;
}

struct strand_rnode *strand_r_stringf(struct strand_rnode *p, const char *name,
				      const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return strand_r_string(p, name, buf);
}

struct strand_rnode *strand_r_int(struct strand_rnode *p, const char *name, int64_t v)
{
	struct strand_rnode *n = add(p, name, STRAND_R_INT);
	if (n)
		n->v.i = v;
	return n;
}

static struct strand_rnode *add_u(struct strand_rnode *p, const char *name,
				  uint32_t kind, uint64_t v)
{
	struct strand_rnode *n = add(p, name, kind);
	if (n)
		n->v.u = v;
	return n;
}

struct strand_rnode *strand_r_uint(struct strand_rnode *p, const char *name, uint64_t v)
{
	return add_u(p, name, STRAND_R_UINT, v);
}

struct strand_rnode *strand_r_hex(struct strand_rnode *p, const char *name, uint64_t v)
{
	return add_u(p, name, STRAND_R_HEX, v);
}

struct strand_rnode *strand_r_position(struct strand_rnode *p, const char *name,
				       uint64_t v)
{
	return add_u(p, name, STRAND_R_POSITION, v);
}

struct strand_rnode *strand_r_bool(struct strand_rnode *p, const char *name, bool v)
{
	struct strand_rnode *n = add(p, name, STRAND_R_BOOL);
	if (n)
		n->v.b = v;
	return n;
}

struct strand_rnode *strand_r_copy(struct strand_rnode *p, const char *name,
				   const struct strand_rnode *src)
{
	if (!p || !src)
		return NULL;
	struct strand_rnode *n;
	if (src->kind == STRAND_R_STRING) {
		n = strand_r_string(p, name ? name : src->name, src->v.s);
	} else {
		n = add(p, name ? name : src->name, src->kind);
		if (n)
			n->v = src->v;
	}
	if (!n)
		return NULL;
	n->flags = src->flags;
	for (const struct strand_rnode *c = src->first; c; c = c->next)
		strand_r_copy(n, c->name, c);
	return n;
}

const struct strand_rnode *strand_rnode_get(const struct strand_rnode *n,
					    const char *path)
{
	if (!n || !path)
		return NULL;
	while (*path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		const struct strand_rnode *c = NULL;
		if (n->kind == STRAND_R_OBJECT) {
			for (c = n->first; c; c = c->next)
				if (c->name && strlen(c->name) == len &&
				    !memcmp(c->name, path, len))
					break;
		}
		if (!c)
			return NULL;
		n = c;
		path += len + (dot ? 1 : 0);
	}
	return n;
}

const char *strand_rnode_str(const struct strand_rnode *n, const char *path,
			     const char *def)
{
	const struct strand_rnode *c = strand_rnode_get(n, path);
	return c && c->kind == STRAND_R_STRING ? c->v.s : def;
}

uint64_t strand_rnode_u64(const struct strand_rnode *n, const char *path, uint64_t def)
{
	const struct strand_rnode *c = strand_rnode_get(n, path);
	if (!c)
		return def;
	switch (c->kind) {
	case STRAND_R_UINT:
	case STRAND_R_HEX:
	case STRAND_R_POSITION:
		return c->v.u;
	case STRAND_R_INT:
		return (uint64_t)c->v.i;
	case STRAND_R_BOOL:
		return c->v.b;
	default:
		return def;
	}
}

void strand_stack_free(struct strand_stack *s)
{
	if (!s)
		return;
	free(s->frames);
	free(s);
}

struct strand_rnode *strand_r_stack(struct strand_rnode *parent, const char *name,
				    const struct strand_stack *s)
{
	struct strand_rnode *st = add(parent, name, STRAND_R_STACK);
	if (!st || !s)
		return st;
	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct strand_frame *f = &s->frames[i];
		struct strand_rnode *fr = strand_r_object(st, NULL);
		strand_r_uint(fr, "index", i);
		strand_r_hex(fr, "pc", f->pc);
		strand_r_string(fr, "symbol", f->symbol);
		if (f->call_pos)
			strand_r_position(fr, "call_position", f->call_pos);
		if (s->fp_disagree_at >= 0 && (uint32_t)s->fp_disagree_at == i)
			strand_r_string(fr, "frame_chain", s->fp_note);
	}
	return st;
}
