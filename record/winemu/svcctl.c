/*
 * svcctl.c: the service control manager's side of a service process's
 * pipes, for processes on real system DLLs (docs/winemu.md, *The service
 * control manager*).
 *
 * A service process on Wine's (or Windows') advapi32/sechost talks to
 * services.exe through two named pipes:
 *   - \pipe\svcctl: DCE/RPC (connection-oriented, ncacn_np) carrying the
 *     svcctl interface (MS-SCMR, 367abb81-9844-35f1-ad32-98f038001003
 *     v2.0, NDR): bind, then requests.  Served: ROpenSCManagerW (15),
 *     ROpenServiceW (16), RCloseServiceHandle (0), RSetServiceStatus (7),
 *     RQueryServiceStatus (6).  Any other opnum, PDU type or
 *     authentication is answered with a fault PDU and logged as
 *     unmodelled.
 *   - \pipe\net\NtControlPipeN (Wine's private control pipe; N is the
 *     value of HKLM\SYSTEM\CurrentControlSet\Control\ServiceCurrent the
 *     scenario declares): orders in Wine's service_start_info shape
 *     (magic 'WINE', total size, name size in WCHARs, control, then the
 *     name and, for a start, the arguments), each answered by a DWORD.
 *
 * Services come from the scenario's [service NAME] sections; the orders
 * are a start for every service declared with `start = yes`, then its
 * `control = N` codes once it reports SERVICE_RUNNING.  Every byte the
 * guest writes is parsed against bounded lengths; a malformed PDU is one
 * logged line and a fault (or a broken pipe), never a crash.
 *
 * State lives in struct wsvc (one per recording, owned by struct wemu).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "record/winemu/winemu_int.h"

#define SVC_PDU_MAX 4280u        /* max_xmit_frag / max_recv_frag we accept */
#define SVC_IN_MAX (64u * 1024u) /* bytes a client may write ahead of a reply */
#define SVC_HANDLES_MAX 256u
#define SVC_NAME_MAX 256u        /* WCHARs of a service name */

#define PT_REQUEST 0
#define PT_RESPONSE 2
#define PT_FAULT 3
#define PT_BIND 11
#define PT_BIND_ACK 12
#define PFC_FIRST 0x01
#define PFC_LAST 0x02
#define PFC_OBJECT_UUID 0x80

#define NCA_OP_RNG_ERROR 0x1c010002u   /* nca_s_op_rng_error: unknown opnum */
#define NCA_PROTO_ERROR 0x1c01000bu    /* nca_s_proto_error */
#define NCA_UNK_IF 0x1c010003u         /* nca_s_unk_if */

#define ERR_INVALID_HANDLE 6u
#define ERR_INVALID_PARAMETER 87u
#define ERR_SERVICE_DOES_NOT_EXIST 1060u
#define ERR_INVALID_SERVICE_CONTROL 1052u

#define WINE_SERVICE_MAGIC 0x57494e45u /* 'WINE': service_start_info.magic */
#define SERVICE_CONTROL_START 0u

static const uint8_t svcctl_uuid[16] = { 0x81, 0xbb, 0x7a, 0x36, 0x44, 0x98, 0xf1, 0x35,
					 0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03 };
static const uint8_t ndr_uuid[16] = { 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
				      0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60 };

enum svc_pipe { SP_SVCCTL = 1, SP_CONTROL };

struct svc_service {
	const struct wscn_service *decl;
	uint32_t status[7];    /* SERVICE_STATUS as last reported (type, state, ...) */
	bool start_sent;
	size_t next_control;   /* into decl->controls */
};

/* An RPC context handle: index + 1 in the uuid's first word. */
struct svc_handle {
	bool open;
	int service;           /* -1 = the service manager */
};

struct wsvc_conn {
	enum svc_pipe kind;
	uint8_t in[SVC_IN_MAX];   /* bytes written, not yet a whole PDU */
	uint32_t inlen;
	uint8_t *out;             /* reply bytes not yet read (owned) */
	uint32_t outlen, outpos;
	uint32_t msg_end;         /* svcctl: end of the message being read (message mode) */
	bool bound;
	bool broken;              /* a protocol error ended the conversation */
	int awaiting;             /* control pipe: service index of the order sent, -1 none */
};

