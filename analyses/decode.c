/* Argument decoders: the object a syscall names (a path, an NT object
 * name), read from the replayed guest's memory.  Which argument names an
 * object is knowledge (strand_syscall_object_arg); reading it is here. */
#include "strand/analysis.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* UNICODE_STRING at `us` into UTF-8-ish ASCII (non-ASCII as '?'). */
static bool read_unicode_string(struct strand_replay *r, bool wide64, uint64_t us,
				char *buf, size_t len)
{
	uint8_t hdr[16];
	size_t hlen = wide64 ? 16 : 8;
	if (!us || strand_replay_read(r, us, hdr, hlen, NULL) != hlen)
		return false;
	uint16_t n = (uint16_t)(hdr[0] | hdr[1] << 8);
	uint64_t p = 0;
	for (unsigned i = 0; i < (wide64 ? 8u : 4u); i++)
		p |= (uint64_t)hdr[(wide64 ? 8 : 4) + i] << (8 * i);
	if (n > 2048)
		n = 2048;
	n &= (uint16_t)~1u;
	uint8_t w[2048];
	if (!p || strand_replay_read(r, p, w, n, NULL) != n)
		return false;
	size_t o = 0;
	for (unsigned i = 0; i + 1 < n && o + 1 < len; i += 2) {
		uint16_t ch = (uint16_t)(w[i] | w[i + 1] << 8);
		buf[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	buf[o] = 0;
	return true;
}

/* A process id argument as what it names (kill(2), wait4(2)): a process,
 * a process group (negative), the caller's group (0) or every process /
 * any child (-1).  The calls of one id kind (tgkill's thread group) say
 * so. */
static bool decode_pid(const char *name, int32_t pid, char *buf, size_t len)
{
	bool waits = !strcmp(name, "wait4");
	bool signals = !strcmp(name, "kill") || waits;
	if (pid > 0)
		snprintf(buf, len, "%s %" PRId32, !strcmp(name, "tgkill") || !strcmp(name, "rt_tgsigqueueinfo")
			 ? "thread group" : !strcmp(name, "tkill") ? "thread" : "pid", pid);
	else if (signals && pid == 0)
		snprintf(buf, len, "the caller's process group");
	else if (signals && pid == -1)
		snprintf(buf, len, waits ? "any child" : "every process it may signal");
	else if (signals && pid < -1)
		snprintf(buf, len, "process group %" PRId64, -(int64_t)pid);
	else if (pid == 0)
		snprintf(buf, len, "the calling process");
	else
		snprintf(buf, len, "pid %" PRId32, pid);
	return true;
}

/* A NUL-terminated string at guest address a into buf (len > 0), at most
 * 1023 bytes; false if there is none. */
static bool read_c_string(struct strand_replay *r, uint64_t a, char *buf, size_t len)
{
	size_t max = len - 1 < 1024 ? len - 1 : 1024;
	uint8_t valid[1024];
	buf[0] = 0;
	if (!a)
		return false;
	strand_replay_read(r, a, buf, max, valid);
	size_t k = 0;
	while (k < max && valid[k] && buf[k])
		k++;
	buf[k] = 0;
	return k > 0;
}

bool strand_syscall_decode_other_object_in(struct strand_replay *r,
					   const struct strand_systable *systable, strand_abi abi,
					   strand_arch arch, const struct strand_syscall *sc,
					   char *buf, size_t len)
{
	const char *name = strand_syscall_name_in(systable, abi, arch, sc->number);
	if (len)
		buf[0] = 0;
	unsigned argi;
	if (!name || !len || !strand_syscall_other_path_arg(abi, name, &argi) || argi >= sc->nargs)
		return false;
	return read_c_string(r, sc->args[argi], buf, len);
}

bool strand_syscall_decode_object(struct strand_replay *r, strand_abi abi, strand_arch arch,
				  const struct strand_syscall *sc, char *buf, size_t len)
{
	return strand_syscall_decode_object_in(r, NULL, abi, arch, sc, buf, len);
}

bool strand_syscall_decode_object_in(struct strand_replay *r, const struct strand_systable *systable,
				     strand_abi abi, strand_arch arch, const struct strand_syscall *sc,
				     char *buf, size_t len)
{
	const char *name = strand_syscall_name_in(systable, abi, arch, sc->number);
	if (len)
		buf[0] = 0;
	if (!name || !len)
		return false;
	bool w64 = arch == STRAND_ARCH_X86_64;
	unsigned argi;
	strand_object_arg how;
	if (!strand_syscall_object_arg(abi, name, &argi, &how) || argi >= sc->nargs)
		return false;
	uint64_t a = sc->args[argi];
	if (how == STRAND_OBJARG_PID)
		return decode_pid(name, (int32_t)(uint32_t)a, buf, len);
	if (how == STRAND_OBJARG_C_STRING)
		return read_c_string(r, a, buf, len);
	uint64_t us = a;
	if (how == STRAND_OBJARG_OBJECT_ATTRIBUTES) {
		/* OBJECT_ATTRIBUTES { ULONG Length; HANDLE RootDirectory;
		 * PUNICODE_STRING ObjectName; ... } */
		uint8_t p[8] = { 0 };
		size_t off = w64 ? 16 : 8, psz = w64 ? 8 : 4;
		if (!a || strand_replay_read(r, a + off, p, psz, NULL) != psz)
			return false;
		us = 0;
		for (size_t k = 0; k < psz; k++)
			us |= (uint64_t)p[k] << (8 * k);
	}
	return read_unicode_string(r, w64, us, buf, len);
}
