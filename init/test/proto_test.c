/*
 * Tests of the guest protocol codec (src/proto.c), TAP output ("ok N - name"), built with the host's gcc and
 * -fsanitize=address,undefined so any out-of-bounds read is a failure.
 *
 *   proto-test [--vectors FILE] [--malformed FILE]
 *       golden frames, every malformed case, split and mutation sweeps; then every frame of the shared vectors
 *       (test/vectors/guest/frames.txt must decode, malformed.txt must be rejected) when the files exist
 *   proto-test --replay FILE      decode FILE's bytes as a sequence of frames (a crashing input becomes a vector)
 */
#include "proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"


/* Hex (spaces ignored) to bytes; returns the length or -1. */
static long unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		int v;
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			v = *p - 'A' + 10;
		else
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? (long)n : -1;
}

static enum proto_dir dir_of(const uint8_t *f, size_t n)
{
	return n >= 6 && f[4] >= 0x80 ? PROTO_FROM_GUEST : PROTO_FROM_HOST;
}

static int str_eq(struct proto_str s, const char *c)
{
	return s.len == strlen(c) && memcmp(s.p, c, s.len) == 0;
}

/* ---- golden frames: decode, check fields, re-encode to the same bytes ---- */

struct golden {
	const char *name, *hex;
	int (*check)(const struct proto_msg *m);
};

static int ck_hello(const struct proto_msg *m) { return m->h.id == 1 && m->u.hello.version == 1; }
static int ck_mount_root(const struct proto_msg *m)
{
	return str_eq(m->u.mount_root.image_serial, "rootfs-0") && str_eq(m->u.mount_root.upper_serial, "") &&
	       m->u.mount_root.tmpfs_size == 0x100000000ull && str_eq(m->u.mount_root.hostname, "vm");
}
static int ck_mount(const struct proto_msg *m)
{
	return str_eq(m->u.mount.fstype, "virtiofs") && str_eq(m->u.mount.source, "vol0") &&
	       str_eq(m->u.mount.target, "/in") && str_eq(m->u.mount.options, "") &&
	       m->u.mount.flags == PROTO_MOUNT_SEED;
}
static int ck_run(const struct proto_msg *m)
{
	struct proto_str s;
	uint32_t off = 0;
	int good = m->u.run.proc_id == 7 && m->u.run.uid == 1000 && m->u.run.gid == 100 && m->u.run.flags == 1 &&
		   str_eq(m->u.run.path, "sh") && str_eq(m->u.run.cwd, "/") && m->u.run.argv.count == 2 &&
		   m->u.run.env.count == 1;
	good = good && proto_strlist_next(&m->u.run.argv, &off, &s) && str_eq(s, "sh");
	good = good && proto_strlist_next(&m->u.run.argv, &off, &s) && str_eq(s, "-c");
	good = good && !proto_strlist_next(&m->u.run.argv, &off, &s);
	off = 0;
	good = good && proto_strlist_next(&m->u.run.env, &off, &s) && str_eq(s, "A=1");
	return good;
}
static int ck_stdin(const struct proto_msg *m)
{
	return m->u.input.proc_id == 7 && m->u.input.data.len == 3 && memcmp(m->u.input.data.p, "hi\n", 3) == 0;
}
static int ck_stdin_close(const struct proto_msg *m) { return m->u.input.proc_id == 7 && m->u.input.data.len == 0; }
static int ck_kill(const struct proto_msg *m) { return m->u.kill.proc_id == 7 && m->u.kill.sig == 9; }
static int ck_credit(const struct proto_msg *m) { return m->h.id == 0 && m->u.credit.bytes == 65536; }
static int ck_empty(const struct proto_msg *m) { return m->h.len == 0; }
static int ck_error(const struct proto_msg *m) { return m->u.error.err == 2 && str_eq(m->u.error.msg, "exec sh2: No such file or directory"); }
static int ck_hello_ok(const struct proto_msg *m) { return m->u.hello_ok.version == 1 && str_eq(m->u.hello_ok.desc, "ya-init 0.1.0"); }
static int ck_output(const struct proto_msg *m)
{
	return m->u.output.proc_id == 7 && m->u.output.fd == 1 && m->u.output.data.len == 3 &&
	       memcmp(m->u.output.data.p, "hi\n", 3) == 0;
}
static int ck_exit(const struct proto_msg *m) { return m->u.exit.proc_id == 7 && m->u.exit.code == 137 && m->u.exit.sig == 9; }
static int ip_eq(const uint8_t *a, unsigned b0, unsigned b1, unsigned b2, unsigned b3)
{
	return a[0] == b0 && a[1] == b1 && a[2] == b2 && a[3] == b3;
}
static int ck_net_config(const struct proto_msg *m)
{
	const __typeof__(m->u.net_config) *n = &m->u.net_config;
	static const uint8_t dmac[6] = { 0x90, 0x13, 0, 0, 0, 1 }, mac[6] = { 0x90, 0x13, 0, 0, 0, 2 };
	int good = m->h.id == 10 && memcmp(n->device_mac, dmac, 6) == 0 && memcmp(n->mac, mac, 6) == 0 &&
		   n->mtu == 1500 && n->flags == PROTO_NET_ISOLATE && n->n_addrs == 2 &&
		   ip_eq(n->addrs[0].addr, 192, 168, 0, 2) &&
		   n->addrs[0].prefix == 24 && ip_eq(n->addrs[1].addr, 10, 1, 2, 3) && n->addrs[1].prefix == 8 &&
		   n->n_routes == 2 && ip_eq(n->routes[0].dest, 0, 0, 0, 0) && n->routes[0].prefix == 0 &&
		   ip_eq(n->routes[0].gateway, 192, 168, 0, 1) && n->routes[0].metric == 0 &&
		   ip_eq(n->routes[1].dest, 10, 0, 0, 0) && n->routes[1].prefix == 8 &&
		   ip_eq(n->routes[1].gateway, 0, 0, 0, 0) && n->routes[1].metric == 5 && n->hosts.count == 2 &&
		   n->n_ns == 2 && ip_eq(n->ns[0], 1, 1, 1, 1) && ip_eq(n->ns[1], 8, 8, 8, 8);
	struct proto_net_host h;
	uint32_t off = 0;
	good = good && proto_net_hosts_next(&n->hosts, &off, &h) && ip_eq(h.addr, 192, 168, 0, 1) && str_eq(h.name, "gw");
	good = good && proto_net_hosts_next(&n->hosts, &off, &h) && ip_eq(h.addr, 10, 0, 0, 1) &&
	       str_eq(h.name, "a-b_c.D9");
	good = good && !proto_net_hosts_next(&n->hosts, &off, &h) && off == n->hosts.size;
	return good;
}
static int ck_net_config_min(const struct proto_msg *m)
{
	const __typeof__(m->u.net_config) *n = &m->u.net_config;
	struct proto_net_host h;
	uint32_t off = 0;
	return m->h.id == 11 && memcmp(n->device_mac, n->mac, 6) == 0 && n->mtu == 68 && n->flags == 0 &&
	       n->n_addrs == 1 &&
	       ip_eq(n->addrs[0].addr, 10, 0, 0, 2) && n->addrs[0].prefix == 32 && n->n_routes == 0 &&
	       n->hosts.count == 0 && n->n_ns == 0 && !proto_net_hosts_next(&n->hosts, &off, &h);
}
static int ck_limits(const struct proto_msg *m)
{
	return m->u.limits.pids_max == 1024 && m->u.limits.mem_reserve == 33554432 && m->u.limits.cpu_weight == 100;
}
static int ck_log(const struct proto_msg *m) { return m->u.log.level == 2 && str_eq(m->u.log.msg, "boom"); }

