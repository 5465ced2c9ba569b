/*
 * The process on real system DLLs (scenario `system_dlls`): what an NT
 * kernel leaves before the first user instruction of a new process, and
 * no more.  The executable and ntdll are mapped (as the kernel maps them);
 * every other DLL is loaded by ntdll's own loader through image sections
 * (NtOpenFile, NtCreateSection, NtMapViewOfSection); the heap, the loader
 * lock and the module list are made by ntdll!LdrInitializeThunk, where the
 * main thread starts (docs/winemu.md "Personalities").
 *
 *   PEB (0x7ffdf000): ImageBaseAddress, ProcessParameters, the OS version,
 *     heap and critical-section defaults, NumberOfProcessors, subsystem.
 *   RTL_USER_PROCESS_PARAMETERS (0x20000, normalized): standard handles
 *     (the kernel's stdin/stdout/stderr objects), current directory = the
 *     executable's directory, DllPath, ImagePathName, CommandLine,
 *     Environment (0x10000) and EnvironmentSize.
 *   The main thread: a CONTEXT on its stack (Eip = RtlUserThreadStart,
 *     Eax = the executable's entry, Ebx = PEB, Esp = stack top - 16) and
 *     esp at a frame `return 0, &context, 0, 0, 0`; eip = LdrInitializeThunk.
 *     ntdll continues to the context with NtContinue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "record/winemu/winemu_int.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = v & 0xff; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = v >> 24;
}
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* `mov edx, esp; sysenter; ret` at WEMU_THUNK_DISPATCH: the target of
 * Wine's __wine_syscall_dispatcher (the stack is KiFastSystemCall's). */
static const uint8_t dispatch_code[] = { 0x89, 0xe2, 0x0f, 0x34, 0xc3 };

const char *wemu_system_dlls_dir(const struct wemu *m)
{
	if (m->opt && m->opt->system_dlls_dir)
		return m->opt->system_dlls_dir;
	return m->scn->proc.system_dlls;
}

/* Place an ASCII string as NUL-terminated UTF-16 at buf[*at] and fill the
 * UNICODE_STRING at `us`; false if it does not fit. */
static bool put_ustr(uint8_t *buf, uint32_t base, uint32_t size, uint32_t *at, uint8_t *us, const char *s)
{
	size_t n = strlen(s);
	uint32_t pos = (*at + 3) & ~3u;
	if (n > 0x7ffe || pos + 2 * n + 2 > size)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		put16(buf + pos + 2 * i, c < 0x80 ? c : '?');
	}
	put16(buf + pos + 2 * n, 0);
	put16(us, (uint16_t)(2 * n));
	put16(us + 2, (uint16_t)(2 * n + 2));
	put32(us + 4, base + pos);
	*at = pos + (uint32_t)(2 * n + 2);
	return true;
}

/* Directory part of a Win32 path, with its trailing backslash
 * ("C:\app\x.exe" -> "C:\app\"). */
static void win32_dir(const char *path, char *out, size_t n)
{
	const char *bs = strrchr(path, '\\');
	size_t len = bs ? (size_t)(bs - path) + 1 : 0;
	if (len >= n)
		len = n - 1;
	memcpy(out, path, len);
	out[len] = 0;
}

