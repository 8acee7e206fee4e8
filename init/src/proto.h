/*
 * Guest protocol codec (docs/guest-protocol.md, version 4).
 *
 * Frame = 12-byte header {u32 len, u16 type, u16 flags, u32 id} + len bytes of payload, little-endian.
 * The decoder does no I/O and allocates nothing: strings, string lists and byte fields are views into the
 * caller's buffer, valid as long as that buffer is (NET_CONFIG copies its addresses and routes into fixed arrays;
 * its hosts list stays a view). It checks the header size, len <= PROTO_MAX_PAYLOAD and
 * <= the bytes present, flags == 0, the type against the direction, and every field's length before reading it.
 * The encoder writes into a caller buffer and refuses to overrun it.
 */
#ifndef YA_PROTO_H
#define YA_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 4u
#define PROTO_HDR_SIZE 12u
#define PROTO_MAX_PAYLOAD (1024u * 1024u)
#define PROTO_MAX_STRLIST 4096u
#define PROTO_MAX_OUTPUT 65536u
#define PROTO_INITIAL_CREDIT 262144u
#define PROTO_RUN_STDIN 1u
/* MOUNT flags: copy the image's content at the target into the volume when the volume is empty */
#define PROTO_MOUNT_SEED 1u
#define PROTO_MOUNT_FLAGS_KNOWN PROTO_MOUNT_SEED
/* LIMITS: cgroup v2's cpu.weight range */
#define PROTO_LIMITS_MIN_WEIGHT 1u
#define PROTO_LIMITS_MAX_WEIGHT 10000u
/* NET_CONFIG limits */
#define PROTO_NET_MAX_ADDRS 16u
#define PROTO_NET_MAX_ROUTES 16u
#define PROTO_NET_MAX_HOSTS PROTO_MAX_STRLIST
#define PROTO_NET_MAX_NS 3u
#define PROTO_NET_MAX_HOSTNAME 253u
#define PROTO_NET_MIN_MTU 68u
#define PROTO_NET_MAX_MTU 65535u
/* NET_CONFIG flags: packets from the NIC's addresses leave only through it (routing table + rules) */
#define PROTO_NET_ISOLATE 1u
#define PROTO_NET_FLAGS_KNOWN PROTO_NET_ISOLATE
/* OUTPUT payload before its data: u32 proc_id + u8 fd */
#define PROTO_OUTPUT_HEAD (PROTO_HDR_SIZE + 5u)

enum proto_type {
	PT_HELLO = 0x01,
	PT_MOUNT_ROOT = 0x02,
	PT_MOUNT = 0x03,
	PT_RUN = 0x04,
	PT_STDIN = 0x05,
	PT_KILL = 0x06,
	PT_CREDIT = 0x07,
	PT_SYNC = 0x08,
	PT_SHUTDOWN = 0x09,
	PT_NET_CONFIG = 0x0A,
	PT_LIMITS = 0x0B,
	PT_OK = 0x80,
	PT_ERROR = 0x81,
	PT_HELLO_OK = 0x82,
	PT_OUTPUT = 0x90,
	PT_EXIT = 0x91,
	PT_LOG = 0x92,
};

enum proto_dir { PROTO_FROM_HOST, PROTO_FROM_GUEST };

enum proto_log_level { PROTO_LOG_INFO = 0, PROTO_LOG_WARN = 1, PROTO_LOG_FATAL = 2 };

/* Decoder results: 0 is success, the rest are reasons a frame is rejected (PE_NEED_MORE is not an error yet). */
enum proto_err {
	PE_OK = 0,
	PE_NEED_MORE,     /* fewer than 12 bytes, or fewer than 12 + len: read more */
	PE_TOO_LONG,      /* len > PROTO_MAX_PAYLOAD (header is bad: the stream is broken) */
	PE_FLAGS,         /* flags != 0 (header is bad: the stream is broken) */
	PE_UNKNOWN_TYPE,  /* type unknown for this direction */
	PE_SHORT_PAYLOAD, /* a field runs past the end of the payload */
	PE_TRAILING,      /* bytes left after the last field */
	PE_NUL,           /* NUL byte in a string used as a path, argument or environment entry */
	PE_STRLIST_COUNT, /* strlist count > PROTO_MAX_STRLIST */
	PE_ZERO_ID,       /* request or reply with id 0 */
	PE_BAD_VALUE,     /* a field out of its range (OUTPUT fd or size, LOG level; NET_CONFIG: MTU, prefix, a count
			   * over its maximum, no address, route dest with host bits, bad host name) */
	PE_COUNT
};

struct proto_hdr {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
	uint32_t id;
};

struct proto_str {
	const char *p; /* not NUL-terminated */
	uint32_t len;
};