static const struct golden GOLDEN[] = {
	{ "HELLO", "04000000 0100 0000 01000000 01000000", ck_hello },
	{ "MOUNT_ROOT", "1e000000 0200 0000 02000000 08000000 726f6f7466732d30 00000000 0000000001000000 02000000 766d",
	  ck_mount_root },
	{ "MOUNT", "23000000 0300 0000 03000000 08000000 76697274696f6673 04000000 766f6c30 03000000 2f696e 00000000"
		   " 01000000", ck_mount },
	{ "LIMITS", "10000000 0b00 0000 09000000 00040000 0000000200000000 64000000", ck_limits },
	{ "RUN", "36000000 0400 0000 04000000 07000000 e8030000 64000000 01000000 02000000 7368 01000000 2f"
		 " 02000000 02000000 7368 02000000 2d63 01000000 03000000 413d31", ck_run },
	{ "STDIN", "07000000 0500 0000 05000000 07000000 68690a", ck_stdin },
	{ "STDIN close", "04000000 0500 0000 06000000 07000000", ck_stdin_close },
	{ "KILL", "08000000 0600 0000 07000000 07000000 09000000", ck_kill },
	{ "CREDIT", "08000000 0700 0000 00000000 07000000 00000100", ck_credit },
	{ "SYNC", "00000000 0800 0000 08000000", ck_empty },
	{ "SHUTDOWN", "00000000 0900 0000 09000000", ck_empty },
	{ "NET_CONFIG", "6a000000 0a00 0000 0a000000 901300000001 901300000002 dc050000 01000000"
			" 02000000 c0a80002 18 0a010203 08"
			" 02000000 00000000 00 c0a80001 00000000 0a000000 08 00000000 05000000"
			" 02000000 c0a80001 02000000 6777 0a000001 08000000 612d625f632e4439"
			" 02000000 01010101 08080808", ck_net_config },
	{ "NET_CONFIG minimal", "29000000 0a00 0000 0b000000 901300000001 901300000001 44000000 00000000"
				" 01000000 0a000002 20 00000000 00000000 00000000", ck_net_config_min },
	{ "OK", "00000000 8000 0000 04000000", ck_empty },
	{ "ERROR", "2b000000 8100 0000 04000000 02000000 23000000"
		   " 65786563207368323a204e6f20737563682066696c65206f72206469726563746f7279", ck_error },
	{ "HELLO_OK", "15000000 8200 0000 01000000 01000000 0d000000 79612d696e697420302e312e30", ck_hello_ok },
	{ "OUTPUT", "08000000 9000 0000 00000000 07000000 01 68690a", ck_output },
	{ "EXIT", "0c000000 9100 0000 00000000 07000000 89000000 09000000", ck_exit },
	{ "LOG", "09000000 9200 0000 00000000 02 04000000 626f6f6d", ck_log },
};

