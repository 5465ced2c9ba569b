/*
 * mini.exe: the recorder's test guest.  The last word of the command line
 * picks a mode:
 *   basic     exercise the kernel model; report on the debug log; exit 42
 *   fault     write to address 0 (access violation)
 *   deadlock  wait forever on an event nobody sets
 *   spin      loop forever (instruction limit)
 *   race      two threads compute at once (quantum preemption)
 *   dllfail   minidll refuses DLL_PROCESS_ATTACH (mini.exe never runs)
 * Every result goes to \Device\DebugLog as "name=value" lines, which the
 * test compares.
 */
#include "mini.h"

IMPORT long NTAPI MiniThreadAttaches(void);
IMPORT long NTAPI MiniByOrdinal(long);
IMPORT int NTAPI MiniRelocCheck(void);
IMPORT long NTAPI MiniFwd(long); /* forwarded to minifwd.MiniFwdTarget */

static HANDLE dbg;

static ULONG wlen(const WCHAR *s)
{
	ULONG n = 0;
	while (s[n])
		n++;
	return n;
}

static void ustr(UNICODE_STRING *u, const WCHAR *s)
{
	u->Length = (USHORT)(2 * wlen(s));
	u->MaximumLength = u->Length + 2;
	u->Buffer = (WCHAR *)s;
}

static void oa_init(OBJECT_ATTRIBUTES *oa, UNICODE_STRING *name)
{
	oa->Length = sizeof *oa;
	oa->RootDirectory = 0;
	oa->ObjectName = name;
	oa->Attributes = 0x40;
	oa->SecurityDescriptor = oa->SecurityQualityOfService = 0;
}

static ULONG slen(const char *s)
{
	ULONG n = 0;
	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	IO_STATUS_BLOCK io;
	NtWriteFile(dbg, 0, 0, 0, &io, s, slen(s), 0, 0);
}

/* "key=XXXXXXXX\n" */
static void sayx(const char *key, ULONG v)
{
	char buf[64];
	ULONG n = 0;
	while (key[n] && n < 40) {
		buf[n] = key[n];
		n++;
	}
	buf[n++] = '=';
	for (int i = 7; i >= 0; i--)
		buf[n++] = "0123456789abcdef"[(v >> (4 * i)) & 15];
	buf[n++] = '\n';
	buf[n] = 0;
	say(buf);
}

static NTSTATUS open_name(HANDLE *h, const WCHAR *name, ULONG access, ULONG disposition)
{
	UNICODE_STRING u;
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK io;
	ustr(&u, name);
	oa_init(&oa, &u);
	return NtCreateFile(h, access, &oa, &io, 0, 0x80, 3, disposition, 0, 0, 0);
}

static HANDLE ev;
static volatile ULONG spins;

static void __attribute__((stdcall)) worker(void *param)
{
	for (ULONG i = 0; i < 20000; i++)
		spins += i;
	say("worker=running\n");
	NtSetEvent(ev, 0);
	NtTerminateThread(NtCurrentThread(), (NTSTATUS)(ULONG)param);
}

