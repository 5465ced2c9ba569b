/*
 * winemu input parsing: scenario files (docs/scenarios.md) and PE32 images
 * (untrusted input: every malformed header is a one-line error, never a
 * crash).  The PE tests use the recorder's test guest
 * (tests/traces/src/mini, built here with i686-w64-mingw32-gcc).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/winemu/pe.h"
#include "record/winemu/scenario.h"
#include "record/winemu/winemu_int.h"

static struct wscn *parse_ok(const char *text)
{
	struct wscn *s = NULL;
	strand_error err;
	strand_error_clear(&err);
	strand_status st = wscn_parse("t.scenario", "/tmp", text, strlen(text), &s, &err);
	cr_assert_eq(st, STRAND_OK, "parse failed: %s", err.msg);
	return s;
}

Test(winemu_scenario, defaults_apply_when_only_image_is_given)
{
	struct wscn *s = parse_ok("[process]\nimage = lsass.exe\n");
	cr_assert_str_eq(s->proc.image, "lsass.exe");
	cr_assert_eq(s->proc.pid, 488);
	cr_assert_eq(s->proc.ntids, 1);
	cr_assert_eq(s->proc.tids[0], 492);
	cr_assert_eq(s->proc.quantum, 20000);
	cr_assert_str_eq(s->proc.image_path, "C:\\WINDOWS\\system32\\lsass.exe");
	cr_assert_str_eq(s->proc.command_line, "C:\\WINDOWS\\system32\\lsass.exe");
	cr_assert_str_eq(s->proc.modules, "/tmp/.");
	/* 2009-03-02 09:00:00 UTC in 100 ns units since 1601 */
	cr_assert_eq(s->proc.system_time, 128804580000000000ull);
	wscn_free(s);
}

Test(winemu_scenario, device_states_map_to_open_statuses)
{
	struct wscn *s = parse_ok("[process]\nimage = a.exe\n"
				  "[device \\Device\\A]\nstate = unload-pending\n"
				  "[device \\Device\\B]\nstate = absent\n"
				  "[device \\Device\\C]\nstate = access-denied\n"
				  "[device \\Device\\D]\n"
				  "[device \\Device\\E]\nopen_status = 0xC0000001\nstate = ok\n"
				  "[device \\Device\\DebugLog\\]\nsink = debug\n");
	cr_assert_eq(s->ndevices, 6);
	cr_assert_eq(s->devices[0].open_status, 0xC000000E);
	cr_assert_eq(s->devices[1].open_status, 0xC000000E);
	cr_assert_eq(s->devices[2].open_status, 0xC0000022);
	cr_assert_eq(s->devices[3].open_status, 0);
	cr_assert_eq(s->devices[4].open_status, 0xC0000001, "open_status overrides state");
	cr_assert_str_eq(s->devices[5].name, "\\Device\\DebugLog", "trailing backslash dropped");
	cr_assert_eq(s->devices[5].sink, WSCN_SINK_DEBUG);
	wscn_free(s);
}

Test(winemu_scenario, registry_values_are_stored_as_windows_stores_them)
{
	struct wscn *s = parse_ok("[process]\nimage = a.exe\n"
				  "[key \\Registry\\Machine\\SYSTEM\\X]\n"
				  "D = dword:0x20\n"
				  "S = sz:ab\n"
				  "M = multi_sz:a|b\n"
				  "B = binary:01 ff\n"
				  "@ = qword:1\n"
				  ".access = denied\n");
	const struct wscn_key *k = wscn_find_key(s, "\\registry\\machine\\system\\x");
	cr_assert_not_null(k, "lookup is case-insensitive");
	cr_assert(k->denied);
	cr_assert_eq(k->nvalues, 5);
	cr_assert_eq(k->values[0].type, 4);
	cr_assert_eq(k->values[0].data.len, 4);
	cr_assert_eq(k->values[0].data.bytes[0], 0x20);
	static const uint8_t sz[] = { 'a', 0, 'b', 0, 0, 0 };
	cr_assert_eq(k->values[1].data.len, sizeof sz);
	cr_assert_arr_eq(k->values[1].data.bytes, sz, sizeof sz);
	static const uint8_t msz[] = { 'a', 0, 0, 0, 'b', 0, 0, 0, 0, 0 };
	cr_assert_eq(k->values[2].type, 7);
	cr_assert_eq(k->values[2].data.len, sizeof msz);
	cr_assert_arr_eq(k->values[2].data.bytes, msz, sizeof msz);
	cr_assert_eq(k->values[3].data.len, 2);
	cr_assert_eq(k->values[3].data.bytes[1], 0xff);
	cr_assert_str_eq(k->values[4].name, "", "@ is the default value");
	cr_assert_eq(k->values[4].data.len, 8);
	/* ancestors exist implicitly */
	cr_assert_not_null(wscn_find_key(s, "\\Registry\\Machine\\SYSTEM"));
	cr_assert_not_null(wscn_find_key(s, "\\Registry\\User"));
	wscn_free(s);
}