struct wsvc {
	struct svc_service *svcs;
	size_t nsvcs;
	struct svc_handle handles[SVC_HANDLES_MAX];
	uint32_t nhandles;
	struct wobj *order_ready; /* signaled while the control pipe has an order to give */
};

static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t g32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void p16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void p32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* ===================================================================== */
/* Set-up                                                                 */
/* ===================================================================== */

strand_status wemu_svc_init(struct wemu *m)
{
	const struct wscn *s = m->scn;
	if (!s->nservices)
		return STRAND_OK;
	struct wsvc *v = calloc(1, sizeof *v);
	if (!v || !(v->svcs = calloc(s->nservices, sizeof *v->svcs))) {
		free(v);
		return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
	}
	v->nsvcs = s->nservices;
	for (size_t i = 0; i < s->nservices; i++) {
		v->svcs[i].decl = &s->services[i];
		v->svcs[i].status[0] = s->services[i].type;
		v->svcs[i].status[1] = 1; /* SERVICE_STOPPED */
	}
	if (!(v->order_ready = wemu_obj_new(m, WO_EVENT, NULL))) {
		free(v->svcs);
		free(v);
		return strand_error_set(m->err, STRAND_ERR_NOMEM, "winemu: out of memory");
	}
	m->svc = v;
	return STRAND_OK;
}

void wemu_svc_free(struct wemu *m)
{
	if (!m->svc)
		return;
	free(m->svc->svcs);
	free(m->svc);
	m->svc = NULL;
}

void wemu_svc_conn_free(struct wsvc_conn *c)
{
	if (c) {
		free(c->out);
		free(c);
	}
}

/* The pipe below \Device\NamedPipe (or \??\pipe) `name` names, if any. */
static const char *pipe_tail(const char *name)
{
	static const char *const prefixes[] = { "\\Device\\NamedPipe\\", "\\??\\pipe\\" };
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncasecmp(name, prefixes[i], n) == 0)
			return name + n;
	}
	return NULL;
}

bool wemu_svc_claims(const struct wemu *m, const char *name)
{
	if (!m->svc)
		return false;
	const char *t = pipe_tail(name);
	if (!t)
		return false;
	return strcasecmp(t, "svcctl") == 0 || strncasecmp(t, "net\\NtControlPipe", 17) == 0;
}

uint32_t wemu_svc_open(struct wemu *m, const char *name, struct wsvc_conn **out)
{
	const char *t = pipe_tail(name);
	struct wsvc_conn *c = calloc(1, sizeof *c);
	if (!c)
		return ST_NO_MEMORY;
	c->kind = strcasecmp(t, "svcctl") == 0 ? SP_SVCCTL : SP_CONTROL;
	c->awaiting = -1;
	*out = c;
	(void)m;
	return ST_SUCCESS;
}

/* ===================================================================== */
/* Service status                                                         */
/* ===================================================================== */

static const char *state_name(uint32_t s)
{
	static const char *const names[] = { "?", "STOPPED", "START_PENDING", "STOP_PENDING",
					     "RUNNING", "CONTINUE_PENDING", "PAUSE_PENDING", "PAUSED" };
	return s < 8 ? names[s] : "?";
}

int wemu_service_status_line(char *buf, size_t cap, const char *name, const uint32_t f[7])
{
	int n = snprintf(buf, cap,
			 "service-status name=%s state=%s(%" PRIu32 ") type=0x%" PRIx32 " controls=0x%" PRIx32
			 " win32_exit=0x%" PRIx32 " service_exit=0x%" PRIx32 " checkpoint=%" PRIu32
			 " wait_hint=%" PRIu32 "\n",
			 name[0] ? name : "?", state_name(f[1]), f[1], f[0], f[2], f[3], f[4], f[5], f[6]);
	if (n < 0)
		return 0;
	return (size_t)n >= cap ? (int)cap - 1 : n;
}

/* Is there an order the control pipe can give now?  (The event the
 * dispatcher's blocked read waits on follows this.) */