static strand_status build_env_and_params(struct wemu *m)
{
	const struct wscn_process *pr = &m->scn->proc;
	/* environment: what a freshly logged-on session has for paths */
	static const char *const env_vars[] = {
		"PATH=C:\\windows\\system32;C:\\windows", "SystemRoot=C:\\windows", "windir=C:\\windows",
		"TEMP=C:\\temp", "TMP=C:\\temp", "ComSpec=C:\\windows\\system32\\cmd.exe",
	};
	uint8_t env[WEMU_PAGE] = { 0 };
	uint32_t e = 0;
	for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++) {
		for (const char *c = env_vars[i]; *c; c++, e += 2)
			put16(env + e, (uint8_t)*c);
		e += 2;
	}
	e += 2; /* the final NUL */
	strand_status st = wemu_vm_map(m, WEMU_ENV_BASE, WEMU_PAGE, STRAND_PROT_READ | STRAND_PROT_WRITE,
				       STRAND_REGION_OTHER, "environment", env, true, false, 0x04);
	if (st != STRAND_OK)
		return st;
	uint32_t size = 0x4000;
	uint8_t *b = calloc(1, size);
	if (!b)
		return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
	char curdir[600], dllpath[1400];
	win32_dir(pr->image_path, curdir, sizeof curdir);
	/* the executable's directory first, then the system directories */
	snprintf(dllpath, sizeof dllpath, "%.*s;C:\\windows\\system32;C:\\windows\\system;C:\\windows",
		 (int)(strlen(curdir) > 3 ? strlen(curdir) - 1 : strlen(curdir)), curdir);
	uint32_t at = 0x2a0;
	put32(b + 0x00, size);
	put32(b + 0x04, size);
	put32(b + 0x08, 1); /* PROCESS_PARAMS_FLAG_NORMALIZED */
	put32(b + 0x18, m->std_handles[0]);
	put32(b + 0x1C, m->std_handles[1]);
	put32(b + 0x20, m->std_handles[2]);
	put32(b + 0x48, WEMU_ENV_BASE);
	put32(b + 0x290, e); /* EnvironmentSize */
	if (!put_ustr(b, WEMU_PARAMS_BASE, size, &at, b + 0x24, curdir) ||
	    !put_ustr(b, WEMU_PARAMS_BASE, size, &at, b + 0x30, dllpath) ||
	    !put_ustr(b, WEMU_PARAMS_BASE, size, &at, b + 0x38, pr->image_path) ||
	    !put_ustr(b, WEMU_PARAMS_BASE, size, &at, b + 0x40, pr->command_line) ||
	    !put_ustr(b, WEMU_PARAMS_BASE, size, &at, b + 0x70, pr->image_path) ||   /* WindowTitle */
	    !put_ustr(b, WEMU_PARAMS_BASE, size, &at, b + 0x78, "WinSta0\\Default") || /* Desktop */
	    !put_ustr(b, WEMU_PARAMS_BASE, size, &at, b + 0x80, "") ||               /* ShellInfo */
	    !put_ustr(b, WEMU_PARAMS_BASE, size, &at, b + 0x88, ""))                 /* RuntimeInfo */
		st = strand_error_set(m->err, STRAND_ERR_INVALID, "process parameters (paths, command line) too long");
	if (st == STRAND_OK)
		st = wemu_vm_map(m, WEMU_PARAMS_BASE, size, STRAND_PROT_READ | STRAND_PROT_WRITE, STRAND_REGION_OTHER,
				 "process-parameters", b, true, false, 0x04);
	free(b);
	return st;
}

static strand_status build_sys_peb(struct wemu *m, const struct wmodule *exe)
{
	uint8_t p[WEMU_PAGE] = { 0 };
	put32(p + 0x08, exe->base);
	put32(p + 0x10, WEMU_PARAMS_BASE);
	put32(p + 0x64, 1);                 /* NumberOfProcessors */
	put64(p + 0x70, (uint64_t)(-25920000000000ll)); /* CriticalSectionTimeout: 30 days */
	put32(p + 0x78, 0x100000);          /* HeapSegmentReserve */
	put32(p + 0x7C, 0x2000);            /* HeapSegmentCommit */
	put32(p + 0x80, 0x10000);           /* HeapDeCommitTotalFreeThreshold */
	put32(p + 0x84, 0x1000);            /* HeapDeCommitFreeBlockThreshold */
	put32(p + 0x8C, 16);                /* MaximumNumberOfHeaps */
	/* Windows 10 22H2, the version Wine 8.0 reports by default */
	put32(p + 0xA4, 10);
	put32(p + 0xA8, 0);
	put16(p + 0xAC, 19045);
	put32(p + 0xB0, 2);                 /* VER_PLATFORM_WIN32_NT */
	put32(p + 0xB4, exe->pe.subsystem); /* ImageSubsystem */
	put32(p + 0xB8, exe->pe.subsystem_major);
	put32(p + 0xBC, exe->pe.subsystem_minor);
	put32(p + 0x1D4, 1);                /* SessionId */
	return wemu_vm_map(m, WEMU_PEB, WEMU_PAGE, STRAND_PROT_READ | STRAND_PROT_WRITE, STRAND_REGION_PEB, "peb",
			   p, true, false, 0x04);
}