Test(winemu_scenario, data_values_concatenate_in_order)
{
	struct wscn *s = parse_ok("[process]\nimage = a.exe\n"
				  "[file \\DosDevices\\C:\\f.txt]\n"
				  "data = line:one\n"
				  "data = text:two\n"
				  "data = hex:21 0a\n"
				  "data = empty:\n");
	cr_assert_str_eq(s->files[0].name, "\\??\\C:\\f.txt", "\\DosDevices\\ is \\??\\");
	cr_assert_eq(s->files[0].data.len, 10);
	cr_assert_arr_eq(s->files[0].data.bytes, "one\r\ntwo!\n", 10);
	wscn_free(s);
}

struct bad_case {
	char text[256];
	char expect[64]; /* substring of the message */
};

ParameterizedTestParameters(winemu_scenario, malformed_input_is_rejected_with_its_line)
{
	static struct bad_case cases[] = {
		{ "[process]\nimage = a.exe\nbogus = 1\n", "t.scenario:3: unknown key 'bogus'" },
		{ "image = a.exe\n", "t.scenario:1: 'image' outside any section" },
		{ "[process]\n", "no image" },
		{ "[device \\Device\\A]\n", "no [process] section" },
		{ "[process]\nimage = a.exe\n[process]\n", ":3: [process] given twice" },
		{ "[process]\nimage = a.exe\n[device \\D]\n[device \\d]\n", ":4: [device \\d] given twice" },
		{ "[process]\nimage = a.exe\n[device \\D]\nstate = broken\n", "unknown device state 'broken'" },
		{ "[process]\nimage = a.exe\n[file \\??\\f]\ndata = hex:0g\n", "bad hex byte" },
		{ "[process]\nimage = a.exe\n[file \\??\\f]\ndata = plain\n", "has no text:" },
		{ "[process]\nimage = a.exe\n[key \\Registry\\Machine\\K]\nV = dword:0x100000000\n",
		  "not a 32-bit number" },
		{ "[process]\nimage = a.exe\n[key \\Registry\\Machine\\K]\nV = float:1\n", "unknown type 'float'" },
		{ "[process]\nimage = a.exe\n[key \\Software\\K]\n", "is not under \\Registry\\Machine" },
		{ "[process]\nimage = a.exe\n[link \\??\\x]\n", "[link \\??\\x] has no target" },
		{ "[process]\nimage = a.exe\npid = 3\n", "pid '3' is not a non-zero multiple of 4" },
		{ "[process]\nimage = a.exe\nquantum = 0\n", "quantum '0' is not a number" },
		{ "[process]\nimage = a.exe\nsystem_time = yesterday\n", "system_time 'yesterday'" },
		{ "[process]\nimage = ../a.exe\n", "must be a file name" },
		{ "[process]\nimage = a.exe\n[widget \\W]\n", "unknown section type 'widget'" },
		{ "[process]\nimage = a.exe\n[device Device]\n", "is not an NT name" },
		{ "[process]\nimage = a.exe\nimage = b.exe\n", "'image' given twice" },
		{ "[process\nimage = a.exe\n", "without a closing ']'" },
		{ "[process]\nimage = a.exe\n[service A\\B]\n", "a service name is 1..256 printable" },
		{ "[process]\nimage = a.exe\n[service S]\n[service s]\n", ":4: [service s] given twice" },
		{ "[process]\nimage = a.exe\n[service S]\ncontrol = 0\n", "control '0' is not a control code" },
		{ "[process]\nimage = a.exe\n[service S]\ncontrol = 256\n", "control '256' is not a control code" },
		{ "[process]\nimage = a.exe\n[service S]\nstart = maybe\n", "start" },
		{ "[process]\nimage = a.exe\n[service S]\nowner = me\n", "unknown key 'owner' in [service]" },
	};
	return cr_make_param_array(struct bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, winemu_scenario, malformed_input_is_rejected_with_its_line)
{
	struct wscn *s = NULL;
	strand_error err;
	strand_error_clear(&err);
	strand_status st = wscn_parse("t.scenario", ".", c->text, strlen(c->text), &s, &err);
	cr_assert_eq(st, STRAND_ERR_INVALID, "accepted: %s", c->text);
	cr_assert_null(s);
	cr_assert(strstr(err.msg, c->expect), "message '%s' lacks '%s'", err.msg, c->expect);
	cr_assert_null(strchr(err.msg, '\n'), "one line");
}

Test(winemu_scenario, services_keep_their_start_and_controls_in_order)
{
	struct wscn *s = parse_ok("[process]\nimage = a.exe\n[service HTTPFilter]\ncontrol = 1\ncontrol = 0x0f\n"
				  "[service Other]\nstart = no\ntype = 0x10\n");
	cr_assert_eq(s->nservices, 2);
	cr_assert_str_eq(s->services[0].name, "HTTPFilter");
	cr_assert(s->services[0].start);
	cr_assert_eq(s->services[0].type, 0x20);
	cr_assert_eq(s->services[0].ncontrols, 2);
	cr_assert_eq(s->services[0].controls[0], 1);
	cr_assert_eq(s->services[0].controls[1], 15);
	cr_assert_not(s->services[1].start);
	cr_assert_eq(s->services[1].type, 0x10);
	wscn_free(s);
}

/* The service control manager's pipes (svcctl.c) parse what the guest
 * writes: a bind is acknowledged, an unserved opnum is a fault and a
 * logged line, and random or damaged PDUs never crash it. */
static void svc_machine(struct wemu *m, struct wscn **sp)
{
	*sp = parse_ok("[process]\nimage = a.exe\n[service S]\n");
	memset(m, 0, sizeof *m);
	m->scn = *sp;
	cr_assert_eq(wemu_svc_init(m), STRAND_OK);
}

static void svc_machine_free(struct wemu *m, struct wscn *s)
{
	wemu_svc_free(m);
	for (size_t i = 0; i < m->nobjs; i++) {
		free(m->objs[i]->name);
		free(m->objs[i]);
	}
	free(m->objs);
	wscn_free(s);
}

static const uint8_t svc_bind[72] = {
	5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0, /* header: bind, call 1 */
	0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0,      /* frags, group, 1 context */
	0, 0, 1, 0,                                          /* context 0, 1 transfer syntax */
	0x81, 0xbb, 0x7a, 0x36, 0x44, 0x98, 0xf1, 0x35, 0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03, 2, 0, 0, 0,
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0,
};

Test(winemu_svcctl, bind_is_acknowledged_and_an_unserved_opnum_is_a_logged_fault)
{
	struct wemu m;
	struct wscn *s;
	svc_machine(&m, &s);
	cr_assert(wemu_svc_claims(&m, "\\Device\\NamedPipe\\svcctl"));
	cr_assert(wemu_svc_claims(&m, "\\??\\pipe\\net\\NtControlPipe7"));
	cr_assert_not(wemu_svc_claims(&m, "\\Device\\NamedPipe\\other"));
	struct wsvc_conn *c;
	cr_assert_eq(wemu_svc_open(&m, "\\Device\\NamedPipe\\svcctl", &c), ST_SUCCESS);
	struct wsvc_io io;
	memset(&io, 0, sizeof io);
	cr_assert_eq(wemu_svc_write(&m, c, svc_bind, sizeof svc_bind, &io), ST_SUCCESS);
	cr_assert_str_eq(io.unmodelled, "");
	uint8_t buf[256];
	uint32_t n;
	struct wobj *w;
	/* message mode: a 16-byte read of the ack is a short read */
	cr_assert_eq(wemu_svc_read(&m, c, buf, 16, &n, &w), ST_BUFFER_OVERFLOW);
	cr_assert_eq(n, 16);
	cr_assert_eq(buf[2], 12, "bind_ack");
	uint32_t frag = buf[8] | buf[9] << 8;
	cr_assert_eq(wemu_svc_read(&m, c, buf + 16, sizeof buf - 16, &n, &w), ST_SUCCESS);
	cr_assert_eq(n + 16, frag);
	uint8_t req[24] = { 5, 0, 0, 3, 0x10, 0, 0, 0, 24, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99, 0 };
	memset(&io, 0, sizeof io);
	cr_assert_eq(wemu_svc_write(&m, c, req, sizeof req, &io), ST_SUCCESS);
	cr_assert_str_eq(io.unmodelled, "pipe=svcctl rpc-opnum=99");
	cr_assert_eq(wemu_svc_read(&m, c, buf, sizeof buf, &n, &w), ST_SUCCESS);
	cr_assert_eq(buf[2], 3, "fault");
	cr_assert_eq(buf[24] | buf[25] << 8 | buf[26] << 16 | (uint32_t)buf[27] << 24, 0x1c010002u);
	wemu_svc_conn_free(c);
	svc_machine_free(&m, s);
}

Test(winemu_svcctl, random_and_damaged_pdus_never_crash)
{
	struct wemu m;
	struct wscn *s;
	svc_machine(&m, &s);
	unsigned seed = 12345;
	for (int round = 0; round < 3000; round++) {
		struct wsvc_conn *c;
		cr_assert_eq(wemu_svc_open(&m, round % 3 ? "\\Device\\NamedPipe\\svcctl"
							 : "\\Device\\NamedPipe\\net\\NtControlPipe1",
					   &c),
			     ST_SUCCESS);
		uint8_t b[256];
		memcpy(b, svc_bind, sizeof svc_bind);
		size_t len = sizeof svc_bind;
		for (int k = 0; k < 6; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % sizeof b;
			b[at] = (uint8_t)(seed >> 16);
			if (at >= len)
				len = at + 1;
		}
		for (int k = 0; k < 4; k++) {
			struct wsvc_io io;
			memset(&io, 0, sizeof io);
			(void)wemu_svc_write(&m, c, b, (uint32_t)len, &io);
			cr_assert_null(strchr(io.unmodelled, '\n'));
			uint8_t out[64];
			uint32_t n;
			struct wobj *w;
			(void)wemu_svc_read(&m, c, out, sizeof out, &n, &w);
			cr_assert_leq(n, sizeof out);
		}
		wemu_svc_conn_free(c);
	}
	svc_machine_free(&m, s);
}

Test(winemu_scenario, random_damage_never_crashes)
{
	static const char base[] =
		"[process]\nimage = a.exe\npid = 488\ntids = 492 9384\nsystem_time = 2009-03-02 09:00:00\n"
		"[device \\Device\\Http\\Control]\nstate = unload-pending\nioctl = 0x1 0x0 hex:0102\n"
		"read = line:start X\n[link \\??\\pipe]\ntarget = \\Device\\NamedPipe\n"
		"[key \\Registry\\Machine\\S]\nV = multi_sz:a|b\nW = dword:7\n.access = ok\n"
		"[file \\??\\C:\\f]\ndata = hex:00 11\n[event \\BaseNamedObjects\\E]\nsignaled = yes\n";
	static const char alphabet[] = "[]=:\\ \n#;x0|@.";
	char buf[sizeof base];
	srand(4242);
	for (int iter = 0; iter < 2000; iter++) {
		memcpy(buf, base, sizeof base);
		size_t len = sizeof base - 1;
		int flips = 1 + rand() % 6;
		for (int k = 0; k < flips; k++)
			buf[rand() % len] = alphabet[rand() % (sizeof alphabet - 1)];
		if (rand() % 4 == 0)
			len = (size_t)rand() % len;
		struct wscn *s = NULL;
		strand_error err;
		if (wscn_parse("f.scenario", ".", buf, len, &s, &err) == STRAND_OK)
			wscn_free(s);
		else
			cr_assert_null(strchr(err.msg, '\n'), "one-line error");
	}
}

Test(winemu_scenario, names_compare_by_whole_components)
{
	cr_assert(wscn_name_has_prefix("\\Device\\Http\\Control", "\\device\\http"));
	cr_assert(wscn_name_has_prefix("\\Device\\Http", "\\Device\\Http"));
	cr_assert_not(wscn_name_has_prefix("\\Device\\HttpX", "\\Device\\Http"));
	cr_assert(wscn_name_eq("\\A\\b", "\\a\\B"));
	cr_assert_not(wscn_name_eq("\\A", "\\A\\"));
}

/* ===================================================================== */
/* PE images                                                              */
/* ===================================================================== */

static char guest_dir[256];

static void build_guest(void)
{
	snprintf(guest_dir, sizeof guest_dir, "/tmp/strand-winemu-parse-XXXXXX");
	cr_assert_not_null(mkdtemp(guest_dir));
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "sh %s/tests/traces/src/mini/build.sh %s", STRAND_SOURCE_DIR, guest_dir);
	cr_assert_eq(system(cmd), 0, "cannot build the test guest (%s)", cmd);
}

