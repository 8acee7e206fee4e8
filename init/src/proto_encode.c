/*
 * Guest protocol encoder: see proto.h. Writes into a caller buffer, never past its capacity; no I/O, no allocation.
 */
#include "proto.h"

#include <string.h>

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- encoding ---- */

struct out {
	uint8_t *p;
	size_t cap, n;
	int bad;
};

static void put(struct out *o, const void *src, size_t len)
{
	if (o->bad || len > o->cap - o->n) {
		o->bad = 1;
		return;
	}
	if (len)
		memcpy(o->p + o->n, src, len);
	o->n += len;
}

static void put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put_u32(struct out *o, uint32_t v)
{
	uint8_t b[4];
	wr32(b, v);
	put(o, b, 4);
}

static void put_u64(struct out *o, uint64_t v)
{
	uint8_t b[8];
	wr64(b, v);
	put(o, b, 8);
}

static void put_str(struct out *o, struct proto_str s)
{
	put_u32(o, s.len);
	put(o, s.p, s.len);
}

static void put_strlist(struct out *o, struct proto_strlist l)
{
	put_u32(o, l.count);
	put(o, l.p, l.size);
}

static void encode_payload(struct out *o, const struct proto_msg *m)
{
	switch (m->h.type) {
	case PT_HELLO: put_u32(o, m->u.hello.version); break;
	case PT_MOUNT_ROOT:
		put_str(o, m->u.mount_root.image_serial);
		put_str(o, m->u.mount_root.upper_serial);
		put_u64(o, m->u.mount_root.tmpfs_size);
		put_str(o, m->u.mount_root.hostname);
		break;
	case PT_MOUNT:
		put_str(o, m->u.mount.fstype);
		put_str(o, m->u.mount.source);
		put_str(o, m->u.mount.target);
		put_str(o, m->u.mount.options);
		put_u32(o, m->u.mount.flags);
		break;
	case PT_RUN:
		put_u32(o, m->u.run.proc_id);
		put_u32(o, m->u.run.uid);
		put_u32(o, m->u.run.gid);
		put_u32(o, m->u.run.flags);
		put_str(o, m->u.run.path);
		put_str(o, m->u.run.cwd);
		put_strlist(o, m->u.run.argv);
		put_strlist(o, m->u.run.env);
		break;
	case PT_STDIN:
		put_u32(o, m->u.input.proc_id);
		put(o, m->u.input.data.p, m->u.input.data.len);
		break;
	case PT_KILL:
		put_u32(o, m->u.kill.proc_id);
		put_u32(o, (uint32_t)m->u.kill.sig);
		break;
	case PT_CREDIT:
		put_u32(o, m->u.credit.proc_id);
		put_u32(o, m->u.credit.bytes);
		break;
	case PT_SYNC: case PT_SHUTDOWN: case PT_OK: break;
	case PT_LIMITS:
		put_u32(o, m->u.limits.pids_max);
		put_u64(o, m->u.limits.mem_reserve);
		put_u32(o, m->u.limits.cpu_weight);
		break;
	case PT_NET_CONFIG: {
		const __typeof__(m->u.net_config) *n = &m->u.net_config;
		if (n->n_addrs > PROTO_NET_MAX_ADDRS || n->n_routes > PROTO_NET_MAX_ROUTES || n->n_ns > PROTO_NET_MAX_NS ||
		    (n->flags & ~PROTO_NET_FLAGS_KNOWN)) {
			o->bad = 1;
			break;
		}
		put(o, n->device_mac, 6);
		put(o, n->mac, 6);
		put_u32(o, n->mtu);
		put_u32(o, n->flags);
		put_u32(o, n->n_addrs);
		for (uint32_t i = 0; i < n->n_addrs; i++) {
			put(o, n->addrs[i].addr, 4);
			put_u8(o, n->addrs[i].prefix);
		}
		put_u32(o, n->n_routes);
		for (uint32_t i = 0; i < n->n_routes; i++) {
			put(o, n->routes[i].dest, 4);
			put_u8(o, n->routes[i].prefix);
			put(o, n->routes[i].gateway, 4);
			put_u32(o, n->routes[i].metric);
		}
		put_u32(o, n->hosts.count);
		put(o, n->hosts.p, n->hosts.size);
		put_u32(o, n->n_ns);
		for (uint32_t i = 0; i < n->n_ns; i++)
			put(o, n->ns[i], 4);
		break;
	}
	case PT_ERROR:
		put_u32(o, (uint32_t)m->u.error.err);
		put_str(o, m->u.error.msg);
		break;
	case PT_HELLO_OK:
		put_u32(o, m->u.hello_ok.version);
		put_str(o, m->u.hello_ok.desc);
		break;
	case PT_OUTPUT:
		put_u32(o, m->u.output.proc_id);
		put_u8(o, m->u.output.fd);
		put(o, m->u.output.data.p, m->u.output.data.len);
		break;
	case PT_EXIT:
		put_u32(o, m->u.exit.proc_id);
		put_u32(o, (uint32_t)m->u.exit.code);
		put_u32(o, (uint32_t)m->u.exit.sig);
		break;
	case PT_LOG:
		put_u8(o, m->u.log.level);
		put_str(o, m->u.log.msg);
		break;
	default: o->bad = 1; break;
	}
}

size_t proto_encode(void *buf, size_t cap, const struct proto_msg *m)
{
	struct out o = { buf, cap, PROTO_HDR_SIZE, cap < PROTO_HDR_SIZE };
	encode_payload(&o, m);
	if (o.bad || o.n - PROTO_HDR_SIZE > PROTO_MAX_PAYLOAD)
		return 0;
	wr32(o.p, (uint32_t)(o.n - PROTO_HDR_SIZE));
	wr16(o.p + 4, m->h.type);
	wr16(o.p + 6, 0);
	wr32(o.p + 8, m->h.id);
	return o.n;
}

size_t proto_encode_output_head(void *buf, uint32_t proc_id, uint8_t fd, uint32_t datalen)
{
	uint8_t *p = buf;
	wr32(p, 5u + datalen);
	wr16(p + 4, PT_OUTPUT);
	wr16(p + 6, 0);
	wr32(p + 8, 0);
	wr32(p + 12, proc_id);
	p[16] = fd;
	return PROTO_OUTPUT_HEAD + datalen;
}
