/* Views of a trace for the `strand` command (cli/): the root-cause report
 * in its reading layout, the threads' activity for the page's timeline,
 * and exports to other tools' formats.  Part of report/ (uses analyses,
 * replay, formats). */
#ifndef STRAND_REPORT_VIEWS_H
#define STRAND_REPORT_VIEWS_H

#include <stdio.h>

#include "strand/analysis.h"

/* Threads' names, runs (from thread switches) and waits (a kernel call
 * after which another thread ran, until this one ran again), and modules,
 * read from the trace's records without replay, under `out` (an object):
 *   threads: [ {tid, name, runs: [ {from, to} ]} ], waits: [ {tid,
 *   position, syscall, until} ], modules: [ {name, base, size, loaded_at,
 *   path} ]
 * Bounded: 256 threads, 2000 runs per thread, 2000 waits. */
strand_status strand_activity_scan(const char *trace, struct strand_rnode *out,
				   strand_error *err);

enum {
	STRAND_VIEW_DETAILS = 1u << 0, /* text/Markdown: the full propagation too */
};

/* Render a report tree (strand_report_build) in its reading layout: text
 * and Markdown answer first, HTML as the report page (with `activity`
 * from strand_activity_scan drawn on the timeline; may be NULL), JSON as
 * the tree.  `flags`: STRAND_VIEW_*. */
strand_status strand_report_render(const struct strand_rnode *report,
				   const struct strand_rnode *activity, strand_render_format fmt,
				   const char *title, unsigned flags, FILE *out, strand_error *err);

/* ------------------------------------------------------------- exports */

typedef enum strand_export_format {
	STRAND_EXPORT_PERFETTO = 1, /* Chrome Trace Event JSON */
	STRAND_EXPORT_TENET = 2,    /* Tenet's text trace: register deltas, memory */
	STRAND_EXPORT_JSONL = 3,    /* one JSON object per event */
} strand_export_format;

/* "perfetto" (or "chrome"), "tenet", "jsonl"; false if unknown. */
bool strand_export_format_parse(const char *s, strand_export_format *out);

struct strand_export_options {
	uint64_t from;        /* first position (inclusive) */
	uint64_t to;          /* last position (exclusive); UINT64_MAX = end */
	uint64_t max_events;  /* perfetto, jsonl: at most this many events
				 (0 = 1,000,000); tenet: at most this many
				 instructions (0 = 1,000,000) */
	uint32_t tid;         /* tenet: the thread (0 = the first one to run in
				 the range); perfetto/jsonl: 0 = all */
	bool no_chain;        /* perfetto: skip the causal-chain pass */
	void (*progress)(void *ud, const char *label, uint64_t pos, uint64_t end);
	void *progress_ud;
};

/* Write `trace` in `fmt` to `out`.  On error nothing more is written
 * (what was written may be partial). */
strand_status strand_export(const char *trace, strand_export_format fmt,
			    const struct strand_export_options *opt, FILE *out, strand_error *err);

#endif
