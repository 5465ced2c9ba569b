/* calltab: the syscalls analysis's list of calls, read once into rows,
 * with the two lookups the report's rules make for every failed call:
 *   - retry: the next successful call of the same thread with the same
 *     name on the same object (for a call that names no object, the same
 *     first argument);
 *   - same last component: the successful calls of the same thread after
 *     a position whose object ends in the same last path component (the
 *     object used later, or found in another directory).
 * Both are hashed and sorted, so a report over a trace with thousands of
 * failed calls among hundreds of thousands stays linear-logarithmic (the
 * plain scans were quadratic: 'ls -lR' spent minutes in them). */
#ifndef STRAND_REPORT_CALLTAB_H
#define STRAND_REPORT_CALLTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "strand/result.h"
#include "strand/strand.h"

struct rc_call {
	const struct strand_rnode *node; /* the call's entry in the list */
	uint64_t pos, tid, arg0;
	const char *name, *obj;          /* borrowed from the list; obj "" if none */
	bool failed;
};

struct rc_calltab {
	struct rc_call *rows;            /* in list order (by position) */
	uint32_t n;
	struct rc_calltab_key *same;     /* successful rows by (retry key, position) */
	struct rc_calltab_key *base;     /* successful rows by (thread + last component, position) */
	uint32_t nsucc;
};

/* Rows of `calls` (the "calls" list of the syscalls analysis; may be
 * NULL: an empty table).  *t owned: rc_calltab_free. */
strand_status rc_calltab_build(const struct strand_rnode *calls, struct rc_calltab *t,
			       strand_error *err);
void rc_calltab_free(struct rc_calltab *t);

/* The first successful call after c that retries it, NULL if none. */
const struct rc_call *rc_calltab_retry(const struct rc_calltab *t, const struct rc_call *c);

/* The first successful call of c's thread after c and at or before
 * `limit` whose object has the same last component as c's and for which
 * pred(c, d, ud) holds; NULL if none. */
typedef bool (*rc_call_pred)(const struct rc_call *c, const struct rc_call *d, void *ud);
const struct rc_call *rc_calltab_same_last(const struct rc_calltab *t, const struct rc_call *c,
					   uint64_t limit, rc_call_pred pred, void *ud);

#endif