static strand_status build_sys_shared(struct wemu *m, const struct wmodule *nt)
{
	uint8_t s[WEMU_PAGE] = { 0 };
	uint64_t now = m->scn->proc.system_time;
	put32(s + 0x004, 0x0FA00000);
	put64(s + 0x014, now);
	put32(s + 0x01C, (uint32_t)(now >> 32));
	put16(s + 0x02C, 0x14C);            /* ImageNumberLow: i386 */
	put16(s + 0x02E, 0x14C);            /* ImageNumberHigh */
	static const char root[] = "C:\\windows";
	for (size_t i = 0; i < sizeof root - 1; i++)
		put16(s + 0x030 + 2 * i, (uint8_t)root[i]);
	put32(s + 0x264, 1);                /* NtProductType: workstation */
	s[0x268] = 1;
	put32(s + 0x26C, 10);
	put32(s + 0x270, 0);
	put32(s + 0x260, 19045);            /* NtBuildNumber */
	put32(s + 0x2E8, 1);                /* NumberOfPhysicalPages (nonzero) */
	if (m->personality == WP_WINDOWS) {
		const struct pe_export *sc = wemu_find_export(nt, "KiFastSystemCall");
		const struct pe_export *scr = wemu_find_export(nt, "KiFastSystemCallRet");
		if (!sc)
			return strand_error_set(m->err, STRAND_ERR_INVALID,
						"%s: stubs call [0x7ffe0300] but KiFastSystemCall is not exported",
						nt->pe.name);
		put32(s + 0x300, nt->base + sc->rva);
		put32(s + 0x304, scr ? nt->base + scr->rva : 0);
	}
	return wemu_vm_map(m, WEMU_SHARED, WEMU_PAGE, STRAND_PROT_READ, STRAND_REGION_SHARED, "shared-user-data", s,
			   true, false, 0x02);
}

/* The x86 CONTEXT (0x2CC bytes) the main thread continues to. */
static void main_context(uint8_t *ctx, uint32_t eip, uint32_t eax, uint32_t ebx, uint32_t esp)
{
	memset(ctx, 0, 0x2cc);
	put32(ctx + 0x00, 0x1003f);  /* CONTEXT_ALL */
	put16(ctx + 0x1C, 0x27f);    /* FloatSave.ControlWord */
	put32(ctx + 0x8C, 0);        /* SegGs */
	put32(ctx + 0x90, 0x3b);
	put32(ctx + 0x94, 0x23);
	put32(ctx + 0x98, 0x23);
	put32(ctx + 0xA4, ebx);
	put32(ctx + 0xB0, eax);
	put32(ctx + 0xB8, eip);
	put32(ctx + 0xBC, 0x1b);
	put32(ctx + 0xC0, 0x202);
	put32(ctx + 0xC4, esp);
	put32(ctx + 0xC8, 0x10);
	put16(ctx + 0xCC, 0x27f);    /* ExtendedRegisters: FXSAVE FCW */
	put32(ctx + 0xCC + 24, 0x1f80); /* MXCSR */
}