static void test_golden(void)
{
	uint8_t f[256], again[256];
	for (size_t i = 0; i < sizeof(GOLDEN) / sizeof(GOLDEN[0]); i++) {
		const struct golden *g = &GOLDEN[i];
		struct proto_msg m;
		long n = unhex(g->hex, f, sizeof(f));
		int e = n < 0 ? -1 : proto_decode(f, (size_t)n, dir_of(f, (size_t)n), &m);
		ok(e == PE_OK && (size_t)n == PROTO_HDR_SIZE + m.h.len, "golden %s decodes (%s)", g->name, proto_strerror(e));
		ok(e == PE_OK && (!g->check || g->check(&m)), "golden %s fields", g->name);
		struct proto_msg keep = m;
		size_t en = e == PE_OK ? proto_encode(again, sizeof(again), &m) : 0;
		ok(en == (size_t)n && memcmp(again, f, en) == 0, "golden %s re-encodes to the same bytes", g->name);
		/* every strict prefix is incomplete, never an error or a success */
		int prefixes = 1;
		for (long k = 0; k < n; k++)
			prefixes &= proto_decode(f, (size_t)k, dir_of(f, (size_t)n), &m) == PE_NEED_MORE;
		ok(prefixes, "golden %s: every prefix needs more bytes", g->name);
		ok(e == PE_OK && proto_encode(again, (size_t)n - 1, &keep) == 0, "golden %s: encoder refuses a short buffer",
		   g->name);
	}
	/* the ERROR frame's message, built by the encoder */
	struct proto_msg m = { .h = { .type = PT_ERROR, .id = 4 } };
	m.u.error.err = 2;
	m.u.error.msg.p = "exec sh: No such file or directory";
	m.u.error.msg.len = (uint32_t)strlen(m.u.error.msg.p);
	uint8_t f2[128];
	struct proto_msg d;
	size_t n = proto_encode(f2, sizeof(f2), &m);
	ok(n == PROTO_HDR_SIZE + 8 + m.u.error.msg.len && proto_decode(f2, n, PROTO_FROM_GUEST, &d) == PE_OK &&
		   str_eq(d.u.error.msg, m.u.error.msg.p) && d.u.error.err == 2,
	   "ERROR built by the encoder decodes");
	/* OUTPUT head written in place */
	uint8_t out[PROTO_OUTPUT_HEAD + 3];
	memcpy(out + PROTO_OUTPUT_HEAD, "hi\n", 3);
	n = proto_encode_output_head(out, 7, 1, 3);
	ok(n == sizeof(out) && proto_decode(out, n, PROTO_FROM_GUEST, &d) == PE_OK && ck_output(&d),
	   "OUTPUT head written in place decodes");
}

/* ---- malformed frames: the exact rejection reason ---- */

struct bad {
	const char *name, *hex;
	enum proto_dir dir;
	int want;
	int keep_len; /* 0: the test sets len to the payload's real length, so only the payload is malformed */
};