static bool next_order(struct wsvc *v, size_t *svc, uint32_t *control)
{
	for (size_t i = 0; i < v->nsvcs; i++) {
		struct svc_service *s = &v->svcs[i];
		if (!s->decl->start)
			continue;
		if (!s->start_sent) {
			*svc = i;
			*control = SERVICE_CONTROL_START;
			return true;
		}
	}
	for (size_t i = 0; i < v->nsvcs; i++) {
		struct svc_service *s = &v->svcs[i];
		if (s->start_sent && s->status[1] == 4 /* RUNNING */ && s->next_control < s->decl->ncontrols) {
			*svc = i;
			*control = s->decl->controls[s->next_control];
			return true;
		}
	}
	return false;
}

static void update_ready(struct wsvc *v, const struct wsvc_conn *pending)
{
	size_t i;
	uint32_t ctl;
	v->order_ready->u.event.signaled = (!pending || pending->awaiting < 0) && next_order(v, &i, &ctl);
}

/* ===================================================================== */
/* Replies                                                                */
/* ===================================================================== */

static bool out_append(struct wsvc_conn *c, const uint8_t *b, uint32_t n)
{
	if (c->outpos == c->outlen) {
		c->outpos = c->outlen = 0;
	}
	if (c->outlen + n > SVC_IN_MAX)
		return false;
	uint8_t *p = realloc(c->out, c->outlen + n);
	if (!p)
		return false;
	memcpy(p + c->outlen, b, n);
	c->out = p;
	c->outlen += n;
	return true;
}

/* The 16-byte common header of a reply. */
static void pdu_header(uint8_t *b, uint8_t type, uint32_t frag_len, uint32_t call_id)
{
	memset(b, 0, 16);
	b[0] = 5;
	b[1] = 0;
	b[2] = type;
	b[3] = PFC_FIRST | PFC_LAST;
	b[4] = 0x10; /* little-endian integers, ASCII, IEEE floats */
	p16(b + 8, frag_len);
	p16(b + 10, 0);
	p32(b + 12, call_id);
}

static bool reply_fault(struct wsvc_conn *c, uint32_t call_id, uint16_t ctx, uint32_t status)
{
	uint8_t b[32];
	pdu_header(b, PT_FAULT, sizeof b, call_id);
	p32(b + 16, 0);
	p16(b + 20, ctx);
	b[22] = 0;
	b[23] = 0;
	p32(b + 24, status);
	p32(b + 28, 0);
	return out_append(c, b, sizeof b);
}

static bool reply_response(struct wsvc_conn *c, uint32_t call_id, uint16_t ctx, const uint8_t *stub, uint32_t n)
{
	uint8_t b[24 + 64];
	if (n > sizeof b - 24)
		return false;
	pdu_header(b, PT_RESPONSE, 24 + n, call_id);
	p32(b + 16, n);
	p16(b + 20, ctx);
	b[22] = 0;
	b[23] = 0;
	memcpy(b + 24, stub, n);
	return out_append(c, b, 24 + n);
}

/* ===================================================================== */
/* svcctl requests                                                        */
/* ===================================================================== */

/* A bounded reader over NDR stub data (little-endian, 4-byte alignment
 * from the start of the stub). */
struct ndr {
	const uint8_t *p;
	uint32_t n, off;
	bool bad;
};

static uint32_t ndr_u32(struct ndr *r)
{
	r->off = (r->off + 3) & ~3u;
	if (r->bad || r->off > r->n || r->n - r->off < 4) {
		r->bad = true;
		return 0;
	}
	uint32_t v = g32(r->p + r->off);
	r->off += 4;
	return v;
}

/* A conformant varying string of WCHARs into ASCII `out` (non-ASCII as '?'). */
static void ndr_wstr(struct ndr *r, char *out, size_t cap)
{
	uint32_t max = ndr_u32(r), offset = ndr_u32(r), actual = ndr_u32(r);
	out[0] = 0;
	if (r->bad || offset != 0 || actual > max || actual > SVC_NAME_MAX || actual == 0 ||
	    r->n - r->off < 2 * actual) {
		r->bad = true;
		return;
	}
	size_t k = 0;
	for (uint32_t i = 0; i < actual; i++) {
		uint16_t ch = g16(r->p + r->off + 2 * i);
		if (ch == 0)
			break;
		if (k + 1 < cap)
			out[k++] = ch < 0x80 && ch >= 0x20 ? (char)ch : '?';
	}
	out[k] = 0;
	r->off += 2 * actual;
}