static void remove_guest(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", guest_dir);
	(void)system(cmd);
}

static uint8_t *slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", guest_dir, name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(*len);
	cr_assert_eq(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = v >> 24;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

TestSuite(winemu_pe, .init = build_guest, .fini = remove_guest, .timeout = 120);

Test(winemu_pe, exports_and_coff_functions_of_a_mingw_image_are_read)
{
	size_t len;
	uint8_t *b = slurp("ntdll.dll", &len);
	struct pe_file pe;
	strand_error err;
	cr_assert_eq(pe_parse("ntdll.dll", "x", b, len, &pe, &err), STRAND_OK, "%s", err.msg);
	cr_assert(pe.is_dll);
	cr_assert_eq(pe.image_base, 0x7c800000);
	uint8_t *img;
	cr_assert_eq(pe_build_image(&pe, &img, &err), STRAND_OK);
	struct pe_export *ex;
	size_t nex;
	cr_assert_eq(pe_exports(&pe, img, &ex, &nex, &err), STRAND_OK, "%s", err.msg);
	bool gate = false, create = false;
	for (size_t i = 0; i < nex; i++) {
		gate |= ex[i].name && strcmp(ex[i].name, "KiFastSystemCall") == 0;
		create |= ex[i].name && strcmp(ex[i].name, "NtCreateFile") == 0;
	}
	cr_assert(gate && create, "undecorated export names (--kill-at)");
	pe_exports_free(ex, nex);
	free(img);
	pe_file_free(&pe);

	b = slurp("mini.exe", &len);
	cr_assert_eq(pe_parse("mini.exe", "x", b, len, &pe, &err), STRAND_OK, "%s", err.msg);
	struct pe_symbol *fn;
	size_t nfn;
	cr_assert_eq(pe_coff_functions(&pe, &fn, &nfn, &err), STRAND_OK, "%s", err.msg);
	bool entry = false, say = false;
	for (size_t i = 0; i < nfn; i++) {
		if (i)
			cr_assert_geq(fn[i].rva, fn[i - 1].rva, "sorted by address");
		if (strcmp(fn[i].name, "MiniEntry") == 0) {
			entry = true;
			cr_assert_eq(fn[i].rva, pe.entry_rva);
			cr_assert_gt(fn[i].size, 0);
		}
		say |= strcmp(fn[i].name, "say") == 0; /* a static function */
	}
	cr_assert(entry && say, "_MiniEntry@4 undecorated, statics kept");
	pe_symbols_free(fn, nfn);
	pe_file_free(&pe);
}

/* A relocated image's header says where it is, as Windows leaves it: a
 * loader that relocates by the header's ImageBase after
 * STATUS_IMAGE_NOT_AT_BASE (Wine's ntdll) must see no delta left. */
Test(winemu_pe, relocation_moves_the_headers_image_base)
{
	size_t len;
	uint8_t *b = slurp("minireloc.dll", &len);
	struct pe_file pe;
	strand_error err;
	cr_assert_eq(pe_parse("minireloc.dll", "x", b, len, &pe, &err), STRAND_OK, "%s", err.msg);
	uint8_t *img;
	cr_assert_eq(pe_build_image(&pe, &img, &err), STRAND_OK, "%s", err.msg);
	uint32_t nt = get32(img + 0x3c);
	cr_assert_eq(get32(img + nt + 24 + 28), pe.image_base);
	cr_assert_eq(pe_relocate(&pe, img, 0x20000000, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(get32(img + nt + 24 + 28), 0x20000000);
	free(img);
	pe_file_free(&pe);
}

/* Apply one corruption to a copy of mini.exe; expect a clean error. */
static void corrupt_and_expect(void (*mutate)(uint8_t *, size_t *), const char *expect)
{
	size_t len;
	uint8_t *b = slurp("mini.exe", &len);
	mutate(b, &len);
	struct pe_file pe;
	strand_error err;
	strand_error_clear(&err);
	strand_status st = pe_parse("mini.exe", "x", b, len, &pe, &err);
	cr_assert_eq(st, STRAND_ERR_INVALID, "accepted a corrupt image");
	cr_assert(strstr(err.msg, expect), "message '%s' lacks '%s'", err.msg, expect);
	pe_file_free(&pe);
}

static void m_truncate(uint8_t *b, size_t *len) { (void)b; *len = 0x30; }
static void m_lfanew(uint8_t *b, size_t *len) { put32(b + 0x3c, 0x7ffffff0); }
static void m_machine(uint8_t *b, size_t *len) { uint32_t nt = get32(b + 0x3c); b[nt + 4] = 0x64; b[nt + 5] = 0x86; }
static void m_nsecs(uint8_t *b, size_t *len) { uint32_t nt = get32(b + 0x3c); b[nt + 6] = 0xff; b[nt + 7] = 0xff; }
static void m_rawptr(uint8_t *b, size_t *len)
{
	uint32_t nt = get32(b + 0x3c);
	uint32_t opt = nt + 24, optsize = (uint32_t)b[nt + 20] | (uint32_t)b[nt + 21] << 8;
	put32(b + opt + optsize + 20, 0x7fff0000); /* section 0 PointerToRawData */
}
static void m_sizeofimage(uint8_t *b, size_t *len) { uint32_t nt = get32(b + 0x3c); put32(b + nt + 24 + 56, 0xfff00000); }
static void m_symtab(uint8_t *b, size_t *len) { uint32_t nt = get32(b + 0x3c); put32(b + nt + 4 + 12, 0x10000000); }
static void m_dir(uint8_t *b, size_t *len) { uint32_t nt = get32(b + 0x3c); put32(b + nt + 24 + 96 + 8, 0x7fff0000); put32(b + nt + 24 + 96 + 12, 0x100); }

Test(winemu_pe, corrupt_headers_are_rejected_naming_the_field)
{
	corrupt_and_expect(m_truncate, "not a PE file");
	corrupt_and_expect(m_lfanew, "e_lfanew");
	corrupt_and_expect(m_machine, "Machine=0x8664");
	corrupt_and_expect(m_nsecs, "NumberOfSections");
	corrupt_and_expect(m_rawptr, "PointerToRawData");
	corrupt_and_expect(m_sizeofimage, "SizeOfImage");
	corrupt_and_expect(m_symtab, "NumberOfSymbols");
	corrupt_and_expect(m_dir, "data directory 1");
}

Test(winemu_pe, random_header_damage_never_crashes)
{
	size_t len;
	uint8_t *orig = slurp("mini.exe", &len);
	srand(12345);
	for (int iter = 0; iter < 400; iter++) {
		uint8_t *b = malloc(len);
		memcpy(b, orig, len);
		int flips = 1 + rand() % 8;
		for (int k = 0; k < flips; k++)
			b[rand() % (len < 1024 ? len : 1024)] = (uint8_t)rand();
		struct pe_file pe;
		strand_error err;
		if (pe_parse("m", "x", b, len, &pe, &err) == STRAND_OK) {
			uint8_t *img;
			if (pe_build_image(&pe, &img, &err) == STRAND_OK) {
				struct pe_export *ex;
				size_t nex;
				struct pe_import *im;
				size_t nim;
				struct pe_symbol *fn;
				size_t nfn;
				if (pe_exports(&pe, img, &ex, &nex, &err) == STRAND_OK)
					pe_exports_free(ex, nex);
				if (pe_imports(&pe, img, &im, &nim, &err) == STRAND_OK)
					pe_imports_free(im, nim);
				if (pe_coff_functions(&pe, &fn, &nfn, &err) == STRAND_OK)
					pe_symbols_free(fn, nfn);
				pe_relocate(&pe, img, 0x20000000, &err);
				free(img);
			}
		}
		pe_file_free(&pe);
	}
	free(orig);
}

Test(winemu_scenario, system_dlls_and_nls_dir_resolve_against_the_scenario_directory)
{
	struct wscn *s = parse_ok("[process]\nimage = hello.exe\nsystem_dlls = wine/i386-windows\nnls_dir = /opt/nls\n");
	cr_assert_str_eq(s->proc.system_dlls, "/tmp/wine/i386-windows");
	cr_assert_str_eq(s->proc.nls_dir, "/opt/nls");
	wscn_free(s);
	s = parse_ok("[process]\nimage = lsass.exe\n");
	cr_assert_null(s->proc.system_dlls, "no system_dlls: the stand-in DLLs");
	cr_assert_null(s->proc.nls_dir);
	wscn_free(s);
	struct wscn *bad = NULL;
	strand_error err = { 0 };
	const char *twice = "[process]\nimage = a.exe\nsystem_dlls = x\nsystem_dlls = y\n";
	cr_assert_neq(wscn_parse("t.scenario", "/tmp", twice, strlen(twice), &bad, &err), STRAND_OK);
	cr_assert_not_null(strstr(err.msg, "t.scenario:4"), "%s", err.msg);
	wscn_free(bad);
}

/* The service table read from an ntdll's stubs: the stand-in ntdll's
 * `mov eax, N; mov edx, 0x7ffe0300; call [edx]; ret 4*n` stubs give the
 * Server 2003 numbers it was built from (knowledge/nt_syscalls.h), and the
 * Windows personality. */
Test(winemu_scenario, service_table_derived_from_an_ntdll_matches_its_build_table)
{
	char dir[] = "/tmp/strand-derive-XXXXXX", cmd[512], path[600];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof cmd, "sh %s/tests/traces/src/mini/build.sh %s >/dev/null 2>&1", STRAND_SOURCE_DIR, dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(path, sizeof path, "%s/ntdll.dll", dir);
	struct wemu m = { 0 };
	strand_error err = { 0 };
	m.err = &err;
	struct wmodule nt = { 0 };
	cr_assert_eq(pe_load("ntdll.dll", path, &nt.pe, &err), STRAND_OK, "%s", err.msg);
	nt.base = nt.pe.image_base;
	nt.size = nt.pe.size_of_image;
	cr_assert_eq(pe_build_image(&nt.pe, &nt.img, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(pe_exports(&nt.pe, nt.img, &nt.exports, &nt.nexports, &err), STRAND_OK, "%s", err.msg);
	cr_assert_eq(wemu_systable_derive(&m, &nt), STRAND_OK, "%s", err.msg);
	cr_assert_eq(m.personality, WP_WINDOWS);
	const struct wsyscall *s = wemu_sys_find(&m, 0x27);
	cr_assert_not_null(s);
	cr_assert_str_eq(s->name, "NtCreateFile");
	cr_assert_eq(s->nargs, 11);
	cr_assert_not_null(strstr(m.sys_source, "call [edx] at 0x7ffe0300"), "%s", m.sys_source);
	wemu_systable_free(&m);
	pe_exports_free(nt.exports, nt.nexports);
	free(nt.img);
	pe_file_free(&nt.pe);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	(void)system(cmd);
}