static const struct bad BAD[] = {
	{ "empty input", "", PROTO_FROM_HOST, PE_NEED_MORE, 1 },
	{ "short header (11 bytes)", "04000000 0100 0000 010000", PROTO_FROM_HOST, PE_NEED_MORE, 1 },
	{ "len > MAX_PAYLOAD", "01001000 0100 0000 01000000", PROTO_FROM_HOST, PE_TOO_LONG, 1 },
	{ "len 0xffffffff", "ffffffff 0500 0000 01000000", PROTO_FROM_HOST, PE_TOO_LONG, 1 },
	{ "len > bytes present", "08000000 0100 0000 01000000 01000000", PROTO_FROM_HOST, PE_NEED_MORE, 1 },
	{ "flags set", "04000000 0100 0100 01000000 01000000", PROTO_FROM_HOST, PE_FLAGS, 0 },
	{ "flags high bit", "00000000 0800 0080 01000000", PROTO_FROM_HOST, PE_FLAGS, 0 },
	{ "unknown host type 0x0c", "00000000 0c00 0000 01000000", PROTO_FROM_HOST, PE_UNKNOWN_TYPE, 0 },
	{ "LIMITS cpu_weight 0", "10000000 0b00 0000 01000000 00040000 0000000200000000 00000000", PROTO_FROM_HOST,
	  PE_BAD_VALUE, 0 },
	{ "LIMITS cpu_weight 10001", "10000000 0b00 0000 01000000 00040000 0000000200000000 11270000", PROTO_FROM_HOST,
	  PE_BAD_VALUE, 0 },
	{ "LIMITS short", "0c000000 0b00 0000 01000000 00040000 0000000200000000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "unknown host type 0x0000", "00000000 0000 0000 01000000", PROTO_FROM_HOST, PE_UNKNOWN_TYPE, 0 },
	{ "guest type sent by host", "00000000 8000 0000 01000000", PROTO_FROM_HOST, PE_UNKNOWN_TYPE, 0 },
	{ "host type sent by guest", "04000000 0100 0000 01000000 01000000", PROTO_FROM_GUEST, PE_UNKNOWN_TYPE, 0 },
	{ "unknown guest type 0x93", "00000000 9300 0000 00000000", PROTO_FROM_GUEST, PE_UNKNOWN_TYPE, 0 },
	{ "type in high byte", "00000000 0001 0000 01000000", PROTO_FROM_HOST, PE_UNKNOWN_TYPE, 0 },
	{ "HELLO payload too short", "03000000 0100 0000 01000000 010000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "HELLO trailing byte", "05000000 0100 0000 01000000 01000000 00", PROTO_FROM_HOST, PE_TRAILING, 0 },
	{ "SYNC trailing byte", "01000000 0800 0000 01000000 00", PROTO_FROM_HOST, PE_TRAILING, 0 },
	{ "truncated str (len 9, 8 left)", "0c000000 0300 0000 01000000 09000000 76697274696f6673", PROTO_FROM_HOST,
	  PE_SHORT_PAYLOAD, 0 },
	{ "str len 0xffffffff", "08000000 0300 0000 01000000 ffffffff 00000000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "str length field cut", "02000000 0300 0000 01000000 0100", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "MOUNT missing last field", "17000000 0300 0000 03000000 08000000 76697274696f6673 04000000 766f6c30 03000000 2f696e",
	  PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NUL in path", "1f000000 0300 0000 03000000 08000000 76697274696f6673 04000000 766f6c30 03000000 2f0069 00000000"
			 " 00000000", PROTO_FROM_HOST, PE_NUL, 0 },
	{ "MOUNT unknown flag", "23000000 0300 0000 03000000 08000000 76697274696f6673 04000000 766f6c30 03000000 2f696e"
				" 00000000 02000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NUL in env entry", "26000000 0400 0000 04000000 07000000 00000000 00000000 00000000 02000000 7368 00000000"
			      " 00000000 01000000 02000000 4100", PROTO_FROM_HOST, PE_NUL, 0 },
	{ "strlist count 4097", "1c000000 0400 0000 04000000 07000000 00000000 00000000 00000000 02000000 7368 00000000 01100000",
	  PROTO_FROM_HOST, PE_STRLIST_COUNT, 0 },
	{ "strlist count 0xffffffff", "1c000000 0400 0000 04000000 07000000 00000000 00000000 00000000 02000000 7368 00000000"
				      " ffffffff", PROTO_FROM_HOST, PE_STRLIST_COUNT, 0 },
	{ "strlist count larger than entries", "24000000 0400 0000 04000000 07000000 00000000 00000000 00000000 02000000 7368"
					       " 00000000 02000000 02000000 7368", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "RUN trailing after env", "21000000 0400 0000 04000000 07000000 00000000 00000000 00000000 02000000 7368 00000000"
				    " 00000000 00000000 ff", PROTO_FROM_HOST, PE_TRAILING, 0 },
	{ "KILL short", "06000000 0600 0000 07000000 07000000 0900", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "CREDIT trailing", "09000000 0700 0000 00000000 07000000 00000100 00", PROTO_FROM_HOST, PE_TRAILING, 0 },
	{ "STDIN without proc_id", "02000000 0500 0000 05000000 0700", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "request id 0", "04000000 0100 0000 00000000 01000000", PROTO_FROM_HOST, PE_ZERO_ID, 0 },
	{ "reply id 0", "00000000 8000 0000 00000000", PROTO_FROM_GUEST, PE_ZERO_ID, 0 },
	{ "OUTPUT fd 3", "08000000 9000 0000 00000000 07000000 03 68690a", PROTO_FROM_GUEST, PE_BAD_VALUE, 0 },
	{ "OUTPUT empty data", "05000000 9000 0000 00000000 07000000 01", PROTO_FROM_GUEST, PE_BAD_VALUE, 0 },
	{ "LOG level 3", "09000000 9200 0000 00000000 03 04000000 626f6f6d", PROTO_FROM_GUEST, PE_BAD_VALUE, 0 },
	{ "EXIT short", "08000000 9100 0000 00000000 07000000 89000000", PROTO_FROM_GUEST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG MTU 67", "00000000 0a00 0000 01000000 901300000001 901300000002 43000000 00000000 01000000 0a000002 18 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG MTU 65536", "00000000 0a00 0000 01000000 901300000001 901300000002 00000100 00000000 01000000 0a000002 18 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG MTU 0", "00000000 0a00 0000 01000000 901300000001 901300000002 00000000 00000000 01000000 0a000002 18 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG flags 2 (unknown bit)", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 02000000 01000000 0a000002 18 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG flags 3 (isolate + unknown bit)", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 03000000 01000000 0a000002 18 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG flags 0x80000000", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000080 01000000 0a000002 18 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG flags 0xffffffff", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 ffffffff 01000000 0a000002 18 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG cut inside flags", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 0100", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG flags missing", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG no address", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 00000000 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG 17 addresses", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 11000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG address count 0xffffffff", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 ffffffff", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG address prefix 0", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 00 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG address prefix 33", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 21 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG bad prefix of the second address", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 02000000 0a000002 18 0a000003 ff 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG 17 routes", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 11000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG route prefix 33", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 01000000 0a000000 21 00000000 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG route dest 10.0.0.1/8 (host bits)", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 01000000 0a000001 08 00000000 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG route dest 0.0.0.1/0 (host bits)", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 01000000 00000001 00 0a000001 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG route dest 10.0.0.128/25 (host bit)", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 01000000 0a000080 18 00000000 00000000 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG 4097 hosts", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01100000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG host name empty", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01000000 0a000001 00000000 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG host name with a space", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01000000 0a000001 03000000 612062 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG host name with a newline", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01000000 0a000001 03000000 610a62 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG host name with a tab", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01000000 0a000001 02000000 6109 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG host name with a NUL", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01000000 0a000001 02000000 6100 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG host name with a byte >= 0x80", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01000000 0a000001 02000000 61c3 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG host name with a slash", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01000000 0a000001 03000000 612f62 00000000", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG 4 nameservers", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 00000000 04000000 01010101 01010101 01010101 01010101", PROTO_FROM_HOST, PE_BAD_VALUE, 0 },
	{ "NET_CONFIG cut inside mtu", "00000000 0a00 0000 01000000 901300000001 901300000002 dc05", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG cut inside an address", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a0000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG address prefix missing", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG address count larger than entries", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 02000000 0a000002 18", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG cut inside a route metric", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 01000000 0a000000 08 00000000 0000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG host name runs past the payload", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01000000 0a000001 09000000 6777 00000000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG cut inside a host address", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 01000000 0a00", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG nameserver count missing", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 00000000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG nameserver cut", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 00000000 01000000 010101", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG trailing byte", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 00000000 00000000 00", PROTO_FROM_HOST, PE_TRAILING, 0 },
	{ "NET_CONFIG trailing nameserver", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 00000000 01000000 01010101 01010101", PROTO_FROM_HOST, PE_TRAILING, 0 },
	{ "NET_CONFIG cut inside device_mac", "00000000 0a00 0000 01000000 90130000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG empty payload", "00000000 0a00 0000 01000000", PROTO_FROM_HOST, PE_SHORT_PAYLOAD, 0 },
	{ "NET_CONFIG id 0", "00000000 0a00 0000 00000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 00000000 00000000", PROTO_FROM_HOST, PE_ZERO_ID, 0 },
	{ "NET_CONFIG from the guest", "00000000 0a00 0000 01000000 901300000001 901300000002 dc050000 00000000 01000000 0a000002 18 00000000 00000000 00000000", PROTO_FROM_GUEST, PE_UNKNOWN_TYPE, 0 },
	{ "ERROR message cut", "0a000000 8100 0000 04000000 02000000 05000000 6869", PROTO_FROM_GUEST, PE_SHORT_PAYLOAD, 0 },
};

static void test_bad(void)
{
	uint8_t f[256];
	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
		struct proto_msg m;
		long n = unhex(BAD[i].hex, f, sizeof(f));
		if (!BAD[i].keep_len && n >= (long)PROTO_HDR_SIZE) {
			uint32_t len = (uint32_t)n - PROTO_HDR_SIZE;
			f[0] = (uint8_t)len; f[1] = (uint8_t)(len >> 8); f[2] = (uint8_t)(len >> 16); f[3] = (uint8_t)(len >> 24);
		}
		/* decode from a heap copy of exactly n bytes, so ASan catches any read past the end */
		uint8_t *exact = malloc(n > 0 ? (size_t)n : 1);
		memcpy(exact, f, n > 0 ? (size_t)n : 0);
		int e = n < 0 ? -1 : proto_decode(exact, (size_t)n, BAD[i].dir, &m);
		ok(e == BAD[i].want, "malformed: %s -> %s (got %s)", BAD[i].name, proto_strerror(BAD[i].want),
		   proto_strerror(e));
		free(exact);
	}
	/* a big frame: STDIN with MAX_PAYLOAD bytes is fine, one more is not */
	size_t big = PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD;
	uint8_t *b = calloc(1, big);
	struct proto_msg m;
	b[0] = 0x00; b[1] = 0x00; b[2] = 0x10; b[4] = PT_STDIN; b[8] = 1; b[12] = 7;
	ok(proto_decode(b, big, PROTO_FROM_HOST, &m) == PE_OK && m.u.input.data.len == PROTO_MAX_PAYLOAD - 4,
	   "STDIN of exactly MAX_PAYLOAD decodes");
	ok(proto_decode(b, big - 1, PROTO_FROM_HOST, &m) == PE_NEED_MORE, "STDIN of MAX_PAYLOAD minus one byte present");
	free(b);
}

/* ---- NET_CONFIG limits, built in code (frames too big for the tables above) ---- */

struct buf {
	uint8_t *p;
	size_t n;
};

static void b_put(struct buf *b, const void *src, size_t len)
{
	memcpy(b->p + b->n, src, len);
	b->n += len;
}

static void b_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	b_put(b, x, 4);
}

static void b_u8(struct buf *b, uint8_t v)
{
	b_put(b, &v, 1);
}

/* NET_CONFIG with the given flags, n_addrs addresses, n_routes routes, n_hosts hosts named name_len x 'a',
 * n_ns nameservers. */
static size_t build_net_config(uint8_t *out, uint32_t mtu, uint32_t flags, uint32_t n_addrs, uint32_t n_routes,
			       uint32_t n_hosts, uint32_t name_len, uint32_t n_ns)
{
	struct buf b = { out, PROTO_HDR_SIZE };
	static const uint8_t mac[6] = { 0x90, 0x13, 0, 0, 0, 1 };
	b_put(&b, mac, 6);
	b_put(&b, mac, 6);
	b_u32(&b, mtu);
	b_u32(&b, flags);
	b_u32(&b, n_addrs);
	for (uint32_t i = 0; i < n_addrs; i++) {
		uint8_t a[4] = { 10, 0, (uint8_t)i, 2 };
		b_put(&b, a, 4);
		b_u8(&b, (uint8_t)(i == 0 ? 32 : 24));
	}
	b_u32(&b, n_routes);
	for (uint32_t i = 0; i < n_routes; i++) {
		uint8_t d[4] = { 172, (uint8_t)(16 + i), 0, (uint8_t)(i == 0 ? 7 : 0) }, g[4] = { 10, 0, 0, 1 };
		b_put(&b, d, 4);
		b_u8(&b, (uint8_t)(i == 0 ? 32 : 16));
		b_put(&b, g, 4);
		b_u32(&b, i == 1 ? 0xffffffffu : i);
	}
	b_u32(&b, n_hosts);
	for (uint32_t i = 0; i < n_hosts; i++) {
		uint8_t a[4] = { 10, 1, (uint8_t)(i >> 8), (uint8_t)i };
		b_put(&b, a, 4);
		b_u32(&b, name_len);
		memset(b.p + b.n, 'a', name_len);
		b.n += name_len;
	}
	b_u32(&b, n_ns);
	for (uint32_t i = 0; i < n_ns; i++) {
		uint8_t a[4] = { 9, 9, 9, (uint8_t)i };
		b_put(&b, a, 4);
	}
	uint32_t len = (uint32_t)(b.n - PROTO_HDR_SIZE);
	struct buf h = { out, 0 };
	b_u32(&h, len);
	uint8_t t[8] = { PT_NET_CONFIG, 0, 0, 0, 12, 0, 0, 0 };
	b_put(&h, t, 8);
	return b.n;
}

/* Decode from an exact heap copy; on success also re-encode and walk the hosts. */
static int decode_net_config(const uint8_t *f, size_t n, int *roundtrip, uint32_t *hosts_walked)
{
	uint8_t *exact = malloc(n), *again = malloc(n);
	memcpy(exact, f, n);
	struct proto_msg m;
	int e = proto_decode(exact, n, PROTO_FROM_HOST, &m);
	*roundtrip = 0;
	*hosts_walked = 0;
	if (e == PE_OK) {
		*roundtrip = proto_encode(again, n, &m) == n && memcmp(again, exact, n) == 0;
		struct proto_net_host h;
		uint32_t off = 0;
		while (proto_net_hosts_next(&m.u.net_config.hosts, &off, &h))
			(*hosts_walked)++;
	}
	free(exact);
	free(again);
	return e;
}

static void test_net_config_limits(void)
{
	size_t cap = 1 << 20;
	uint8_t *f = malloc(cap);
	int rt;
	uint32_t walked;
	size_t n = build_net_config(f, 65535, 1, 16, 16, 3, 253, 3);
	int e = decode_net_config(f, n, &rt, &walked);
	ok(e == PE_OK && rt && walked == 3, "NET_CONFIG: MTU 65535, 16 addresses, 16 routes, 253-byte names, 3 "
	   "nameservers decode and re-encode (%s)", proto_strerror(e));
	n = build_net_config(f, 1500, 0, 1, 0, 4096, 20, 0);
	e = decode_net_config(f, n, &rt, &walked);
	ok(e == PE_OK && rt && walked == 4096, "NET_CONFIG: 4096 hosts decode, re-encode and walk (%s)",
	   proto_strerror(e));
	n = build_net_config(f, 1500, 0, 1, 0, 4097, 1, 0);
	ok(decode_net_config(f, n, &rt, &walked) == PE_BAD_VALUE, "NET_CONFIG: 4097 hosts -> bad value");
	n = build_net_config(f, 1500, 0, 1, 0, 2, 254, 0);
	ok(decode_net_config(f, n, &rt, &walked) == PE_BAD_VALUE, "NET_CONFIG: 254-byte host name -> bad value");
	n = build_net_config(f, 1500, 0, 17, 0, 0, 0, 0);
	ok(decode_net_config(f, n, &rt, &walked) == PE_BAD_VALUE, "NET_CONFIG: 17 whole addresses -> bad value");
	n = build_net_config(f, 1500, 0, 1, 17, 0, 0, 0);
	ok(decode_net_config(f, n, &rt, &walked) == PE_BAD_VALUE, "NET_CONFIG: 17 whole routes -> bad value");
	n = build_net_config(f, 1500, 0, 1, 0, 0, 0, 4);
	ok(decode_net_config(f, n, &rt, &walked) == PE_BAD_VALUE, "NET_CONFIG: 4 whole nameservers -> bad value");
	/* every strict prefix of a big valid frame needs more bytes; every payload cut is a short payload */
	n = build_net_config(f, 9000, 1, 3, 3, 3, 5, 2);
	int prefixes = 1, cuts = 1;
	for (size_t k = 0; k < n; k++) {
		struct proto_msg m;
		prefixes &= proto_decode(f, k, PROTO_FROM_HOST, &m) == PE_NEED_MORE;
	}
	for (size_t k = PROTO_HDR_SIZE; k < n; k++) {
		uint8_t *cut = malloc(k);
		memcpy(cut, f, k);
		uint32_t len = (uint32_t)(k - PROTO_HDR_SIZE);
		cut[0] = (uint8_t)len; cut[1] = (uint8_t)(len >> 8); cut[2] = 0; cut[3] = 0;
		struct proto_msg m;
		cuts &= proto_decode(cut, k, PROTO_FROM_HOST, &m) == PE_SHORT_PAYLOAD;
		free(cut);
	}
	ok(prefixes && cuts, "NET_CONFIG: every prefix needs more bytes, every shorter len is a short payload");
	/* the encoder refuses counts over the arrays */
	struct proto_msg m = { .h = { .type = PT_NET_CONFIG, .id = 1 } };
	m.u.net_config.mtu = 1500;
	m.u.net_config.n_addrs = PROTO_NET_MAX_ADDRS + 1;
	ok(proto_encode(f, cap, &m) == 0, "NET_CONFIG: encoder refuses 17 addresses");
	/* flags: NET_ISOLATE round-trips, unknown bits are refused */
	m.u.net_config.n_addrs = 1;
	m.u.net_config.addrs[0].addr[0] = 10;
	m.u.net_config.addrs[0].prefix = 8;
	m.u.net_config.flags = PROTO_NET_ISOLATE;
	struct proto_msg d;
	n = proto_encode(f, cap, &m);
	ok(n == PROTO_HDR_SIZE + 6 + 6 + 4 + 4 + 4 + 5 + 4 + 4 + 4 && f[PROTO_HDR_SIZE + 16] == 1 &&
		   proto_decode(f, n, PROTO_FROM_HOST, &d) == PE_OK && d.u.net_config.flags == PROTO_NET_ISOLATE,
	   "NET_CONFIG: flags NET_ISOLATE encodes after the MTU and decodes back");
	m.u.net_config.flags = 0;
	n = proto_encode(f, cap, &m);
	ok(n > 0 && proto_decode(f, n, PROTO_FROM_HOST, &d) == PE_OK && d.u.net_config.flags == 0,
	   "NET_CONFIG: flags 0 round-trips");
	m.u.net_config.flags = 2;
	ok(proto_encode(f, cap, &m) == 0, "NET_CONFIG: encoder refuses an unknown flags bit");
	free(f);
}

/* ---- sweeps: random bytes and mutated golden frames never crash and never decode past the input ---- */

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void test_sweeps(void)
{
	int sane = 1;
	for (int it = 0; it < 20000; it++) {
		const struct golden *g = &GOLDEN[rnd() % (sizeof(GOLDEN) / sizeof(GOLDEN[0]))];
		uint8_t f[256];
		long n = unhex(g->hex, f, sizeof(f));
		int flips = 1 + (int)(rnd() % 4);
		for (int k = 0; k < flips && n > 0; k++)
			f[rnd() % (uint32_t)n] ^= (uint8_t)(1u << (rnd() % 8));
		size_t cut = rnd() % 3 == 0 ? rnd() % ((size_t)n + 1) : (size_t)n;
		uint8_t *exact = malloc(cut ? cut : 1);
		memcpy(exact, f, cut);
		struct proto_msg m;
		for (int d = 0; d < 2; d++) {
			int e = proto_decode(exact, cut, d ? PROTO_FROM_GUEST : PROTO_FROM_HOST, &m);
			if (e == PE_OK && PROTO_HDR_SIZE + (size_t)m.h.len > cut)
				sane = 0;
			if (e == PE_OK && m.h.type == PT_RUN) { /* walk the lists the decoder accepted */
				struct proto_str s;
				uint32_t off = 0, cnt = 0;
				while (proto_strlist_next(&m.u.run.argv, &off, &s))
					cnt++;
				sane &= cnt == m.u.run.argv.count;
			}
			if (e == PE_OK && m.h.type == PT_NET_CONFIG) {
				struct proto_net_host h;
				uint32_t off = 0, cnt = 0;
				while (proto_net_hosts_next(&m.u.net_config.hosts, &off, &h))
					cnt++;
				sane &= cnt == m.u.net_config.hosts.count && m.u.net_config.n_addrs >= 1 &&
					m.u.net_config.n_addrs <= PROTO_NET_MAX_ADDRS &&
					m.u.net_config.n_routes <= PROTO_NET_MAX_ROUTES && m.u.net_config.n_ns <= PROTO_NET_MAX_NS;
			}
		}
		free(exact);
	}
	ok(sane, "20000 mutated golden frames: no crash, no success past the input");
	for (int it = 0; it < 20000; it++) {
		size_t n = rnd() % 64;
		uint8_t *buf = malloc(n ? n : 1);
		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)rnd();
		if (n >= 12 && rnd() % 2) { /* plausible header: small len, zero flags, known-ish type */
			buf[0] = (uint8_t)(n - 12); buf[1] = buf[2] = buf[3] = 0; buf[6] = buf[7] = 0;
			buf[4] = (uint8_t)(rnd() % 2 ? rnd() % 11 : 0x80 + rnd() % 0x14); buf[5] = 0;
		}
		struct proto_msg m;
		proto_decode(buf, n, PROTO_FROM_HOST, &m);
		proto_decode(buf, n, PROTO_FROM_GUEST, &m);
		free(buf);
	}
	ok(1, "20000 random inputs: no crash");
}

/* ---- vectors shared with the TypeScript decoder ---- */

/* Pairs of lines: "# <host->guest|guest->host>: <text>" then the whole frame in hex. frames.txt holds valid
 * frames (each must decode and re-encode to the same bytes), malformed.txt frames every decoder must reject. */
static void test_vectors(const char *path, int expect_bad)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f) {
		printf("# no vectors file %s: skipped\n", path ? path : "(none)");
		return;
	}
	char *line = NULL, comment[512] = "";
	size_t cap = 0;
	int count = 0;
	uint8_t *buf = malloc(PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD + 16), *again = malloc(PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD);
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\r\n")] = 0;
		const char *p = line + strspn(line, " \t");
		if (*p == '#') {
			snprintf(comment, sizeof(comment), "%s", p + 1 + strspn(p + 1, " "));
			continue;
		}
		if (!*p)
			continue;
		long n = unhex(p, buf, PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD + 16);
		enum proto_dir dir = strncmp(comment, "guest->host", 11) == 0 ? PROTO_FROM_GUEST
				     : strncmp(comment, "host->guest", 11) == 0 ? PROTO_FROM_HOST
				     : dir_of(buf, n > 0 ? (size_t)n : 0);
		struct proto_msg m;
		int e = n < 0 ? -1 : proto_decode(buf, (size_t)n, dir, &m);
		int whole = e == PE_OK && (size_t)n == PROTO_HDR_SIZE + m.h.len;
		count++;
		if (expect_bad) {
			ok(n >= 0 && !whole, "%s %d (%s): rejected (%s)", path, count, comment, proto_strerror(e));
			continue;
		}
		ok(whole, "%s %d (%s): decodes (%s)", path, count, comment, proto_strerror(e));
		size_t en = whole ? proto_encode(again, PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD, &m) : 0;
		ok(whole && en == (size_t)n && memcmp(again, buf, en) == 0, "%s %d: re-encodes to the same bytes", path, count);
	}
	printf("# %d vectors from %s\n", count, path);
	free(line);
	free(buf);
	free(again);
	fclose(f);
}

