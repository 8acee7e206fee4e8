/*
 * Guest protocol decoder (and names of types and errors): see proto.h and docs/guest-protocol.md.
 * No I/O, no allocation; the encoder is in proto_encode.c.
 *
 * Decoding walks the payload with a cursor that checks each field's length before reading it and remembers the
 * first error; after the last field the cursor must be empty (except for a trailing `bytes` field).
 */
#include "proto.h"

#include <string.h>

static const char *const err_names[PE_COUNT] = {
	[PE_OK] = "ok",
	[PE_NEED_MORE] = "incomplete frame",
	[PE_TOO_LONG] = "payload length exceeds 1048576",
	[PE_FLAGS] = "non-zero flags",
	[PE_UNKNOWN_TYPE] = "unknown message type",
	[PE_SHORT_PAYLOAD] = "payload ends inside a field",
	[PE_TRAILING] = "trailing bytes after the last field",
	[PE_NUL] = "NUL byte in a string",
	[PE_STRLIST_COUNT] = "string list has more than 4096 entries",
	[PE_ZERO_ID] = "request id 0",
	[PE_BAD_VALUE] = "field value out of range",
};

const char *proto_strerror(int err)
{
	if (err < 0 || err >= PE_COUNT)
		return "unknown error";
	return err_names[err];
}

