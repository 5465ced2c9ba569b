/* The knowledge base: hints attached to a root cause, kept as data.  An
 * entry matches when every non-NULL key matches (status by name, object
 * by prefix, case-insensitive; the symptom's reported value exactly).
 * Add entries here; nothing else changes. */
#include "knowledge/kb.h"

#include <string.h>
#include <strings.h>

const struct kb_entry strand_kb[] = {
	{ "STATUS_NO_SUCH_DEVICE", "\\Device\\Http\\", NULL, 0,
	  "HTTP.SYS has no device object",
	  "The HTTP driver (HTTP.SYS) did not create its device objects: it is either not "
	  "started or stuck in unload-pending state ('net start http' says it is already "
	  "started while 'net stop http' says it cannot be controlled in its present state). "
	  "A driver stays unload-pending while references to its device objects remain: look "
	  "for lingering w3wp.exe processes that should have ended when WAS stopped, and for "
	  "third-party drivers registered for process-creation notifications (anti-virus; "
	  "nt!PspCreateProcessNotifyRoutine in a kernel dump) that keep them alive. A reboot "
	  "clears the state; removing or updating the offending driver prevents it." },
	{ "STATUS_ACCESS_DENIED", "\\Device\\Http\\", NULL, 0,
	  "The caller may not open an HTTP.SYS device",
	  "The security descriptor of HTTP.SYS's device objects denies the service's account. "
	  "Check the account the service runs as and whether a hardening tool or policy changed "
	  "the device's ACL." },
	{ "STATUS_NO_SUCH_DEVICE", NULL, NULL, 0,
	  "The device object does not exist",
	  "The driver that should own this device is not loaded, failed to start, or is "
	  "unloading. Check the driver's service state and the system event log." },
	{ "STATUS_OBJECT_NAME_NOT_FOUND", "\\Registry\\", NULL, 0,
	  "A registry key or value is absent",
	  "The configuration the code expects is missing; compare with a healthy machine or "
	  "reinstall the component that owns the key." },
	{ "STATUS_OBJECT_NAME_NOT_FOUND", NULL, NULL, 0,
	  "A named object or file does not exist",
	  "The object was not created (yet) or the file is missing: check the path and the "
	  "order in which components start." },
	{ "STATUS_OBJECT_PATH_NOT_FOUND", NULL, NULL, 0,
	  "A directory in the path does not exist",
	  "An intermediate directory or object directory of the name is missing." },
	{ "STATUS_ACCESS_DENIED", NULL, NULL, 0,
	  "Access denied",
	  "The caller's token lacks the requested access to the object: check the object's "
	  "ACL, the account, and the desired access mask." },
	{ "STATUS_INSUFFICIENT_RESOURCES", NULL, NULL, 0,
	  "The kernel ran out of a resource for this request",
	  "The driver could not allocate memory (nonpaged or paged pool) or another kernel "
	  "resource. Look for a pool leak: pool usage by tag (poolmon, !poolused in a kernel "
	  "dump) usually points at a driver, often a third-party one. A reboot clears it only "
	  "until the leak fills the pool again." },
	{ NULL, NULL, NULL, 0x80070002,
	  "ERROR_FILE_NOT_FOUND does not always mean a missing file",
	  "HRESULT 0x80070002 wraps Win32 error 2, which several NTSTATUS values map to, "
	  "including STATUS_NO_SUCH_DEVICE and STATUS_OBJECT_NAME_NOT_FOUND. A file monitor "
	  "may show no missing file: follow the status to the kernel call (see the "
	  "propagation chain)." },
	{ "ENOENT", NULL, NULL, 0,
	  "No such file or directory",
	  "The path does not exist relative to the process's working directory or root: check "
	  "the path, the working directory and the installation." },
	{ "EACCES", NULL, NULL, 0,
	  "Permission denied",
	  "The process's credentials do not allow the access: check file modes, ownership and "
	  "any security module policy." },
	{ NULL, NULL, NULL, 0, NULL, NULL },
};

static bool prefix_ci(const char *s, const char *prefix)
{
	return s && !strncasecmp(s, prefix, strlen(prefix));
}

bool kb_match(const struct kb_entry *e, const char *status, const char *object,
	      const char *syscall, uint64_t symptom_value)
{
	if (e->status && (!status || strcmp(e->status, status)))
		return false;
	if (e->object_prefix && !prefix_ci(object, e->object_prefix))
		return false;
	if (e->syscall && (!syscall || strcmp(e->syscall, syscall)))
		return false;
	if (e->symptom_value && e->symptom_value != symptom_value)
		return false;
	return true;
}
