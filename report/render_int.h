/* Private to report/: helpers shared by the renderers.
 *
 *   render.c         generic result trees (any analysis) in four formats
 *   render_report.c  the root-cause report as text and Markdown, answer first
 *   render_html.c    the root-cause report as one self-contained HTML page
 *   svg.c            the page's pictures: causal chain, timeline
 *   chain.c          the causal chain folded to a few links (all formats)
 *
 * Every string that comes from a trace is escaped for its sink with
 * strand/escape.h: terminal text (control bytes and invalid UTF-8 shown as
 * \xNN), Markdown (markup characters as entities, punctuation
 * backslash-escaped), HTML (markup characters as entities, control bytes
 * as \xNN). */
#ifndef STRAND_REPORT_RENDER_INT_H
#define STRAND_REPORT_RENDER_INT_H

#include <stdio.h>

#include "strand/analysis.h"

/* "root_cause" -> "root cause" into buf (truncated to len). */
void strand_render_label(const char *name, char *buf, size_t len);
bool strand_render_is_scalar(const struct strand_rnode *n);
/* Scalar value as text ("0x2", "@32160", "yes"). */
void strand_render_scalar_str(const struct strand_rnode *n, char *buf, size_t len);
/* One frame object of a STACK as "#i  0xpc  symbol  [frame chain: ...]". */
void strand_render_frame_str(const struct strand_rnode *f, char *buf, size_t len);

/* Escapers: write s to out for the sink.  s may be NULL (nothing). */
void strand_render_text_esc(const char *s, FILE *out);
void strand_render_md_esc(const char *s, FILE *out);
void strand_render_html_esc(const char *s, FILE *out);

/* Generic tree walkers of render.c, reused for report fields the report
 * layout does not know (new fields stay visible). */
void strand_render_text_node(const struct strand_rnode *n, int depth, bool in_list, FILE *out);
void strand_render_md_section(const struct strand_rnode *n, int level, FILE *out);
void strand_render_html_node(const struct strand_rnode *n, int level, FILE *out);

/* ------------------------------------------------------ the causal chain */

enum strand_link_kind {
	STRAND_LINK_ORIGIN = 1,      /* the kernel call (or other origin) */
	STRAND_LINK_TRANSLATION = 2, /* a function that changed the value */
	STRAND_LINK_SYMPTOM = 3,     /* what the user saw */
};

/* One link of the folded chain.  Strings are borrowed from the report
 * tree (valid while it lives) or point into `where_buf`. */
struct strand_link {
	unsigned kind;             /* strand_link_kind */
	uint64_t position;         /* of the step (origin: the kernel call) */
	uint64_t tid;
	bool has_value;
	uint64_t value;            /* value after the link */
	bool has_from;
	uint64_t from;             /* value before it (translations) */
	const char *title;         /* origin: syscall; translation: function;
				      symptom: kind */
	const char *object;        /* origin: object named; else NULL */
	const char *instruction;   /* translation: the instruction that produced
				      the value, NULL otherwise */
	const char *what;          /* "value loaded from a constant table", or NULL */
	const char *meaning;       /* status name/meaning of the value, or NULL */
	const char *detail;        /* symptom: its description; else NULL */
	uint32_t step;             /* index of the step in the propagation
				      (anchor "step-N"); UINT32_MAX if none */
	bool kernel;               /* origin: a kernel call (its value is a result) */
	uint32_t through;          /* functions passed with the value unchanged
				      before this link */
	char where_buf[160];       /* storage for `title` when derived */
};

/* Fold the report's causal chain into at most `max` links (origin, each
 * translation, symptom): the propagation that reaches the primary
 * symptom, steps grouped by function, a group kept when it changed the
 * value.  Returns the number of links written (0: no chain in the
 * report); *elided gets how many translations did not fit. */
uint32_t strand_render_chain(const struct strand_rnode *report, struct strand_link *links,
			     uint32_t max, uint32_t *elided);
/* The propagation (chain object with "steps") the folded chain is made
 * of, or NULL. */
const struct strand_rnode *strand_render_chain_source(const struct strand_rnode *report);

/* -------------------------------------------------------------- pictures */

/* The causal chain as an SVG of boxes linked by arrows; each box is a
 * link to #root-cause, #step-N or #symptom. */
void strand_svg_chain(const struct strand_link *links, uint32_t n, uint32_t elided, FILE *out);
/* The timeline: one lane per thread (call depth over positions), marks of
 * the root cause, the symptom and failed calls, thread runs and waits
 * from `activity` (may be NULL), axis ticks in positions, a <title> on
 * every mark. */
void strand_svg_timeline(const struct strand_rnode *timeline, const struct strand_rnode *report,
			 const struct strand_rnode *activity,
			 FILE *out);

/* The report page (render_html.c). */
void strand_render_report_html(const struct strand_rnode *report,
			       const struct strand_rnode *activity, const char *title, FILE *out);
/* The report as text / Markdown, answer first (render_report.c). */
void strand_render_report_text(const struct strand_rnode *report, const char *title,
			       bool details, FILE *out);
void strand_render_report_md(const struct strand_rnode *report, const char *title,
			     bool details, FILE *out);

#endif
