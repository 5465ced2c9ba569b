/*
 * strand report: the root-cause report (composed from the analyses'
 * results) and the renderers of result trees.
 */
#ifndef STRAND_REPORT_H
#define STRAND_REPORT_H

#include <stdio.h>

#include "strand/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Renderers and the report                                               */
/* ===================================================================== */

typedef enum strand_render_format {
	STRAND_RENDER_TEXT = 1,
	STRAND_RENDER_MARKDOWN = 2,
	STRAND_RENDER_JSON = 3,
	STRAND_RENDER_HTML = 4,
} strand_render_format;

/* "text", "markdown" (or "md"), "json", "html"; false if unknown. */
bool strand_render_format_parse(const char *s, strand_render_format *out);

/* Render the tree under `root` to `out`.  `title` heads text, Markdown
 * and HTML.  Deterministic: the same tree gives the same bytes. */
strand_status strand_render(const struct strand_rnode *root, strand_render_format fmt,
			    const char *title, FILE *out, strand_error *err);

struct strand_report_options {
	const char *const *plugins;      /* extra .so paths, NULL-terminated; may be NULL */
	const char *const *plugin_opts;  /* options of each (same length) or NULL */
	void (*progress)(void *ud, const char *label, uint64_t pos, uint64_t end);
	void *progress_ud;
	/* Knowledge-base files added after the one shipped with the program
	 * (knowledge/data/kb.txt format), NULL-terminated; may be NULL. */
	const char *const *kb_files;
	/* Budgets of every replay pass (strand_replay_options); 0 = defaults. */
	uint64_t max_instructions;
	uint64_t max_memory;
};

/* The root-cause report of `trace` into `res` (its root gets: trace,
 * verdict, symptom, root_cause, propagation, other_failures, hints,
 * timeline, analyses).  See docs/analyses.md and docs/report-schema.json. */
strand_status strand_report_build(const char *trace, const struct strand_report_options *opt,
				  struct strand_result *res, strand_error *err);

#ifdef __cplusplus
}
#endif
#endif /* STRAND_REPORT_H */