static int replay(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 2;
	}
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	size_t r;
	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	/* shrink to the exact size so ASan sees any read past the input */
	uint8_t *exact = malloc(n ? n : 1);
	memcpy(exact, buf, n);
	free(buf);
	size_t off = 0;
	int frames = 0;
	while (off < n) {
		struct proto_msg m;
		int e = proto_decode(exact + off, n - off, dir_of(exact + off, n - off), &m);
		printf("frame %d at %zu: type 0x%x (%s) id %u len %u: %s\n", frames++, off, m.h.type,
		       proto_type_name(m.h.type), m.h.id, m.h.len, proto_strerror(e));
		if (e == PE_NEED_MORE || e == PE_TOO_LONG || e == PE_FLAGS)
			break;
		off += PROTO_HDR_SIZE + m.h.len;
	}
	free(exact);
	return 0;
}

int main(int argc, char **argv)
{
	const char *vectors = NULL, *malformed = NULL;
	if (argc == 3 && strcmp(argv[1], "--replay") == 0)
		return replay(argv[2]);
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 < argc && strcmp(argv[i], "--vectors") == 0)
			vectors = argv[i + 1];
		else if (i + 1 < argc && strcmp(argv[i], "--malformed") == 0)
			malformed = argv[i + 1];
		else {
			fprintf(stderr, "usage: %s [--vectors FRAMES] [--malformed FRAMES] | --replay FILE\n", argv[0]);
			return 2;
		}
	}
	printf("TAP version 13\n");
	test_golden();
	test_bad();
	test_net_config_limits();
	test_sweeps();
	test_vectors(vectors, 0);
	test_vectors(malformed, 1);
	printf("1..%d\n", g_n);
	if (g_failed)
		printf("# %d of %d failed\n", g_failed, g_n);
	return g_failed ? 1 : 0;
}