const char *proto_type_name(unsigned type)
{
	switch (type) {
	case PT_HELLO: return "HELLO";
	case PT_MOUNT_ROOT: return "MOUNT_ROOT";
	case PT_MOUNT: return "MOUNT";
	case PT_RUN: return "RUN";
	case PT_STDIN: return "STDIN";
	case PT_KILL: return "KILL";
	case PT_CREDIT: return "CREDIT";
	case PT_SYNC: return "SYNC";
	case PT_SHUTDOWN: return "SHUTDOWN";
	case PT_NET_CONFIG: return "NET_CONFIG";
	case PT_LIMITS: return "LIMITS";
	case PT_OK: return "OK";
	case PT_ERROR: return "ERROR";
	case PT_HELLO_OK: return "HELLO_OK";
	case PT_OUTPUT: return "OUTPUT";
	case PT_EXIT: return "EXIT";
	case PT_LOG: return "LOG";
	default: return "unknown";
	}
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- decoding ---- */

struct cur {
	const uint8_t *p;
	uint32_t left;
	int err;    /* first error, PE_OK if none */
	int no_nul; /* strings must not contain NUL */
};

static const uint8_t *take(struct cur *c, uint32_t n)
{
	if (c->err)
		return NULL;
#ifndef PROTO_FUZZ_PLANTED_BUG /* only the fuzzer's proof build (make -C init fuzz-planted) removes this check */
	if (n > c->left) {
		c->err = PE_SHORT_PAYLOAD;
		return NULL;
	}
#endif
	const uint8_t *at = c->p;
	c->p += n;
	c->left -= n;
	return at;
}

static uint8_t get_u8(struct cur *c)
{
	const uint8_t *p = take(c, 1);
	return p ? p[0] : 0;
}

static uint32_t get_u32(struct cur *c)
{
	const uint8_t *p = take(c, 4);
	return p ? rd32(p) : 0;
}

static uint64_t get_u64(struct cur *c)
{
	const uint8_t *p = take(c, 8);
	return p ? (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32 : 0;
}

static struct proto_str get_str(struct cur *c)
{
	struct proto_str s = { "", 0 };
	uint32_t len = get_u32(c);
	const uint8_t *p = take(c, len);
	if (!p)
		return s;
	if (c->no_nul && memchr(p, 0, len)) {
		c->err = PE_NUL;
		return s;
	}
	s.p = (const char *)p;
	s.len = len;
	return s;
}

static struct proto_strlist get_strlist(struct cur *c)
{
	struct proto_strlist l = { 0, NULL, 0 };
	uint32_t count = get_u32(c);
	if (c->err)
		return l;
	if (count > PROTO_MAX_STRLIST) {
		c->err = PE_STRLIST_COUNT;
		return l;
	}
	const uint8_t *start = c->p;
	uint32_t before = c->left;
	for (uint32_t i = 0; i < count && !c->err; i++)
		get_str(c);
	if (c->err)
		return l;
	l.count = count;
	l.p = start;
	l.size = before - c->left;
	return l;
}

static struct proto_bytes get_rest(struct cur *c)
{
	struct proto_bytes b = { c->p, c->err ? 0 : c->left };
	if (!c->err) {
		c->p += c->left;
		c->left = 0;
	}
	return b;
}

static void get_raw(struct cur *c, uint8_t *dst, uint32_t n)
{
	const uint8_t *p = take(c, n);
	if (p)
		memcpy(dst, p, n);
}

/* A list count: PE_BAD_VALUE above max. Returns the count, 0 after an error. */
static uint32_t get_count(struct cur *c, uint32_t max)
{
	uint32_t n = get_u32(c);
	if (c->err)
		return 0;
	if (n > max) {
		c->err = PE_BAD_VALUE;
		return 0;
	}
	return n;
}

static int host_name_ok(const uint8_t *p, uint32_t len)
{
	if (len == 0 || len > PROTO_NET_MAX_HOSTNAME)
		return 0;
	for (uint32_t i = 0; i < len; i++) {
		uint8_t b = p[i];
		if (!((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '.' ||
		      b == '-' || b == '_'))
			return 0;
	}
	return 1;
}

/* Netmask of a prefix (0..32) in host byte order. */
static uint32_t prefix_mask(uint8_t prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

static void get_net_config(struct cur *c, struct proto_msg *m)
{
	__typeof__(m->u.net_config) *n = &m->u.net_config;
	get_raw(c, n->device_mac, 6);
	get_raw(c, n->mac, 6);
	n->mtu = get_u32(c);
	if (!c->err && (n->mtu < PROTO_NET_MIN_MTU || n->mtu > PROTO_NET_MAX_MTU))
		c->err = PE_BAD_VALUE;
	n->flags = get_u32(c);
	if (!c->err && (n->flags & ~PROTO_NET_FLAGS_KNOWN))
		c->err = PE_BAD_VALUE;

	uint32_t count = get_count(c, PROTO_NET_MAX_ADDRS);
	if (!c->err && count == 0)
		c->err = PE_BAD_VALUE;
	for (uint32_t i = 0; i < count && !c->err; i++) {
		get_raw(c, n->addrs[i].addr, 4);
		n->addrs[i].prefix = get_u8(c);
		if (!c->err && (n->addrs[i].prefix < 1 || n->addrs[i].prefix > 32))
			c->err = PE_BAD_VALUE;
	}
	n->n_addrs = c->err ? 0 : count;

	count = get_count(c, PROTO_NET_MAX_ROUTES);
	for (uint32_t i = 0; i < count && !c->err; i++) {
		struct proto_net_route *r = &n->routes[i];
		get_raw(c, r->dest, 4);
		r->prefix = get_u8(c);
		get_raw(c, r->gateway, 4);
		r->metric = get_u32(c);
		if (!c->err && (r->prefix > 32 ||
				((uint32_t)r->dest[0] << 24 | (uint32_t)r->dest[1] << 16 | (uint32_t)r->dest[2] << 8 |
				 r->dest[3]) & ~prefix_mask(r->prefix)))
			c->err = PE_BAD_VALUE;
	}
	n->n_routes = c->err ? 0 : count;

	count = get_count(c, PROTO_NET_MAX_HOSTS);
	const uint8_t *start = c->p;
	uint32_t before = c->left;
	c->no_nul = 0; /* a NUL is a byte outside the name's set: PE_BAD_VALUE like any other */
	for (uint32_t i = 0; i < count && !c->err; i++) {
		take(c, 4);
		struct proto_str name = get_str(c);
		if (!c->err && !host_name_ok((const uint8_t *)name.p, name.len))
			c->err = PE_BAD_VALUE;
	}
	c->no_nul = 1;
	if (!c->err) {
		n->hosts.count = count;
		n->hosts.p = start;
		n->hosts.size = before - c->left;
	}

	count = get_count(c, PROTO_NET_MAX_NS);
	for (uint32_t i = 0; i < count && !c->err; i++)
		get_raw(c, n->ns[i], 4);
	n->n_ns = c->err ? 0 : count;
}

int proto_decode_header(const void *buf, size_t n, struct proto_hdr *h)
{
	const uint8_t *p = buf;
	if (n < PROTO_HDR_SIZE)
		return PE_NEED_MORE;
	h->len = rd32(p);
	h->type = (uint16_t)(p[4] | p[5] << 8);
	h->flags = (uint16_t)(p[6] | p[7] << 8);
	h->id = rd32(p + 8);
	if (h->len > PROTO_MAX_PAYLOAD)
		return PE_TOO_LONG;
	if (h->flags != 0)
		return PE_FLAGS;
	return PE_OK;
}

static int decode_host(struct cur *c, struct proto_msg *m)
{
	c->no_nul = 1;
	switch (m->h.type) {
	case PT_HELLO:
		m->u.hello.version = get_u32(c);
		break;
	case PT_MOUNT_ROOT:
		m->u.mount_root.image_serial = get_str(c);
		m->u.mount_root.upper_serial = get_str(c);
		m->u.mount_root.tmpfs_size = get_u64(c);
		m->u.mount_root.hostname = get_str(c);
		break;
	case PT_MOUNT:
		m->u.mount.fstype = get_str(c);
		m->u.mount.source = get_str(c);
		m->u.mount.target = get_str(c);
		m->u.mount.options = get_str(c);
		m->u.mount.flags = get_u32(c);
		if (!c->err && (m->u.mount.flags & ~PROTO_MOUNT_FLAGS_KNOWN))
			c->err = PE_BAD_VALUE;
		break;
	case PT_RUN:
		m->u.run.proc_id = get_u32(c);
		m->u.run.uid = get_u32(c);
		m->u.run.gid = get_u32(c);
		m->u.run.flags = get_u32(c);
		m->u.run.path = get_str(c);
		m->u.run.cwd = get_str(c);
		m->u.run.argv = get_strlist(c);
		m->u.run.env = get_strlist(c);
		break;
	case PT_STDIN:
		m->u.input.proc_id = get_u32(c);
		m->u.input.data = get_rest(c);
		break;
	case PT_KILL:
		m->u.kill.proc_id = get_u32(c);
		m->u.kill.sig = (int32_t)get_u32(c);
		break;
	case PT_CREDIT:
		m->u.credit.proc_id = get_u32(c);
		m->u.credit.bytes = get_u32(c);
		break;
	case PT_SYNC:
	case PT_SHUTDOWN:
		break;
	case PT_NET_CONFIG:
		get_net_config(c, m);
		break;
	case PT_LIMITS:
		m->u.limits.pids_max = get_u32(c);
		m->u.limits.mem_reserve = get_u64(c);
		m->u.limits.cpu_weight = get_u32(c);
		if (!c->err && (m->u.limits.cpu_weight < PROTO_LIMITS_MIN_WEIGHT ||
				m->u.limits.cpu_weight > PROTO_LIMITS_MAX_WEIGHT))
			c->err = PE_BAD_VALUE;
		break;
	default:
		return PE_UNKNOWN_TYPE;
	}
	if (!c->err && m->h.type != PT_CREDIT && m->h.id == 0)
		return PE_ZERO_ID;
	return PE_OK;
}

static int decode_guest(struct cur *c, struct proto_msg *m)
{
	c->no_nul = 0;
	switch (m->h.type) {
	case PT_OK:
		break;
	case PT_ERROR:
		m->u.error.err = (int32_t)get_u32(c);
		m->u.error.msg = get_str(c);
		break;
	case PT_HELLO_OK:
		m->u.hello_ok.version = get_u32(c);
		m->u.hello_ok.desc = get_str(c);
		break;
	case PT_OUTPUT:
		m->u.output.proc_id = get_u32(c);
		m->u.output.fd = get_u8(c);
		m->u.output.data = get_rest(c);
		if (!c->err && (m->u.output.fd < 1 || m->u.output.fd > 2 || m->u.output.data.len == 0 ||
				m->u.output.data.len > PROTO_MAX_OUTPUT))
			c->err = PE_BAD_VALUE;
		break;
	case PT_EXIT:
		m->u.exit.proc_id = get_u32(c);
		m->u.exit.code = (int32_t)get_u32(c);
		m->u.exit.sig = (int32_t)get_u32(c);
		break;
	case PT_LOG:
		m->u.log.level = get_u8(c);
		m->u.log.msg = get_str(c);
		if (!c->err && m->u.log.level > PROTO_LOG_FATAL)
			c->err = PE_BAD_VALUE;
		break;
	default:
		return PE_UNKNOWN_TYPE;
	}
	if (!c->err && m->h.type < PT_OUTPUT && m->h.id == 0)
		return PE_ZERO_ID;
	return PE_OK;
}

int proto_decode(const void *buf, size_t n, enum proto_dir dir, struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	int r = proto_decode_header(buf, n, &m->h);
	if (r != PE_OK)
		return r;
	if (n - PROTO_HDR_SIZE < m->h.len)
		return PE_NEED_MORE;
	struct cur c = { (const uint8_t *)buf + PROTO_HDR_SIZE, m->h.len, PE_OK, 0 };
	r = dir == PROTO_FROM_HOST ? decode_host(&c, m) : decode_guest(&c, m);
	if (r != PE_OK)
		return r;
	if (c.err)
		return c.err;
	if (c.left)
		return PE_TRAILING;
	return PE_OK;
}

int proto_strlist_next(const struct proto_strlist *l, uint32_t *off, struct proto_str *s)
{
	/* The decoder validated every entry; the bounds checks stay so a hand-made list cannot overrun. */
	if (*off + 4u > l->size || *off + 4u < *off)
		return 0;
	uint32_t len = rd32(l->p + *off);
	if (len > l->size - *off - 4u)
		return 0;
	s->p = (const char *)l->p + *off + 4;
	s->len = len;
	*off += 4u + len;
	return 1;
}

int proto_net_hosts_next(const struct proto_net_hosts *l, uint32_t *off, struct proto_net_host *h)
{
	/* As proto_strlist_next: validated by the decoder, bounds-checked anyway. */
	if (*off > l->size || l->size - *off < 8u)
		return 0;
	uint32_t len = rd32(l->p + *off + 4);
	if (len > l->size - *off - 8u)
		return 0;
	memcpy(h->addr, l->p + *off, 4);
	h->name.p = (const char *)l->p + *off + 8;
	h->name.len = len;
	*off += 8u + len;
	return 1;
}