strand_status wemu_load_system_process(struct wemu *m)
{
	const struct wscn_process *pr = &m->scn->proc;
	const char *sysdir = wemu_system_dlls_dir(m);
	const char *moddir = m->opt && m->opt->modules_dir ? m->opt->modules_dir : pr->modules;
	uint8_t thunk[WEMU_PAGE];
	memset(thunk, 0xcc, sizeof thunk);
	memcpy(thunk + (WEMU_THUNK_DISPATCH - WEMU_THUNK_BASE), dispatch_code, sizeof dispatch_code);
	strand_status st = wemu_vm_map(m, WEMU_THUNK_BASE, WEMU_PAGE, STRAND_PROT_READ | STRAND_PROT_EXEC,
				       STRAND_REGION_OTHER, "ldr-thunk", thunk, true, false, 0x20);
	if (st != STRAND_OK)
		return st;
	char path[4096], ntwin32[] = "C:\\windows\\system32\\ntdll.dll";
	size_t exe, nt;
	bool moved;
	if ((st = wemu_find_file_in(m, moddir, pr->image, path, sizeof path)) != STRAND_OK ||
	    (st = wemu_map_pe(m, path, strrchr(path, '/') + 1, pr->image_path, true, &exe, &moved)) != STRAND_OK)
		return strand_error_wrap(m->err, st, "cannot map the process image");
	if (m->mods[exe].pe.is_dll)
		return strand_error_set(m->err, STRAND_ERR_INVALID, "%s: the process image is a DLL", pr->image);
	if ((st = wemu_find_file_in(m, sysdir, "ntdll.dll", path, sizeof path)) != STRAND_OK ||
	    (st = wemu_map_pe(m, path, "ntdll.dll", ntwin32, false, &nt, &moved)) != STRAND_OK)
		return strand_error_wrap(m->err, st, "cannot map ntdll.dll from system_dlls");
	m->next_module_id = (uint32_t)m->nmods + 1;
	struct wmodule *ntm = &m->mods[nt];
	if ((st = wemu_systable_derive(m, ntm)) != STRAND_OK)
		return st;
	if (wemu_find_file_in(m, sysdir, "win32u.dll", path, sizeof path) == STRAND_OK &&
	    (st = wemu_systable_win32k(m, path)) != STRAND_OK)
		return st;
	strand_error_clear(m->err);
	wemu_kernel_bind(m);
	if (m->dispatch_word) {
		uint8_t w[4];
		put32(w, WEMU_THUNK_DISPATCH);
		memcpy(ntm->img + (m->dispatch_word - ntm->base), w, 4);
		if (uc_mem_write(m->uc, m->dispatch_word, w, 4) != UC_ERR_OK)
			return strand_error_set(m->err, STRAND_ERR_EMULATOR, "cannot write the dispatcher word");
	}
	const struct pe_export *init = wemu_find_export(ntm, "LdrInitializeThunk");
	const struct pe_export *start = wemu_find_export(ntm, "RtlUserThreadStart");
	if (!init || !start)
		return strand_error_set(m->err, STRAND_ERR_INVALID,
					"%s does not export LdrInitializeThunk and RtlUserThreadStart", ntm->pe.name);
	/* main stack: the image's reserve (ntdll's start-up clears 960 KiB of it) */
	uint32_t stack = pr->stack_size ? pr->stack_size : m->mods[exe].pe.stack_reserve;
	if (stack < 0x110000)
		stack = 0x110000;
	if (stack > 0x1000000)
		stack = 0x1000000;
	stack = (stack + WEMU_ALLOC_GRAN - 1) & ~(WEMU_ALLOC_GRAN - 1);
	uint32_t stack_addr;
	if (!wemu_vm_find_free(m, stack, WEMU_ALLOC_GRAN, WEMU_DYN_BASE, WEMU_RELOC_BASE, &stack_addr))
		return strand_error_set(m->err, STRAND_ERR_INVALID, "no room for the main stack");
	uint32_t tid0 = pr->ntids ? pr->tids[0] : 492;
	char name[32];
	snprintf(name, sizeof name, "stack:%u", tid0);
	uint32_t top = stack_addr + stack;
	if ((st = wemu_vm_map(m, stack_addr, stack, STRAND_PROT_READ | STRAND_PROT_WRITE, STRAND_REGION_STACK, name,
			      NULL, true, false, 0x04)) != STRAND_OK)
		return st;
	if ((st = wemu_kernel_std_handles(m)) != STRAND_OK || (st = build_env_and_params(m)) != STRAND_OK ||
	    (st = build_sys_peb(m, &m->mods[exe])) != STRAND_OK || (st = build_sys_shared(m, &m->mods[nt])) != STRAND_OK)
		return st;
	m->next_teb = WEMU_TEB_TOP - WEMU_PAGE;
	struct wthread *t;
	if ((st = wemu_new_thread(m, top, stack_addr, &t)) != STRAND_OK || (st = wemu_map_gdt(m, t->teb)) != STRAND_OK ||
	    (st = wemu_sys_thread_start(m, t, top, m->mods[exe].entry, WEMU_PEB)) != STRAND_OK)
		return st;
	m->cur = 0;
	return STRAND_OK;
}

strand_status wemu_sys_thread_start(struct wemu *m, struct wthread *t, uint32_t top, uint32_t start,
				    uint32_t param)
{
	struct wmodule *ntm = NULL;
	for (size_t i = 0; i < m->nmods; i++)
		if (!m->mods[i].main && strcasecmp(m->mods[i].pe.name, "ntdll.dll") == 0)
			ntm = &m->mods[i];
	const struct pe_export *init = ntm ? wemu_find_export(ntm, "LdrInitializeThunk") : NULL;
	const struct pe_export *ust = ntm ? wemu_find_export(ntm, "RtlUserThreadStart") : NULL;
	if (!init || !ust)
		return strand_error_set(m->err, STRAND_ERR_INVALID,
					"ntdll does not export LdrInitializeThunk and RtlUserThreadStart");
	uint32_t ctx_addr = (top - 16 - 0x2cc) & ~15u;
	uint32_t esp0 = ctx_addr - 20;
	uint8_t ctx[0x2cc], frame[20] = { 0 };
	main_context(ctx, ntm->base + ust->rva, start, param, top - 16);
	put32(frame + 4, ctx_addr);
	put32(frame + 8, ntm->base);
	if (!wemu_write(m, ctx_addr, ctx, sizeof ctx) || !wemu_write(m, esp0, frame, sizeof frame))
		return strand_error_set(m->err, STRAND_ERR_EMULATOR, "cannot write the initial context at 0x%08x",
					ctx_addr);
	t->cpu.rip = ntm->base + init->rva;
	t->cpu.gpr[STRAND_REG_RSP] = esp0;
	return STRAND_OK;
}

