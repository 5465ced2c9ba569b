/*
 * Scenario files: the parsed form of docs/scenarios.md.  Private to
 * record/winemu.
 */
#ifndef STRAND_WINEMU_SCENARIO_H
#define STRAND_WINEMU_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strand/strand.h"

/* Bytes owned by the scenario. */
struct wscn_data {
	uint8_t *bytes; /* NULL iff len == 0 */
	size_t len;
};

enum wscn_state {
	WSCN_STATE_OK = 0,
	WSCN_STATE_ABSENT,
	WSCN_STATE_UNLOAD_PENDING,
	WSCN_STATE_ACCESS_DENIED,
	WSCN_STATE_SHARING_VIOLATION,
};

enum wscn_sink { WSCN_SINK_NONE = 0, WSCN_SINK_DEBUG, WSCN_SINK_SERVICE };

struct wscn_ioctl {
	uint32_t code;
	uint32_t status;       /* NTSTATUS */
	struct wscn_data out;  /* copied to the output buffer */
};

struct wscn_device {
	char *name;            /* canonical NT name (see wscn_canon_name) */
	int state;             /* enum wscn_state (ok/absent/unload-pending/access-denied) */
	uint32_t open_status;  /* what an open returns; from state or `open_status` */
	int sink;              /* enum wscn_sink */
	struct wscn_ioctl *ioctls;
	size_t nioctls;
	uint32_t ioctl_default;
	struct wscn_data read; /* consumed in order across reads */
	uint32_t write_status;
};

struct wscn_file {
	char *name;
	struct wscn_data data;
	int state;             /* ok / access-denied / sharing-violation */
	bool writable;
};

struct wscn_value {
	char *name;            /* "" = default value (`@`) */
	uint32_t type;         /* REG_* */
	struct wscn_data data; /* as stored (UTF-16LE for strings) */
};

struct wscn_key {
	char *name;            /* canonical, e.g. \Registry\Machine\SYSTEM */
	bool denied;
	bool implicit;         /* ancestor of a declared key, not declared */
	struct wscn_value *values;
	size_t nvalues;
};

struct wscn_event {
	char *name;
	bool synchronization;
	bool signaled;
};

struct wscn_link {
	char *name;
	char *target;
};

#define WSCN_SERVICE_NAME_MAX 256 /* characters of a service name, as the SCM limits them */

/* A service the service control manager knows ([service NAME]): what the
 * svcctl peer (svcctl.c) answers for it and the orders it sends. */
struct wscn_service {
	char *name;            /* service name (printable ASCII, compared case-insensitively) */
	uint32_t type;         /* SERVICE_* type the SCM reports (default 0x20, share process) */
	bool start;            /* start it when the process's dispatcher connects (default yes) */
	uint32_t *controls;    /* control codes sent once it reports SERVICE_RUNNING, in order */
	size_t ncontrols;
};

struct wscn_process {
	char *image;           /* file name in the module directory */
	char *modules;         /* directory, resolved against the scenario's */
	char *image_path;      /* Win32 path */
	char *dll_path;
	char *command_line;
	uint32_t pid;
	uint32_t *tids;        /* creation order; ntids >= 1 */
	size_t ntids;
	uint32_t quantum;          /* instructions, > 0 */
	uint64_t keyframe_interval;/* instructions, > 0 */
	uint64_t max_instructions; /* > 0 */
	uint64_t system_time;      /* 100 ns units since 1601-01-01 UTC */
	uint64_t ips;              /* instructions per virtual second, > 0 */
	uint64_t perf_frequency;   /* Hz, > 0 */
	uint32_t stack_size;       /* bytes, 0 = from the image */
	uint32_t heap_size;        /* bytes, page multiple, > 0 */
	char *system_dlls;         /* directory of real system DLLs (resolved), NULL = stand-ins */
	char *nls_dir;             /* directory of locale data (*.nls, resolved), NULL = none */
};

/* A parsed scenario.  Owns everything it points to. */
struct wscn {
	char *path;            /* as given */
	char *dir;             /* directory of path ("." if none) */
	char *text;            /* the file's bytes, NUL-terminated */
	size_t text_len;
	struct wscn_process proc;
	struct wscn_device *devices; size_t ndevices;
	struct wscn_file *files;     size_t nfiles;
	struct wscn_key *keys;       size_t nkeys;
	struct wscn_event *events;   size_t nevents;
	struct wscn_link *links;     size_t nlinks;
	struct wscn_service *services; size_t nservices;
};

/* Parse the scenario file at `path`.  *out is owned by the caller
 * (wscn_free).  Errors are "PATH:LINE: message". */
strand_status wscn_load(const char *path, struct wscn **out, strand_error *err);

/* Parse scenario text held in memory (`name` is used in messages, `dir`
 * resolves relative paths).  `text` need not be NUL-terminated. */
strand_status wscn_parse(const char *name, const char *dir, const char *text,
			 size_t len, struct wscn **out, strand_error *err);

/* How a scenario may reach the host.  A scenario is input from others:
 * by default `file:` data is confined to the scenario's directory. */
struct wscn_parse_options {
	bool allow_host_files; /* `file:` may name any host file (absolute, ../) */
};
/* wscn_load / wscn_parse with options (`opt` may be NULL: defaults). */
strand_status wscn_load_opts(const char *path, const struct wscn_parse_options *opt,
			     struct wscn **out, strand_error *err);
strand_status wscn_parse_opts(const char *name, const char *dir, const char *text,
			      size_t len, const struct wscn_parse_options *opt,
			      struct wscn **out, strand_error *err);

void wscn_free(struct wscn *s); /* s may be NULL */

/* Canonical form of an NT object name, in place: \DosDevices\ and
 * \GLOBAL??\ prefixes become \??\, a trailing backslash is dropped.
 * Returns s. */
char *wscn_canon_name(char *s);

/* ASCII case-insensitive equality / prefix at a component boundary
 * ("\A\B" is a component prefix of "\a\b\c" and of "\A\B"). */
bool wscn_name_eq(const char *a, const char *b);
bool wscn_name_has_prefix(const char *name, const char *prefix);

/* Lookups by canonical name; NULL if none. */
const struct wscn_key *wscn_find_key(const struct wscn *s, const char *name);

/* "YYYY-MM-DD HH:MM:SS" (UTC) to 100 ns units since 1601.  False if malformed. */
bool wscn_parse_time(const char *s, uint64_t *out);

#endif
