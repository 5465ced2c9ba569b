/* rcwin: one Windows program failing in many ways, chosen by argv[1], for
 * the root-cause corpus (tests/test_rootcause.c).  Built with mingw-w64
 * against the real CRT and run on Wine's system DLLs by strand record-win;
 * each scenario of this directory gives it a world and a mode. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int open_config(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "rcwin: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	fclose(f);
	return 0;
}

static DWORD open_data(const wchar_t *path)
{
	HANDLE h = CreateFileW(path, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return GetLastError();
	CloseHandle(h);
	return 0;
}

static LONG read_setting(const wchar_t *key, const wchar_t *value, DWORD *out)
{
	HKEY k;
	LONG rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, key, 0, KEY_READ, &k);
	if (rc != ERROR_SUCCESS)
		return rc;
	DWORD type, len = sizeof *out;
	rc = RegQueryValueExW(k, value, NULL, &type, (BYTE *)out, &len);
	RegCloseKey(k);
	return rc;
}

struct entry { const char *name; const char *value; };
static const struct entry table[] = { { "alpha", "1" }, { "beta", "2" } };

static const struct entry *lookup(const char *name)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

static int average(int sum, int count)
{
	return sum / count;
}

static HANDLE ev_a, ev_b;

static DWORD WINAPI partner(void *arg)
{
	(void)arg;
	WaitForSingleObject(ev_b, INFINITE); /* waits for main, which waits for it */
	SetEvent(ev_a);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "config"))
		return open_config("C:\\app\\settings.ini");
	if (!strcmp(mode, "decoy")) {
		/* an optional file first: its absence is handled */
		FILE *f = fopen("C:\\app\\local.ini", "r");
		if (f)
			fclose(f);
		return open_config("C:\\app\\settings.ini");
	}
	if (!strcmp(mode, "optional")) {
		FILE *f = fopen("C:\\app\\local.ini", "r");
		if (f)
			fclose(f);
		printf("rcwin: defaults in use\n");
		return 0;
	}
	if (!strcmp(mode, "path")) {
		DWORD e = open_data(L"C:\\app\\data\\input.bin");
		if (e) {
			fprintf(stderr, "rcwin: cannot read the input, error %lu\n", e);
			return 2;
		}
		return 0;
	}
	if (!strcmp(mode, "denied")) {
		DWORD e = open_data(L"C:\\app\\secret.bin");
		if (e) {
			fprintf(stderr, "rcwin: open failed, hr=0x%08lX\n", (unsigned long)HRESULT_FROM_WIN32(e));
			return 3;
		}
		return 0;
	}
	if (!strcmp(mode, "device") || !strcmp(mode, "devdenied"))
		return (int)open_data(L"\\\\.\\RcDevice");
	if (!strcmp(mode, "ioctl")) {
		HANDLE h = CreateFileW(L"\\\\.\\RcDevice", GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
		if (h == INVALID_HANDLE_VALUE)
			return 9;
		char out[16];
		DWORD got = 0;
		if (!DeviceIoControl(h, 0x00220004, NULL, 0, out, sizeof out, &got, NULL)) {
			fprintf(stderr, "rcwin: device query failed, error %lu\n", GetLastError());
			return 4;
		}
		return 0;
	}
	if (!strcmp(mode, "regkey") || !strcmp(mode, "regvalue")) {
		DWORD v = 0;
		LONG rc = read_setting(L"SOFTWARE\\rcwin", L"Threshold", &v);
		return rc ? (int)rc : (int)v;
	}
	if (!strcmp(mode, "null")) {
		const struct entry *e = lookup(argc > 2 ? argv[2] : "gamma");
		printf("%s\n", e->value);
		return 0;
	}
	if (!strcmp(mode, "div"))
		return average(10, argc - 2);
	if (!strcmp(mode, "deadlock")) {
		ev_a = CreateEventA(NULL, FALSE, FALSE, NULL);
		ev_b = CreateEventA(NULL, FALSE, FALSE, NULL);
		HANDLE t = CreateThread(NULL, 0, partner, NULL, 0, NULL);
		WaitForSingleObject(ev_a, INFINITE); /* partner sets it only after ev_b */
		SetEvent(ev_b);
		WaitForSingleObject(t, INFINITE);
		return 0;
	}
	if (!strcmp(mode, "timeout")) {
		HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
		DWORD r = WaitForSingleObject(ev, 50);
		if (r != WAIT_OBJECT_0)
			return (int)r; /* the wait's result is the exit status */
		return 0;
	}
	if (!strcmp(mode, "parse")) {
		const char *s = argc > 2 ? argv[2] : "";
		char *end;
		long n = strtol(s, &end, 10);
		if (!*s || *end) {
			fprintf(stderr, "rcwin: bad number '%s'\n", s);
			return 5;
		}
		return (int)n;
	}
	fprintf(stderr, "rcwin: unknown mode '%s'\n", mode);
	return 64;
}