/* Build the x86 CONTEXT (0x2CC bytes, CONTEXT_ALL | EXTENDED_REGISTERS)
 * of a CPU state. */
static void context_of(const struct strand_cpu *c, uint8_t *ctx)
{
	memset(ctx, 0, 0x2cc);
	put32(ctx + 0x00, 0x1003f);
	put16(ctx + 0x1C, (uint16_t)(c->fxsave[0] | c->fxsave[1] << 8)); /* FloatSave.ControlWord */
	put32(ctx + 0x8C, c->sel[STRAND_SEG_GS]);
	put32(ctx + 0x90, c->sel[STRAND_SEG_FS]);
	put32(ctx + 0x94, c->sel[STRAND_SEG_ES]);
	put32(ctx + 0x98, c->sel[STRAND_SEG_DS]);
	put32(ctx + 0x9C, (uint32_t)c->gpr[STRAND_REG_RDI]);
	put32(ctx + 0xA0, (uint32_t)c->gpr[STRAND_REG_RSI]);
	put32(ctx + 0xA4, (uint32_t)c->gpr[STRAND_REG_RBX]);
	put32(ctx + 0xA8, (uint32_t)c->gpr[STRAND_REG_RDX]);
	put32(ctx + 0xAC, (uint32_t)c->gpr[STRAND_REG_RCX]);
	put32(ctx + 0xB0, (uint32_t)c->gpr[STRAND_REG_RAX]);
	put32(ctx + 0xB4, (uint32_t)c->gpr[STRAND_REG_RBP]);
	put32(ctx + 0xB8, (uint32_t)c->rip);
	put32(ctx + 0xBC, c->sel[STRAND_SEG_CS]);
	put32(ctx + 0xC0, (uint32_t)c->rflags);
	put32(ctx + 0xC4, (uint32_t)c->gpr[STRAND_REG_RSP]);
	put32(ctx + 0xC8, c->sel[STRAND_SEG_SS]);
	memcpy(ctx + 0xCC, c->fxsave, 512);
}

strand_status wemu_deliver_exception(struct wemu *m, struct strand_cpu *cpu, const uint8_t *rec, uint32_t rec_len,
				     const uint8_t *ctx_in)
{
	struct wmodule *ntm = NULL;
	for (size_t i = 0; i < m->nmods; i++)
		if (!m->mods[i].main && !m->mods[i].unloaded && strcasecmp(m->mods[i].pe.name, "ntdll.dll") == 0)
			ntm = &m->mods[i];
	const struct pe_export *kd = ntm ? wemu_find_export(ntm, "KiUserExceptionDispatcher") : NULL;
	if (!kd)
		return STRAND_ERR_UNSUPPORTED;
	uint8_t ctx[0x2cc], er[0x50] = { 0 };
	if (ctx_in)
		memcpy(ctx, ctx_in, sizeof ctx);
	else
		context_of(cpu, ctx);
	memcpy(er, rec, rec_len < sizeof er ? rec_len : sizeof er);
	uint32_t esp = ctx[0xC4] | ctx[0xC5] << 8 | ctx[0xC6] << 16 | (uint32_t)ctx[0xC7] << 24;
	/* below the interrupted frame: EXCEPTION_RECORD, CONTEXT, then the
	 * two pointers KiUserExceptionDispatcher takes from its stack */
	uint32_t rec_addr = (esp - sizeof er) & ~3u;
	uint32_t ctx_addr = (rec_addr - sizeof ctx) & ~3u;
	uint32_t new_esp = ctx_addr - 8;
	uint8_t ptrs[8];
	put32(ptrs, rec_addr);
	put32(ptrs + 4, ctx_addr);
	if (esp < 0x2000 || !wemu_can_write(m, new_esp, esp - new_esp))
		return STRAND_ERR_LIMIT; /* no stack left: the process dies of it */
	wemu_write(m, rec_addr, er, sizeof er);
	wemu_write(m, ctx_addr, ctx, sizeof ctx);
	wemu_write(m, new_esp, ptrs, sizeof ptrs);
	cpu->rip = ntm->base + kd->rva;
	cpu->gpr[STRAND_REG_RSP] = new_esp;
	cpu->rflags = 0x202;
	return STRAND_OK;
}
