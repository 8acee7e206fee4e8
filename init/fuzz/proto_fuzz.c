/*
 * libFuzzer target of the guest protocol decoder (src/proto.c), built with clang -fsanitize=fuzzer,address,undefined
 * by `make -C init fuzz` (never part of the init build). For each input it:
 *   1. decodes the input as one frame in both directions (host->guest, guest->host);
 *   2. for every frame that decodes, walks its string lists and NET_CONFIG hosts list, re-encodes it and checks the
 *      bytes are the frame's own (decode then encode is the identity) and that they decode again;
 *   3. decodes the input as a stream of frames, as the guest's read loop does, until one cannot be skipped.
 * A property failure is an abort(), so libFuzzer keeps the input as a crash like any sanitizer report. The input is
 * the exact-size buffer libFuzzer hands over, so ASan sees any read past it.
 */
#include "proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t again[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD];

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "proto_fuzz: property failed: %s\n", what);
		abort();
	}
}

/* Touch every byte a view claims, so a view past the input is an ASan report here. */
static volatile uint8_t sink;
static void touch(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	for (uint32_t i = 0; i < len; i++)
		sink ^= b[i];
}

static void walk_strlist(const struct proto_strlist *l)
{
	uint32_t off = 0, n = 0;
	struct proto_str s;
	while (proto_strlist_next(l, &off, &s)) {
		touch(s.p, s.len);
		n++;
	}
	check(n == l->count, "a decoded strlist walks to its count");
	check(off == l->size, "a decoded strlist walks to its size");
}

static void walk_hosts(const struct proto_net_hosts *l)
{
	uint32_t off = 0, n = 0;
	struct proto_net_host h;
	while (proto_net_hosts_next(l, &off, &h)) {
		touch(h.name.p, h.name.len);
		n++;
	}
	check(n == l->count, "a decoded hosts list walks to its count");
	check(off == l->size, "a decoded hosts list walks to its size");
}

static void one_frame(const uint8_t *data, size_t size, enum proto_dir dir)
{
	struct proto_msg m;
	int e = proto_decode(data, size, dir, &m);
	check(e >= 0 && e < PE_COUNT, "the decoder returns a known result");
	if (e != PE_OK)
		return;
	size_t len = PROTO_HDR_SIZE + m.h.len;
	check(len <= size, "a decoded frame lies inside the input");
	if (dir == PROTO_FROM_HOST && m.h.type == PT_RUN) {
		walk_strlist(&m.u.run.argv);
		walk_strlist(&m.u.run.env);
	}
	if (dir == PROTO_FROM_HOST && m.h.type == PT_NET_CONFIG)
		walk_hosts(&m.u.net_config.hosts);
	size_t en = proto_encode(again, sizeof(again), &m);
	check(en == len, "a decoded frame re-encodes to its own length");
	check(memcmp(again, data, len) == 0, "a decoded frame re-encodes to its own bytes");
	struct proto_msg m2;
	check(proto_decode(again, en, dir, &m2) == PE_OK, "a re-encoded frame decodes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_frame(data, size, PROTO_FROM_HOST);
	one_frame(data, size, PROTO_FROM_GUEST);
	size_t off = 0;
	while (off < size) {
		struct proto_msg m;
		enum proto_dir dir = size - off >= 6 && data[off + 4] >= 0x80 ? PROTO_FROM_GUEST : PROTO_FROM_HOST;
		int e = proto_decode(data + off, size - off, dir, &m);
		if (e == PE_NEED_MORE || e == PE_TOO_LONG || e == PE_FLAGS)
			break;
		off += PROTO_HDR_SIZE + m.h.len;
	}
	return 0;
}