/* A context handle: 4 bytes of attributes, 16 of uuid; ours are index + 1. */
static int ndr_handle(struct ndr *r, struct wsvc *v)
{
	uint32_t attr = ndr_u32(r);
	if (r->bad || r->n - r->off < 16) {
		r->bad = true;
		return -1;
	}
	uint32_t id = g32(r->p + r->off);
	static const uint8_t tag[12] = { 's', 't', 'r', 'a', 'n', 'd', '-', 's', 'v', 'c', 'c', 't' };
	bool ours = memcmp(r->p + r->off + 4, tag, 12) == 0;
	r->off += 16;
	if (attr != 0 || !ours || id == 0 || id > v->nhandles || !v->handles[id - 1].open)
		return -1;
	return (int)id - 1;
}

static void put_handle(uint8_t *b, int h)
{
	static const uint8_t tag[12] = { 's', 't', 'r', 'a', 'n', 'd', '-', 's', 'v', 'c', 'c', 't' };
	memset(b, 0, 20);
	if (h < 0)
		return;
	p32(b + 4, (uint32_t)h + 1);
	memcpy(b + 8, tag, 12);
}

static int handle_new(struct wsvc *v, int service)
{
	if (v->nhandles >= SVC_HANDLES_MAX)
		return -1;
	v->handles[v->nhandles].open = true;
	v->handles[v->nhandles].service = service;
	return (int)v->nhandles++;
}

static int find_service(const struct wsvc *v, const char *name)
{
	for (size_t i = 0; i < v->nsvcs; i++)
		if (strcasecmp(v->svcs[i].decl->name, name) == 0)
			return (int)i;
	return -1;
}

/* Serve request `opnum`; stub reply in out (*n bytes) or false: unmodelled. */
static bool svcctl_call(struct wemu *m, struct wsvc_io *io, uint16_t opnum, struct ndr *r, uint8_t *out,
			uint32_t *n)
{
	struct wsvc *v = m->svc;
	switch (opnum) {
	case 15: { /* ROpenSCManagerW(machine, database, access, &handle) */
		char str[SVC_NAME_MAX + 1];
		for (int i = 0; i < 2; i++)
			if (ndr_u32(r)) /* unique pointer: referent id, then the string */
				ndr_wstr(r, str, sizeof str);
		(void)ndr_u32(r); /* dwDesiredAccess: no access checks */
		if (r->bad)
			return false;
		int h = handle_new(v, -1);
		put_handle(out, h);
		p32(out + 20, h < 0 ? 8u /* ERROR_NOT_ENOUGH_MEMORY: out of handles */ : 0);
		*n = 24;
		return true;
	}
	case 16: { /* ROpenServiceW(manager, name, access, &handle) */
		char name[SVC_NAME_MAX + 1];
		int mh = ndr_handle(r, v);
		ndr_wstr(r, name, sizeof name);
		(void)ndr_u32(r);
		if (r->bad)
			return false;
		int s = find_service(v, name);
		int h = -1;
		uint32_t err = 0;
		if (mh < 0 || v->handles[mh].service != -1)
			err = ERR_INVALID_HANDLE;
		else if (s < 0)
			err = ERR_SERVICE_DOES_NOT_EXIST;
		else if ((h = handle_new(v, s)) < 0)
			err = 8u;
		put_handle(out, err ? -1 : h);
		p32(out + 20, err);
		*n = 24;
		return true;
	}
	case 0: { /* RCloseServiceHandle(&handle) */
		int h = ndr_handle(r, v);
		if (r->bad)
			return false;
		if (h >= 0)
			v->handles[h].open = false;
		put_handle(out, -1);
		p32(out + 20, h < 0 ? ERR_INVALID_HANDLE : 0);
		*n = 24;
		return true;
	}
	case 7: { /* RSetServiceStatus(handle, &status) */
		int h = ndr_handle(r, v);
		uint32_t f[7];
		for (int i = 0; i < 7; i++)
			f[i] = ndr_u32(r);
		if (r->bad)
			return false;
		uint32_t err = 0;
		if (h < 0 || v->handles[h].service < 0)
			err = ERR_INVALID_HANDLE;
		else if (f[1] < 1 || f[1] > 7)
			err = ERR_INVALID_PARAMETER;
		if (!err) {
			struct svc_service *s = &v->svcs[v->handles[h].service];
			memcpy(s->status, f, sizeof f);
			io->status_len = (uint32_t)wemu_service_status_line(io->status, sizeof io->status,
									    s->decl->name, f);
			update_ready(v, NULL);
		}
		p32(out, err);
		*n = 4;
		return true;
	}
	case 6: { /* RQueryServiceStatus(handle, &status) */
		int h = ndr_handle(r, v);
		if (r->bad)
			return false;
		memset(out, 0, 28);
		if (h < 0 || v->handles[h].service < 0) {
			p32(out + 28, ERR_INVALID_HANDLE);
		} else {
			const struct svc_service *s = &v->svcs[v->handles[h].service];
			for (int i = 0; i < 7; i++)
				p32(out + 4 * i, s->status[i]);
			p32(out + 28, 0);
		}
		*n = 32;
		return true;
	}
	default:
		return false;
	}
}