/* An encoded strlist, already validated by the decoder: walk it with proto_strlist_next(). */
struct proto_strlist {
	uint32_t count;
	const uint8_t *p;
	uint32_t size; /* bytes of the encoded entries (after the count) */
};

struct proto_bytes {
	const uint8_t *p;
	uint32_t len;
};

/* NET_CONFIG records. Addresses are 4 bytes in network order (as on the wire). */
struct proto_net_addr {
	uint8_t addr[4];
	uint8_t prefix; /* 1..32 */
};

struct proto_net_route {
	uint8_t dest[4];
	uint8_t prefix; /* 0..32; dest has no bits outside it */
	uint8_t gateway[4]; /* 0.0.0.0 = on-link */
	uint32_t metric;
};

/* NET_CONFIG hosts list (entries {ipv4 addr, str name}), validated by the decoder: walk it with
 * proto_net_hosts_next(). */
struct proto_net_hosts {
	uint32_t count;
	const uint8_t *p;
	uint32_t size; /* bytes of the encoded entries (after the count) */
};

struct proto_net_host {
	uint8_t addr[4];
	struct proto_str name; /* 1..253 bytes of [A-Za-z0-9._-] */
};

struct proto_msg {
	struct proto_hdr h;
	union {
		struct { uint32_t version; } hello;
		struct {
			struct proto_str image_serial, upper_serial;
			uint64_t tmpfs_size;
			struct proto_str hostname;
		} mount_root;
		struct {
			struct proto_str fstype, source, target, options;
			uint32_t flags; /* PROTO_MOUNT_SEED; no other bit */
		} mount;
		struct {
			uint32_t pids_max; /* 0: no limit */
			uint64_t mem_reserve; /* bytes kept out of the requestor group's reach; 0: no memory limit */
			uint32_t cpu_weight; /* the group's cpu.weight, 1..10000 */
		} limits;
		struct {
			uint32_t proc_id, uid, gid, flags;
			struct proto_str path, cwd;
			struct proto_strlist argv, env;
		} run;
		struct { uint32_t proc_id; struct proto_bytes data; } input;
		struct { uint32_t proc_id; int32_t sig; } kill;
		struct { uint32_t proc_id, bytes; } credit;
		struct {
			uint8_t device_mac[6], mac[6];
			uint32_t mtu;
			uint32_t flags; /* PROTO_NET_ISOLATE; no other bit */
			uint32_t n_addrs; /* 1..PROTO_NET_MAX_ADDRS; addrs[0] is the primary */
			struct proto_net_addr addrs[PROTO_NET_MAX_ADDRS];
			uint32_t n_routes;
			struct proto_net_route routes[PROTO_NET_MAX_ROUTES];
			struct proto_net_hosts hosts;
			uint32_t n_ns;
			uint8_t ns[PROTO_NET_MAX_NS][4];
		} net_config;
		struct { int32_t err; struct proto_str msg; } error;
		struct { uint32_t version; struct proto_str desc; } hello_ok;
		struct { uint32_t proc_id; uint8_t fd; struct proto_bytes data; } output;
		struct { uint32_t proc_id; int32_t code, sig; } exit;
		struct { uint8_t level; struct proto_str msg; } log;
	} u;
};

const char *proto_strerror(int err);
const char *proto_type_name(unsigned type);

/* Header of the frame at buf (n bytes present). PE_NEED_MORE when n < 12; PE_TOO_LONG / PE_FLAGS. */
int proto_decode_header(const void *buf, size_t n, struct proto_hdr *h);

/*
 * Decode the frame at buf (n bytes present; bytes after the frame are ignored, the frame is 12 + h.len bytes).
 * m->h is filled whenever the header was readable, so a caller can reply to m->h.id even on error.
 */
int proto_decode(const void *buf, size_t n, enum proto_dir dir, struct proto_msg *m);

/* Next entry of a validated strlist; *off starts at 0. Returns 0 at the end. */
int proto_strlist_next(const struct proto_strlist *l, uint32_t *off, struct proto_str *s);

/* Next entry of a validated NET_CONFIG hosts list; *off starts at 0. Returns 0 at the end. */
int proto_net_hosts_next(const struct proto_net_hosts *l, uint32_t *off, struct proto_net_host *h);

/* Encode m (its h.len is ignored and computed) into buf; returns the frame size, or 0 if cap is too small or
 * the payload would exceed PROTO_MAX_PAYLOAD. */
size_t proto_encode(void *buf, size_t cap, const struct proto_msg *m);

/* Write the header and the u32 proc_id + u8 fd of an OUTPUT frame whose data (datalen bytes) already sits at
 * buf + PROTO_OUTPUT_HEAD; returns the frame size. */
size_t proto_encode_output_head(void *buf, uint32_t proc_id, uint8_t fd, uint32_t datalen);

#endif