/* The last word of the command line, in ASCII. */
static void mode_of(void *peb, char *out, ULONG cap)
{
	void *params = *(void **)((char *)peb + 0x10);
	UNICODE_STRING *cl = (UNICODE_STRING *)((char *)params + 0x40);
	ULONG n = cl->Length / 2, start = 0;
	for (ULONG i = 0; i < n; i++)
		if (cl->Buffer[i] == ' ')
			start = i + 1;
	ULONG k = 0;
	for (ULONG i = start; i < n && k + 1 < cap; i++)
		out[k++] = (char)cl->Buffer[i];
	out[k] = 0;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static volatile ULONG race_sum[2];

static void __attribute__((stdcall)) racer(void *param)
{
	for (ULONG i = 0; i < 30000; i++)
		race_sum[1] += i;
	NtTerminateThread(NtCurrentThread(), 0);
}

static void race(void)
{
	void *stack = 0;
	ULONG size = 0x10000;
	NtAllocateVirtualMemory(NtCurrentProcess(), &stack, 0, &size, 0x3000, 4);
	INITIAL_TEB it = { 0, 0, (char *)stack + size, stack, stack };
	ULONG ctx[0x2cc / 4] = { 0 };
	ctx[0] = 0x10007;
	ctx[0xb8 / 4] = (ULONG)racer;
	ctx[0xc4 / 4] = (ULONG)((char *)stack + size - 16);
	ctx[0xc0 / 4] = 0x202;
	HANDLE th;
	CLIENT_ID cid;
	NtCreateThread(&th, 0x1f03ff, 0, NtCurrentProcess(), &cid, ctx, &it, 0);
	for (ULONG i = 0; i < 30000; i++)
		race_sum[0] += i;
	NtWaitForSingleObject(th, 0, 0);
	sayx("race", race_sum[0] == race_sum[1]);
}

/* Walk one of PEB.Ldr's lists (head at `off` in PEB_LDR_DATA, links at
 * `link` in LDR_DATA_TABLE_ENTRY) and report BaseDllName of each entry. */
static void walk_modules(void *peb, ULONG off, ULONG link, const char *key)
{
	char *ldr = *(char **)((char *)peb + 0x0c);
	char *head = ldr + off;
	for (char *l = *(char **)head; l != head; l = *(char **)l) {
		char *entry = l - link;
		UNICODE_STRING *name = (UNICODE_STRING *)(entry + 0x2c);
		char buf[80];
		ULONG n = 0;
		while (key[n]) {
			buf[n] = key[n];
			n++;
		}
		buf[n++] = '=';
		for (ULONG i = 0; i < name->Length / 2 && n < sizeof buf - 2; i++)
			buf[n++] = (char)name->Buffer[i];
		buf[n++] = '\n';
		buf[n] = 0;
		say(buf);
	}
}

static void basic(void *peb)
{
	HANDLE h;
	IO_STATUS_BLOCK io;
	NTSTATUS st;
	say("mini=start\n");
	walk_modules(peb, 0x0c, 0x00, "load");
	walk_modules(peb, 0x1c, 0x10, "init");

	/* registry: a value, an absent value */
	UNICODE_STRING kn, vn;
	OBJECT_ATTRIBUTES oa;
	ustr(&kn, L"\\Registry\\Machine\\SOFTWARE\\Mini");
	oa_init(&oa, &kn);
	st = NtOpenKey(&h, 0x20019, &oa);
	sayx("openkey", (ULONG)st);
	ULONG buf[16], rl = 0;
	ustr(&vn, L"Answer");
	st = NtQueryValueKey(h, &vn, 2, buf, sizeof buf, &rl);
	sayx("answer.status", (ULONG)st);
	sayx("answer.type", buf[1]);
	sayx("answer", buf[3]);
	ustr(&vn, L"Missing");
	st = NtQueryValueKey(h, &vn, 2, buf, sizeof buf, &rl);
	sayx("missing", (ULONG)st);
	ustr(&vn, L"Answer");
	st = NtQueryValueKey(h, &vn, 2, buf, 12, &rl); /* the header only */
	sayx("short.status", (ULONG)st);
	sayx("short.needed", rl);
	sayx("tiny.status", (ULONG)NtQueryValueKey(h, &vn, 2, buf, 4, &rl));
	NtClose(h);
	ustr(&kn, L"\\Registry\\Machine\\SOFTWARE");
	NtOpenKey(&h, 0x20019, &oa);
	st = NtEnumerateKey(h, 0, 0, buf, sizeof buf, &rl); /* KeyBasicInformation */
	sayx("subkey0", (ULONG)st);
	sayx("subkey0.namelen", buf[3]);
	sayx("subkey0.char0", ((WCHAR *)&buf[4])[0]);
	sayx("subkey2", (ULONG)NtEnumerateKey(h, 2, 0, buf, sizeof buf, &rl));
	NtClose(h);
	ustr(&kn, L"\\Registry\\Machine\\SOFTWARE\\Mini");
	ustr(&kn, L"\\Registry\\Machine\\SOFTWARE\\Locked");
	st = NtOpenKey(&h, 0x20019, &oa);
	sayx("lockedkey", (ULONG)st);

	/* devices in their states */
	sayx("gone", (ULONG)open_name(&h, L"\\Device\\Gone", 0xC0000000, 1));
	sayx("locked", (ULONG)open_name(&h, L"\\Device\\Locked", 0xC0000000, 1));
	sayx("nosuch", (ULONG)open_name(&h, L"\\Device\\NoSuch", 0xC0000000, 1));
	st = open_name(&h, L"\\??\\mini\\Control", 0xC0000000, 1); /* through a [link] */
	sayx("ctl", (ULONG)st);
	UCHAR out[8] = { 0 };
	st = NtDeviceIoControlFile(h, 0, 0, 0, &io, 0x00220004, 0, 0, out, 4);
	sayx("ioctl", (ULONG)st);
	sayx("ioctl.info", io.Information);
	sayx("ioctl.out", *(ULONG *)out);
	st = NtDeviceIoControlFile(h, 0, 0, 0, &io, 0x00220008, 0, 0, out, 8);
	sayx("ioctl2", (ULONG)st);
	NtClose(h);

	/* files: a scenario file, a new file written then read back */
	char text[32];
	st = open_name(&h, L"\\??\\C:\\in.txt", 0x80000000, 1);
	sayx("in.open", (ULONG)st);
	st = NtReadFile(h, 0, 0, 0, &io, text, sizeof text - 1, 0, 0);
	text[st == 0 ? io.Information : 0] = 0;
	say("in=");
	say(text);
	say("\n");
	st = NtReadFile(h, 0, 0, 0, &io, text, sizeof text - 1, 0, 0);
	sayx("in.eof", (ULONG)st);
	NtClose(h);
	sayx("missing.file", (ULONG)open_name(&h, L"\\??\\C:\\none.txt", 0x80000000, 1));
	st = open_name(&h, L"\\??\\C:\\out.txt", 0xC0000000, 5);
	NtWriteFile(h, 0, 0, 0, &io, "hello", 5, 0, 0);
	NtClose(h);
	open_name(&h, L"\\??\\C:\\out.txt", 0x80000000, 1);
	st = NtReadFile(h, 0, 0, 0, &io, text, sizeof text - 1, 0, 0);
	text[st == 0 ? io.Information : 0] = 0;
	say("out=");
	say(text);
	say("\n");
	NtClose(h);

	/* a thread: its stack from NtAllocateVirtualMemory, a blocking wait */
	NtCreateEvent(&ev, 0x1f0003, 0, 0, 0);
	void *stack = 0;
	ULONG size = 0x10000;
	st = NtAllocateVirtualMemory(NtCurrentProcess(), &stack, 0, &size, 0x3000, 4);
	sayx("alloc", (ULONG)st);
	INITIAL_TEB it = { 0, 0, (char *)stack + size, stack, stack };
	ULONG ctx[0x2cc / 4] = { 0 };
	ctx[0] = 0x10007;
	ctx[0xb8 / 4] = (ULONG)worker;           /* Eip */
	ULONG *sp = (ULONG *)((char *)stack + size) - 4;
	sp[1] = 7;                               /* worker's parameter */
	ctx[0xc4 / 4] = (ULONG)sp;               /* Esp: return slot, then the parameter */
	ctx[0xc0 / 4] = 0x202;
	HANDLE th;
	CLIENT_ID cid;
	st = NtCreateThread(&th, 0x1f03ff, 0, NtCurrentProcess(), &cid, ctx, &it, 0);
	sayx("thread", (ULONG)st);
	sayx("thread.tid", (ULONG)cid.UniqueThread);
	st = NtWaitForSingleObject(ev, 0, 0);
	sayx("wait.event", (ULONG)st);
	st = NtWaitForSingleObject(th, 0, 0);
	sayx("wait.thread", (ULONG)st);
	ULONG tbi[7] = { 0 };
	NtQueryInformationThread(th, 0, tbi, sizeof tbi, 0);
	sayx("thread.exit", tbi[0]);
	sayx("attaches", (ULONG)MiniThreadAttaches());

	/* a timed wait that times out, a sleep */
	HANDLE never;
	NtCreateEvent(&never, 0x1f0003, 0, 1, 0);
	LARGE_INTEGER t = { (ULONG)-100000, -1 }; /* 10 ms, relative */
	sayx("timeout", (ULONG)NtWaitForSingleObject(never, 0, &t));
	LARGE_INTEGER t0, t1;
	NtQuerySystemTime(&t0);
	t.lo = (ULONG)-50000; /* 5 ms */
	sayx("delay", (ULONG)NtDelayExecution(0, &t));
	NtQuerySystemTime(&t1);
	sayx("slept.ms", (t1.lo - t0.lo) / 10000);

	/* virtual memory */
	ULONG *p = 0, old = 0;
	size = 0x2000;
	NtAllocateVirtualMemory(NtCurrentProcess(), (void **)&p, 0, &size, 0x3000, 4);
	p[0] = 0x1234;
	void *pp = p;
	ULONG ps = 0x1000;
	st = NtProtectVirtualMemory(NtCurrentProcess(), &pp, &ps, 2, &old);
	sayx("protect", (ULONG)st);
	sayx("protect.old", old);
	ps = 0;
	sayx("free", (ULONG)NtFreeVirtualMemory(NtCurrentProcess(), (void **)&p, &ps, 0x8000));
	ULONG mbi[7] = { 0 };
	NtQueryVirtualMemory(NtCurrentProcess(), p, 0, mbi, sizeof mbi, 0);
	sayx("freed.state", mbi[4]);

	/* a mutant: owned at creation, released once, then not owned */
	HANDLE mu;
	long prev = 0;
	NtCreateMutant(&mu, 0x1f0001, 0, 1);
	sayx("mutant.release", (ULONG)NtReleaseMutant(mu, &prev));
	sayx("mutant.prev", (ULONG)prev);
	sayx("mutant.again", (ULONG)NtReleaseMutant(mu, &prev));

	/* loader: ordinal import, relocated DLL */
	sayx("ordinal", (ULONG)MiniByOrdinal(5));
	sayx("reloc", (ULONG)MiniRelocCheck());
	sayx("forwarded", (ULONG)MiniFwd(1));

	/* a service the kernel model does not know */
	sayx("unknown", (ULONG)NtUnknownService());
	say("mini=end\n");
}

int __attribute__((stdcall)) MiniEntry(void *peb)
{
	char mode[32];
	mode_of(peb, mode, sizeof mode);
	open_name(&dbg, L"\\Device\\DebugLog", 0x40000000, 1);
	if (streq(mode, "fault")) {
		say("mini=fault\n");
		*(volatile ULONG *)0 = 1;
	} else if (streq(mode, "deadlock")) {
		NtCreateEvent(&ev, 0x1f0003, 0, 0, 0);
		NtWaitForSingleObject(ev, 0, 0);
	} else if (streq(mode, "race")) {
		race();
	} else if (streq(mode, "spin")) {
		for (;;)
			spins++;
	} else {
		basic(peb);
	}
	return 42;
}