static const char *const opnum_names[] = {
	"RCloseServiceHandle", "RControlService", "RDeleteService", "RLockServiceDatabase",
	"RQueryServiceObjectSecurity", "RSetServiceObjectSecurity", "RQueryServiceStatus",
	"RSetServiceStatus", "RUnlockServiceDatabase", "RNotifyBootConfigStatus", "RI_ScSetServiceBitsW",
	"RChangeServiceConfigW", "RCreateServiceW", "REnumDependentServicesW", "REnumServicesStatusW",
	"ROpenSCManagerW", "ROpenServiceW", "RQueryServiceConfigW", "RQueryServiceLockStatusW",
	"RStartServiceW", "RGetServiceDisplayNameW", "RGetServiceKeyNameW",
};

static void unmodelled(struct wsvc_io *io, const char *fmt, uint32_t a, uint32_t b)
{
	if (!io->unmodelled[0])
		snprintf(io->unmodelled, sizeof io->unmodelled, fmt, a, b);
}

/* One whole PDU from the client. */
static void svcctl_pdu(struct wemu *m, struct wsvc_conn *c, struct wsvc_io *io, const uint8_t *b, uint32_t len)
{
	uint8_t type = b[2], flags = b[3];
	uint32_t call_id = g32(b + 12);
	uint16_t auth_len = g16(b + 10);
	if (auth_len) {
		unmodelled(io, "pipe=svcctl rpc-auth-length=%u ptype=%u", auth_len, type);
		reply_fault(c, call_id, 0, NCA_PROTO_ERROR);
		return;
	}
	if (type == PT_BIND) {
		/* max_xmit u16, max_recv u16, assoc_group u32, n_ctx u8, 3 reserved,
		 * then per context: id u16, n_transfer u8, reserved, abstract (20),
		 * transfer syntaxes (20 each) */
		if (len < 28) {
			unmodelled(io, "pipe=svcctl rpc-bind-length=%u%.0u", len, 0);
			c->broken = true;
			return;
		}
		uint32_t nctx = b[24], off = 28;
		uint8_t ack[128];
		uint32_t k = 0;
		pdu_header(ack, PT_BIND_ACK, 0, call_id);
		p16(ack + 16, SVC_PDU_MAX);
		p16(ack + 18, SVC_PDU_MAX);
		p32(ack + 20, 0x00005358u); /* assoc_group_id */
		static const char addr[] = "\\PIPE\\svcctl";
		p16(ack + 24, sizeof addr);
		memcpy(ack + 26, addr, sizeof addr);
		k = (26 + sizeof addr + 3) & ~3u;
		memset(ack + 26 + sizeof addr, 0, k - 26 - sizeof addr);
		if (nctx == 0 || nctx > 4) {
			unmodelled(io, "pipe=svcctl rpc-bind-contexts=%u%.0u", nctx, 0);
			c->broken = true;
			return;
		}
		ack[k] = (uint8_t)nctx;
		ack[k + 1] = ack[k + 2] = ack[k + 3] = 0;
		k += 4;
		for (uint32_t i = 0; i < nctx; i++) {
			if (len < off + 24) {
				c->broken = true;
				unmodelled(io, "pipe=svcctl rpc-bind-length=%u%.0u", len, 0);
				return;
			}
			uint32_t nts = b[off + 2];
			const uint8_t *abs = b + off + 4;
			uint32_t ts_off = off + 24;
			if (nts == 0 || len < ts_off || (len - ts_off) / 20 < nts) {
				c->broken = true;
				unmodelled(io, "pipe=svcctl rpc-bind-length=%u%.0u", len, 0);
				return;
			}
			uint16_t result = 2, reason = 1; /* provider rejection: abstract syntax not supported */
			const uint8_t *ts = NULL;
			if (memcmp(abs, svcctl_uuid, 16) == 0 && g16(abs + 16) == 2 && g16(abs + 18) == 0) {
				reason = 2; /* proposed transfer syntaxes not supported */
				for (uint32_t j = 0; j < nts; j++) {
					const uint8_t *t = b + ts_off + 20 * j;
					if (memcmp(t, ndr_uuid, 16) == 0 && g32(t + 16) == 2) {
						ts = t;
						result = 0;
						reason = 0;
						break;
					}
				}
			}
			p16(ack + k, result);
			p16(ack + k + 2, reason);
			if (ts)
				memcpy(ack + k + 4, ts, 20);
			else
				memset(ack + k + 4, 0, 20);
			k += 24;
			if (result == 0)
				c->bound = true;
			else
				unmodelled(io, "pipe=svcctl rpc-bind-rejected reason=%u%.0u", reason, 0);
			off = ts_off + 20 * nts;
		}
		p16(ack + 8, k);
		out_append(c, ack, k);
		return;
	}
	if (type != PT_REQUEST) {
		unmodelled(io, "pipe=svcctl rpc-ptype=%u%.0u", type, 0);
		reply_fault(c, call_id, 0, NCA_PROTO_ERROR);
		return;
	}
	uint32_t hdr = 24 + ((flags & PFC_OBJECT_UUID) ? 16 : 0);
	if (len < hdr || (flags & (PFC_FIRST | PFC_LAST)) != (PFC_FIRST | PFC_LAST)) {
		unmodelled(io, "pipe=svcctl rpc-request-flags=0x%x length=%u", flags, len);
		reply_fault(c, call_id, 0, NCA_PROTO_ERROR);
		return;
	}
	uint16_t ctx = g16(b + 20), opnum = g16(b + 22);
	if (!c->bound) {
		unmodelled(io, "pipe=svcctl rpc-request-unbound opnum=%u%.0u", opnum, 0);
		reply_fault(c, call_id, ctx, NCA_UNK_IF);
		return;
	}
	struct ndr r = { b + hdr, len - hdr, 0, false };
	uint8_t out[64];
	uint32_t n = 0;
	if (!svcctl_call(m, io, opnum, &r, out, &n)) {
		if (r.bad)
			unmodelled(io, "pipe=svcctl rpc-malformed opnum=%u stub-length=%u", opnum, len - hdr);
		else if (opnum < sizeof opnum_names / sizeof opnum_names[0])
			snprintf(io->unmodelled, sizeof io->unmodelled, "pipe=svcctl rpc-opnum=%u (%s)", opnum,
				 opnum_names[opnum]);
		else
			unmodelled(io, "pipe=svcctl rpc-opnum=%u%.0u", opnum, 0);
		reply_fault(c, call_id, ctx, r.bad ? NCA_PROTO_ERROR : NCA_OP_RNG_ERROR);
		return;
	}
	io->opnum = opnum;
	io->has_opnum = true;
	reply_response(c, call_id, ctx, out, n);
}

