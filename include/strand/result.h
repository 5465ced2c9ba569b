/*
 * strand results: the structured result tree that analyses fill and the
 * renderers draw (text, Markdown, JSON, HTML).  A tree of typed fields
 * (objects, lists, strings, numbers, hex values, positions, stacks).
 * No global mutable state: everything hangs off a `struct strand_result`.
 */
#ifndef STRAND_RESULT_H
#define STRAND_RESULT_H

#include "strand/strand.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Result tree                                                            */
/* ===================================================================== */

typedef enum strand_rkind {
	STRAND_R_OBJECT = 1,   /* named children in insertion order */
	STRAND_R_LIST = 2,     /* unnamed children */
	STRAND_R_STRING = 3,   /* v.s */
	STRAND_R_INT = 4,      /* v.i */
	STRAND_R_UINT = 5,     /* v.u */
	STRAND_R_HEX = 6,      /* v.u, shown as 0x...; a string in JSON */
	STRAND_R_BOOL = 7,     /* v.b */
	STRAND_R_POSITION = 8, /* v.u: a trace position (instructions) */
	STRAND_R_STACK = 9,    /* a list of frame objects {pc, symbol, ...},
				  innermost first */
} strand_rkind;

/* Display hints (strand_rnode.flags); renderers may ignore them. */
enum {
	STRAND_RF_ALERT = 1u << 0,   /* a failure: highlight it */
	STRAND_RF_NOTEXT = 1u << 1,  /* data for machines and pictures only
					(JSON, HTML timeline), skipped by text
					and Markdown */
	STRAND_RF_TIMELINE = 1u << 2,/* object with the call-depth timeline
					(see callstack plugin); HTML draws it */
	STRAND_RF_TABLE = 1u << 3,   /* list of flat objects: render as a table */
};

struct strand_result;

/* A node of a result tree.  Read-only for consumers; build it with the
 * strand_r_* functions.  Owned by its strand_result; valid until
 * strand_result_free(). */
struct strand_rnode {
	uint32_t kind;                /* strand_rkind */
	uint32_t flags;               /* STRAND_RF_* */
	const char *name;             /* key in the parent object; NULL in lists */
	union {
		const char *s;        /* STRING: never NULL */
		int64_t i;            /* INT */
		uint64_t u;           /* UINT, HEX, POSITION */
		bool b;               /* BOOL */
	} v;
	struct strand_rnode *parent;  /* NULL for the root */
	struct strand_rnode *first;   /* first child (OBJECT, LIST, STACK) */
	struct strand_rnode *last;
	struct strand_rnode *next;    /* next sibling */
	uint32_t nchildren;
	struct strand_result *owner;
};

/* New empty result whose root is an OBJECT.  Owned: strand_result_free.
 * Returns NULL on allocation failure. */
struct strand_result *strand_result_new(void);
void strand_result_free(struct strand_result *res); /* res may be NULL */
/* Borrowed root object. */
struct strand_rnode *strand_result_root(struct strand_result *res);
/* STRAND_OK, or STRAND_ERR_NOMEM if any builder call failed to allocate
 * (the builders then return NULL and ignore NULL parents, so a plugin need
 * not check every call). */
strand_status strand_result_status(const struct strand_result *res);

/* Builders.  Each appends a child to `parent` (an OBJECT: `name` is its
 * key and must not be NULL; a LIST or STACK: `name` is ignored) and
 * returns it (borrowed).  Strings are copied.  parent may be NULL: then
 * nothing happens and NULL is returned. */
struct strand_rnode *strand_r_object(struct strand_rnode *parent, const char *name);
struct strand_rnode *strand_r_list(struct strand_rnode *parent, const char *name);
struct strand_rnode *strand_r_string(struct strand_rnode *parent, const char *name,
				     const char *s);
struct strand_rnode *strand_r_stringf(struct strand_rnode *parent, const char *name,
				      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct strand_rnode *strand_r_int(struct strand_rnode *parent, const char *name, int64_t v);
struct strand_rnode *strand_r_uint(struct strand_rnode *parent, const char *name, uint64_t v);
struct strand_rnode *strand_r_hex(struct strand_rnode *parent, const char *name, uint64_t v);
struct strand_rnode *strand_r_bool(struct strand_rnode *parent, const char *name, bool v);
struct strand_rnode *strand_r_position(struct strand_rnode *parent, const char *name,
				       uint64_t pos);
/* Deep copy of `src` (from any result) under `parent` with key `name`
 * (NULL = keep src's name). */
struct strand_rnode *strand_r_copy(struct strand_rnode *parent, const char *name,
				   const struct strand_rnode *src);

/* Child of an object by key, or by a dotted path ("root_cause.status");
 * NULL if absent.  Borrowed. */
const struct strand_rnode *strand_rnode_get(const struct strand_rnode *n,
					    const char *path);
/* Scalar accessors with a default when the node is absent or of another
 * kind.  strand_rnode_str returns a borrowed string. */
const char *strand_rnode_str(const struct strand_rnode *n, const char *path,
			     const char *def);
uint64_t strand_rnode_u64(const struct strand_rnode *n, const char *path, uint64_t def);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_RESULT_H */