/* ===================================================================== */
/* The control pipe                                                       */
/* ===================================================================== */

/* Queue the next order (service_start_info) if one is due. */
static bool control_order(struct wemu *m, struct wsvc_conn *c)
{
	struct wsvc *v = m->svc;
	size_t i;
	uint32_t control;
	if (c->awaiting >= 0 || !next_order(v, &i, &control))
		return false;
	struct svc_service *s = &v->svcs[i];
	size_t nl = strlen(s->decl->name) + 1; /* WCHARs with the NUL */
	/* a start carries the arguments: argv[0] is the service name */
	size_t nargs = control == SERVICE_CONTROL_START ? nl : 0;
	uint32_t total = (uint32_t)(16 + 2 * (nl + nargs));
	uint8_t b[16 + 4 * (WSCN_SERVICE_NAME_MAX + 1)];
	p32(b, WINE_SERVICE_MAGIC);
	p32(b + 4, total);
	p32(b + 8, (uint32_t)nl);
	p32(b + 12, control);
	for (size_t k = 0; k < nl; k++)
		p16(b + 16 + 2 * k, k + 1 < nl ? (uint8_t)s->decl->name[k] : 0);
	if (nargs)
		memcpy(b + 16 + 2 * nl, b + 16, 2 * nl);
	if (!out_append(c, b, total))
		return false;
	if (control == SERVICE_CONTROL_START)
		s->start_sent = true;
	else
		s->next_control++;
	c->awaiting = (int)i;
	update_ready(v, c);
	return true;
}

static void control_reply(struct wemu *m, struct wsvc_conn *c, struct wsvc_io *io)
{
	struct wsvc *v = m->svc;
	while (c->inlen >= 4) {
		uint32_t result = g32(c->in);
		memmove(c->in, c->in + 4, c->inlen - 4);
		c->inlen -= 4;
		if (c->awaiting < 0) {
			unmodelled(io, "pipe=control unexpected-write=0x%x%.0u", result, 0);
			continue;
		}
		snprintf(io->status, sizeof io->status, "service-control name=%s result=%" PRIu32 "\n",
			 v->svcs[c->awaiting].decl->name, result);
		io->status_len = (uint32_t)strlen(io->status);
		c->awaiting = -1;
	}
	update_ready(v, c);
}

/* ===================================================================== */
/* I/O                                                                    */
/* ===================================================================== */

uint32_t wemu_svc_write(struct wemu *m, struct wsvc_conn *c, const uint8_t *data, uint32_t len, struct wsvc_io *io)
{
	if (c->broken)
		return 0xC000014Bu; /* STATUS_PIPE_BROKEN */
	if (len > SVC_IN_MAX - c->inlen) {
		unmodelled(io, "pipe-write-too-large=%u buffered=%u", len, c->inlen);
		c->broken = true;
		return 0xC000014Bu;
	}
	memcpy(c->in + c->inlen, data, len);
	c->inlen += len;
	if (c->kind == SP_CONTROL) {
		control_reply(m, c, io);
		return ST_SUCCESS;
	}
	while (c->inlen >= 16 && !c->broken) {
		uint32_t frag = g16(c->in + 8);
		if (c->in[0] != 5 || c->in[1] != 0 || (c->in[4] & 0xf0) != 0x10 || frag < 16 || frag > SVC_PDU_MAX) {
			unmodelled(io, "pipe=svcctl rpc-header version=%u frag-length=%u", c->in[0], frag);
			c->broken = true;
			break;
		}
		if (c->inlen < frag)
			break;
		svcctl_pdu(m, c, io, c->in, frag);
		memmove(c->in, c->in + frag, c->inlen - frag);
		c->inlen -= frag;
	}
	return ST_SUCCESS;
}

uint32_t wemu_svc_read(struct wemu *m, struct wsvc_conn *c, uint8_t *buf, uint32_t cap, uint32_t *n,
		       struct wobj **wait_on)
{
	*n = 0;
	*wait_on = NULL;
	if (c->outpos == c->outlen && c->kind == SP_CONTROL)
		control_order(m, c);
	if (c->outpos == c->outlen) {
		if (c->kind == SP_CONTROL) {
			/* no order now: the read waits until one is due */
			update_ready(m->svc, c);
			*wait_on = m->svc->order_ready;
			return ST_PENDING;
		}
		/* svcctl is request/response: a read with nothing asked
		 * would wait forever */
		return 0xC000014Bu; /* STATUS_PIPE_BROKEN */
	}
	uint32_t avail = c->outlen - c->outpos;
	if (c->kind == SP_SVCCTL) {
		/* message mode: a read ends at the end of the current PDU, and a
		 * short read of it is STATUS_BUFFER_OVERFLOW */
		if (c->msg_end <= c->outpos)
			c->msg_end = c->outpos + g16(c->out + c->outpos + 8);
		avail = c->msg_end - c->outpos;
	}
	uint32_t k = avail < cap ? avail : cap;
	memcpy(buf, c->out + c->outpos, k);
	c->outpos += k;
	*n = k;
	if (c->outpos == c->outlen) {
		c->outpos = c->outlen = 0;
		c->msg_end = 0;
	}
	/* the control pipe is a byte-mode pipe: a short read is a success */
	return k < avail && c->kind == SP_SVCCTL ? ST_BUFFER_OVERFLOW : ST_SUCCESS;
}
