/*
 * Guest network interfaces; see net.h and docs/guest-protocol.md (NET_CONFIG).
 *
 * NET_CONFIG uses the classic ioctls on an AF_INET datagram socket (no netlink, no external programs). The
 * primary address is set on the interface's own name, each further one on an alias label "<if>:N"; the kernel
 * adds the on-link route of each. Undo, in reverse: delete the routes added, remove each alias (SIOCSIFFLAGS
 * without IFF_UP on its label), remove the primary (SIOCSIFADDR 0.0.0.0), bring the interface down, restore its
 * MTU and MAC (so a later NET_CONFIG finds it by device_mac again).
 *
 * NET_ISOLATE (step 3b) is the one part done over NETLINK_ROUTE (hand-built messages, one request and its ack at a
 * time): a routing table 1000 + ifindex with the on-link route of each address's network, the request's routes
 * and an unreachable default, one rule "from <addr>/32 lookup <table>" per address, and arp_announce 2. Its undo
 * runs first: the rules, the table's routes (reverse order), the old arp_announce.
 */
#define _GNU_SOURCE
#include "net.h"
#include "log.h"
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
/* kernel UAPI headers (musl ships none: the Makefile points at the host's, see KHDRS there) */
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#define HOSTS_PATH "/etc/hosts"
#define RESOLV_PATH "/etc/resolv.conf"
#define RESOLV_TMP "/etc/.resolv.conf.ya-tmp"
/* rtentry.rt_metric is a short and the kernel stores rt_metric - 1 as the route's priority. */
#define MAX_IOCTL_METRIC 32766u
/* NET_ISOLATE: table ISO_TABLE_BASE + ifindex, rules at ISO_RULE_PRIORITY. The unreachable default gets the
 * largest metric, so it never collides with (NLM_F_EXCL) or wins over a default route of the request. */
#define ISO_TABLE_BASE 1000u
#define ISO_RULE_PRIORITY 1000u
#define ISO_UNREACHABLE_METRIC 0xffffffffu
#define ISO_MAX_ROUTES (PROTO_NET_MAX_ADDRS + PROTO_NET_MAX_ROUTES + 1u)
#define ARP_ANNOUNCE_FMT "/proc/sys/net/ipv4/conf/%s/arp_announce"

int net_loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("loopback: socket");
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r < 0) {
		fail("loopback: flags of lo");
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
		if (r < 0)
			fail("loopback: bring lo up");
	}
	close(s);
	return r < 0 ? -1 : 0;
}

/* ---- NET_CONFIG ---- */

struct ncfg {
	int s;                 /* AF_INET datagram socket */
	char ifname[IFNAMSIZ]; /* base interface name */
	char *err;
	size_t errlen;
	/* what was changed, for the undo */
	short orig_flags;
	int orig_mtu;
	int set_mac, set_mtu, set_primary, set_up;
	uint32_t n_aliases, n_routes;
	struct rtentry routes[PROTO_NET_MAX_ROUTES];
	/* NET_ISOLATE */
	int nl;        /* NETLINK_ROUTE socket, -1 when not open */
	uint32_t nl_seq;
	uint32_t table;
	int ifindex;
	uint32_t n_iso_routes, n_iso_rules;
	struct iso_route {
		uint8_t dst[4], dst_len, type, scope;
		uint8_t gw[4], src[4]; /* 0.0.0.0: none */
		int oif;               /* 0: none */
		uint32_t priority;
	} iso_routes[ISO_MAX_ROUTES];
	uint8_t iso_rules[PROTO_NET_MAX_ADDRS][4];
	char arp_old[16]; /* arp_announce before; "" when not changed */
};

/* NICs configured so far, by device_mac: a NIC whose MAC NET_CONFIG changed is no longer found by it, and a
 * second NET_CONFIG for it must still get EEXIST, not ENODEV. */
#define MAX_CONFIGURED 32
static struct {
	uint8_t device_mac[6];
	char ifname[IFNAMSIZ];
} g_configured[MAX_CONFIGURED];
static int g_n_configured;

/* Fill err with "what: strerror(e)" (fmt gives "what"); returns e. A message too long for err is cut. */
static int nc_err(struct ncfg *c, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int nc_err(struct ncfg *c, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = snprintf(c->err, c->errlen, "net config");
	if (n >= 0 && (size_t)n < c->errlen)
		snprintf(c->err + n, c->errlen - (size_t)n, ": %s", strerror(e));
	return e;
}

/* Same without the strerror suffix. */
static int nc_msg(struct ncfg *c, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int nc_msg(struct ncfg *c, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(c->err, c->errlen, fmt, ap) < 0)
		snprintf(c->err, c->errlen, "net config");
	va_end(ap);
	return e;
}

static void fmt_ip(char out[16], const uint8_t a[4])
{
	snprintf(out, 16, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static void fmt_mac(char out[18], const uint8_t m[6])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int ip_zero(const uint8_t a[4])
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

static struct sockaddr sa_in(const uint8_t a[4])
{
	struct sockaddr sa;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	memcpy(&sin.sin_addr.s_addr, a, 4); /* already network order */
	memset(&sa, 0, sizeof(sa));
	memcpy(&sa, &sin, sizeof(sin));
	return sa;
}

static void prefix_to_mask(uint8_t prefix, uint8_t out[4])
{
	uint32_t m = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
	out[0] = (uint8_t)(m >> 24);
	out[1] = (uint8_t)(m >> 16);
	out[2] = (uint8_t)(m >> 8);
	out[3] = (uint8_t)m;
}

/* ifr zeroed and named; -1 (errno ENAMETOOLONG) if the name does not fit. */
static int ifr_named(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	int n = snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(ifr->ifr_name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int alias_name(char out[IFNAMSIZ], const char *base, uint32_t n)
{
	int r = snprintf(out, IFNAMSIZ, "%s:%u", base, n);
	if (r < 0 || r >= IFNAMSIZ) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The interface whose hardware address is mac into c->ifname; 0 or an errno (err filled). */
static int find_by_mac(struct ncfg *c, const uint8_t mac[6])
{
	char ms[18];
	fmt_mac(ms, mac);
	struct if_nameindex *ifs = if_nameindex();
	if (!ifs)
		return nc_err(c, errno, "find NIC with MAC %s: list interfaces", ms);
	int found = 0;
	for (struct if_nameindex *i = ifs; i->if_index != 0 && i->if_name && !found; i++) {
		struct ifreq ifr;
		if (ifr_named(&ifr, i->if_name) < 0 || ioctl(c->s, SIOCGIFHWADDR, &ifr) < 0)
			continue;
		if (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER && memcmp(ifr.ifr_hwaddr.sa_data, mac, 6) == 0) {
			memcpy(c->ifname, ifr.ifr_name, sizeof(c->ifname));
			found = 1;
		}
	}
	if_freenameindex(ifs);
	return found ? 0 : nc_msg(c, ENODEV, "no NIC with MAC %s", ms);
}

static int set_addr(struct ncfg *c, const char *name, const struct proto_net_addr *a)
{
	struct ifreq ifr;
	char ip[16];
	fmt_ip(ip, a->addr);
	if (ifr_named(&ifr, name) < 0)
		return nc_err(c, errno, "address %s/%u on %s", ip, a->prefix, name);
	ifr.ifr_addr = sa_in(a->addr);
	if (ioctl(c->s, SIOCSIFADDR, &ifr) < 0)
		return nc_err(c, errno, "address %s/%u on %s", ip, a->prefix, name);
	return 0;
}

static int set_mask(struct ncfg *c, const char *name, const struct proto_net_addr *a)
{
	struct ifreq ifr;
	char ip[16];
	uint8_t mask[4];
	fmt_ip(ip, a->addr);
	prefix_to_mask(a->prefix, mask);
	if (ifr_named(&ifr, name) < 0)
		return nc_err(c, errno, "netmask of %s/%u on %s", ip, a->prefix, name);
	ifr.ifr_netmask = sa_in(mask);
	if (ioctl(c->s, SIOCSIFNETMASK, &ifr) < 0)
		return nc_err(c, errno, "netmask of %s/%u on %s", ip, a->prefix, name);
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* ---- NET_ISOLATE over NETLINK_ROUTE ---- */

/* One request: a bounded buffer; any write past it sets overflow and the request is refused (EMSGSIZE). */
struct nlreq {
	union {
		struct nlmsghdr h;
		char buf[256];
	} u;
	size_t len;
	int overflow;
};

/* Start a request of type with the family header hdr (hlen bytes). */
static void *nl_start(struct nlreq *r, uint16_t type, uint16_t flags, const void *hdr, size_t hlen)
{
	memset(r, 0, sizeof(*r));
	r->len = NLMSG_LENGTH(0);
	if (NLMSG_SPACE(hlen) > sizeof(r->u.buf)) {
		r->overflow = 1;
		return NULL;
	}
	r->u.h.nlmsg_type = type;
	r->u.h.nlmsg_flags = flags;
	void *body = r->u.buf + r->len;
	memcpy(body, hdr, hlen);
	r->len = NLMSG_SPACE(hlen);
	return body;
}

static void nl_attr(struct nlreq *r, uint16_t type, const void *data, size_t dlen)
{
	if (r->overflow || RTA_LENGTH(dlen) > 0xffffu || r->len > sizeof(r->u.buf) ||
	    RTA_SPACE(dlen) > sizeof(r->u.buf) - r->len) {
		r->overflow = 1;
		return;
	}
	struct rtattr *a = (struct rtattr *)(void *)(r->u.buf + r->len);
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(dlen);
	memcpy(RTA_DATA(a), data, dlen);
	r->len += RTA_SPACE(dlen);
}

static void nl_attr_u32(struct nlreq *r, uint16_t type, uint32_t v)
{
	nl_attr(r, type, &v, sizeof(v));
}

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 }; /* the kernel acks at once; never hang PID 1 on it */
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Send the request and wait for its ack: 0, or -errno (the kernel's, or the socket's). */
static int nl_talk(int fd, uint32_t *seqp, struct nlreq *r)
{
	if (r->overflow || r->len > sizeof(r->u.buf))
		return -EMSGSIZE;
	uint32_t seq = ++*seqp;
	r->u.h.nlmsg_len = (uint32_t)r->len;
	r->u.h.nlmsg_seq = seq;
	r->u.h.nlmsg_pid = 0;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t w;
	do
		w = sendto(fd, r->u.buf, r->len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	if ((size_t)w != r->len)
		return -EIO;
	for (;;) {
		union {
			struct nlmsghdr h;
			char buf[8192];
		} in;
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = in.buf, .iov_len = sizeof(in.buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &mh, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -EIO;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (mh.msg_namelen < sizeof(from) || from.nl_pid != 0)
			continue; /* not from the kernel */
		int len = (int)n;
		for (struct nlmsghdr *h = &in.h; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq)
				continue; /* a stale reply */
			if (h->nlmsg_type == NLMSG_ERROR) {
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
					return -EIO;
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (e->error > 0)
					return -EIO;
				return e->error; /* 0: the ack */
			}
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			/* anything else before the ack is ignored */
		}
	}
}

/* RTM_NEWROUTE / RTM_DELROUTE of one table route. */
static int iso_route_msg(struct ncfg *c, uint16_t type, const struct iso_route *rt)
{
	struct nlreq r;
	struct rtmsg rm = {
		.rtm_family = AF_INET,
		.rtm_dst_len = rt->dst_len,
		.rtm_table = RT_TABLE_UNSPEC, /* the table is RTA_TABLE: it is over 255 */
		.rtm_protocol = RTPROT_BOOT,
		.rtm_scope = type == RTM_DELROUTE ? RT_SCOPE_NOWHERE : rt->scope,
		.rtm_type = rt->type,
	};
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWROUTE)
		flags |= NLM_F_CREATE | NLM_F_EXCL;
	nl_start(&r, type, flags, &rm, sizeof(rm));
	nl_attr_u32(&r, RTA_TABLE, c->table);
	if (rt->dst_len > 0)
		nl_attr(&r, RTA_DST, rt->dst, 4);
	if (!ip_zero(rt->gw))
		nl_attr(&r, RTA_GATEWAY, rt->gw, 4);
	if (!ip_zero(rt->src))
		nl_attr(&r, RTA_PREFSRC, rt->src, 4);
	if (rt->oif)
		nl_attr_u32(&r, RTA_OIF, (uint32_t)rt->oif);
	nl_attr_u32(&r, RTA_PRIORITY, rt->priority);
	return nl_talk(c->nl, &c->nl_seq, &r);
}

/* RTM_NEWRULE / RTM_DELRULE "from addr/32 lookup table priority 1000". */
static int iso_rule_msg(struct ncfg *c, uint16_t type, const uint8_t addr[4])
{
	struct nlreq r;
	struct fib_rule_hdr fr = {
		.family = AF_INET,
		.src_len = 32,
		.table = RT_TABLE_UNSPEC, /* FRA_TABLE */
		.action = FR_ACT_TO_TBL,
	};
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == RTM_NEWRULE)
		flags |= NLM_F_CREATE | NLM_F_EXCL;
	nl_start(&r, type, flags, &fr, sizeof(fr));
	nl_attr(&r, FRA_SRC, addr, 4);
	nl_attr_u32(&r, FRA_TABLE, c->table);
	nl_attr_u32(&r, FRA_PRIORITY, ISO_RULE_PRIORITY);
	return nl_talk(c->nl, &c->nl_seq, &r);
}

/* "isolation route ..." for messages. */
static void iso_route_what(const struct ncfg *c, const struct iso_route *rt, char *out, size_t cap)
{
	char dst[16], gw[16], src[16];
	fmt_ip(dst, rt->dst);
	fmt_ip(gw, rt->gw);
	fmt_ip(src, rt->src);
	int n;
	if (rt->type == RTN_UNREACHABLE)
		n = snprintf(out, cap, "isolation route unreachable default table %u on %s", c->table, c->ifname);
	else if (!ip_zero(rt->src))
		n = snprintf(out, cap, "isolation route %s/%u src %s table %u on %s", dst, rt->dst_len, src, c->table,
			     c->ifname);
	else if (!ip_zero(rt->gw))
		n = snprintf(out, cap, "isolation route %s/%u via %s metric %u table %u on %s", dst, rt->dst_len, gw,
			     rt->priority, c->table, c->ifname);
	else
		n = snprintf(out, cap, "isolation route %s/%u metric %u table %u on %s", dst, rt->dst_len,
			     rt->priority, c->table, c->ifname);
	if (n < 0 || (size_t)n >= cap)
		snprintf(out, cap, "isolation route table %u on %s", c->table, c->ifname);
}

/* Add one table route unless one with the same key (dst, dst_len, priority: what NLM_F_EXCL compares) is there
 * already: two addresses on one network, or a request route equal to an address's on-link route. */
static int iso_add_route(struct ncfg *c, const struct iso_route *rt)
{
	for (uint32_t i = 0; i < c->n_iso_routes; i++) {
		const struct iso_route *o = &c->iso_routes[i];
		if (o->dst_len == rt->dst_len && memcmp(o->dst, rt->dst, 4) == 0 && o->priority == rt->priority)
			return 0;
	}
	if (c->n_iso_routes >= ISO_MAX_ROUTES)
		return nc_msg(c, EINVAL, "isolation table %u on %s: too many routes", c->table, c->ifname);
	int e = iso_route_msg(c, RTM_NEWROUTE, rt);
	if (e < 0) {
		char what[160];
		iso_route_what(c, rt, what, sizeof(what));
		return nc_err(c, -e, "%s", what);
	}
	c->iso_routes[c->n_iso_routes++] = *rt;
	return 0;
}

static int read_small(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n;
	do
		n = read(fd, out, cap - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static int write_small(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = write_all(fd, text, strlen(text));
	int e = errno;
	if (close(fd) < 0 && r == 0)
		return -1;
	errno = e;
	return r;
}

/* Step 3b; on failure the caller undoes (iso_undo). */
static int isolate(struct ncfg *c, const struct proto_msg *m)
{
	const __typeof__(m->u.net_config) *n = &m->u.net_config;
	struct ifreq ifr;
	char ip[16], path[96];
	int e;

	if (ifr_named(&ifr, c->ifname) < 0 || ioctl(c->s, SIOCGIFINDEX, &ifr) < 0)
		return nc_err(c, errno, "isolation: index of %s", c->ifname);
	c->ifindex = ifr.ifr_ifindex;
	c->table = ISO_TABLE_BASE + (uint32_t)c->ifindex;
	c->nl = nl_open();
	if (c->nl < 0) {
		e = -c->nl;
		c->nl = -1;
		return nc_err(c, e, "isolation table %u on %s: netlink socket", c->table, c->ifname);
	}

	for (uint32_t i = 0; i < n->n_addrs && i < PROTO_NET_MAX_ADDRS; i++) {
		struct iso_route rt = { .dst_len = n->addrs[i].prefix, .type = RTN_UNICAST, .scope = RT_SCOPE_LINK,
					.oif = c->ifindex };
		uint8_t mask[4];
		prefix_to_mask(n->addrs[i].prefix, mask);
		for (int k = 0; k < 4; k++)
			rt.dst[k] = n->addrs[i].addr[k] & mask[k];
		memcpy(rt.src, n->addrs[i].addr, 4);
		if ((e = iso_add_route(c, &rt)) != 0)
			return e;
	}
	for (uint32_t i = 0; i < n->n_routes && i < PROTO_NET_MAX_ROUTES; i++) {
		const struct proto_net_route *q = &n->routes[i];
		struct iso_route rt = { .dst_len = q->prefix, .type = RTN_UNICAST, .oif = c->ifindex,
					.priority = q->metric };
		memcpy(rt.dst, q->dest, 4);
		memcpy(rt.gw, q->gateway, 4);
		rt.scope = ip_zero(q->gateway) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
		if ((e = iso_add_route(c, &rt)) != 0)
			return e;
	}
	struct iso_route unreach = { .type = RTN_UNREACHABLE, .scope = RT_SCOPE_UNIVERSE,
				     .priority = ISO_UNREACHABLE_METRIC };
	if ((e = iso_add_route(c, &unreach)) != 0)
		return e;

	for (uint32_t i = 0; i < n->n_addrs && i < PROTO_NET_MAX_ADDRS; i++) {
		int dup = 0;
		for (uint32_t k = 0; k < c->n_iso_rules; k++)
			dup |= memcmp(c->iso_rules[k], n->addrs[i].addr, 4) == 0;
		if (dup)
			continue;
		if ((e = iso_rule_msg(c, RTM_NEWRULE, n->addrs[i].addr)) < 0) {
			fmt_ip(ip, n->addrs[i].addr);
			return nc_err(c, -e, "isolation rule from %s lookup %u on %s", ip, c->table, c->ifname);
		}
		memcpy(c->iso_rules[c->n_iso_rules++], n->addrs[i].addr, 4);
	}

	int pn = snprintf(path, sizeof(path), ARP_ANNOUNCE_FMT, c->ifname);
	if (pn < 0 || (size_t)pn >= sizeof(path))
		return nc_msg(c, ENAMETOOLONG, "arp_announce 2 on %s: path too long", c->ifname);
	char old[sizeof(c->arp_old)];
	if (read_small(path, old, sizeof(old)) < 0)
		return nc_err(c, errno, "arp_announce 2 on %s: read %s", c->ifname, path);
	if (old[0] == 0 || strspn(old, "0123456789") != strlen(old))
		return nc_msg(c, EINVAL, "arp_announce 2 on %s: %s holds \"%s\"", c->ifname, path, old);
	if (write_small(path, "2\n") < 0)
		return nc_err(c, errno, "arp_announce 2 on %s", c->ifname);
	memcpy(c->arp_old, old, sizeof(old));
	return 0;
}

/* Best effort: remove what isolate() added, before the addresses and routes go. */
static void iso_undo(struct ncfg *c)
{
	if (c->arp_old[0]) {
		char path[96], text[sizeof(c->arp_old) + 1];
		int pn = snprintf(path, sizeof(path), ARP_ANNOUNCE_FMT, c->ifname);
		snprintf(text, sizeof(text), "%s\n", c->arp_old);
		if (pn > 0 && (size_t)pn < sizeof(path) && write_small(path, text) < 0)
			log_warn("net: restore %s to %s: %s", path, c->arp_old, strerror(errno));
		c->arp_old[0] = 0;
	}
	if (c->nl < 0)
		return;
	while (c->n_iso_rules > 0) {
		int e = iso_rule_msg(c, RTM_DELRULE, c->iso_rules[--c->n_iso_rules]);
		if (e < 0) {
			char ip[16];
			fmt_ip(ip, c->iso_rules[c->n_iso_rules]);
			log_warn("net: delete isolation rule from %s lookup %u on %s: %s", ip, c->table, c->ifname,
				 strerror(-e));
		}
	}
	while (c->n_iso_routes > 0) {
		const struct iso_route *rt = &c->iso_routes[--c->n_iso_routes];
		int e = iso_route_msg(c, RTM_DELROUTE, rt);
		if (e < 0) {
			char what[160];
			iso_route_what(c, rt, what, sizeof(what));
			log_warn("net: delete %s: %s", what, strerror(-e));
		}
	}
}

/* Best effort: put the interface back as it was found. */
static void undo(struct ncfg *c, const uint8_t device_mac[6])
{
	struct ifreq ifr;
	char name[IFNAMSIZ];
	iso_undo(c);
	while (c->n_routes > 0)
		ioctl(c->s, SIOCDELRT, &c->routes[--c->n_routes]);
	while (c->n_aliases > 0) {
		if (alias_name(name, c->ifname, c->n_aliases--) == 0 && ifr_named(&ifr, name) == 0) {
			ifr.ifr_flags = 0;
			ioctl(c->s, SIOCSIFFLAGS, &ifr);
		}
	}
	if (c->set_primary && ifr_named(&ifr, c->ifname) == 0) {
		static const uint8_t zero[4];
		ifr.ifr_addr = sa_in(zero);
		ioctl(c->s, SIOCSIFADDR, &ifr);
	}
	if (c->set_up && ifr_named(&ifr, c->ifname) == 0) {
		ifr.ifr_flags = (short)(c->orig_flags & ~IFF_UP);
		ioctl(c->s, SIOCSIFFLAGS, &ifr);
	}
	if (c->set_mtu && ifr_named(&ifr, c->ifname) == 0) {
		ifr.ifr_mtu = c->orig_mtu;
		ioctl(c->s, SIOCSIFMTU, &ifr);
	}
	if (c->set_mac && ifr_named(&ifr, c->ifname) == 0) {
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, device_mac, 6);
		ioctl(c->s, SIOCSIFHWADDR, &ifr);
	}
}

static int add_route(struct ncfg *c, const struct proto_net_route *r)
{
	char dst[16], gw[16], what[96];
	uint8_t mask[4];
	fmt_ip(dst, r->dest);
	fmt_ip(gw, r->gateway);
	int n = ip_zero(r->gateway) ? snprintf(what, sizeof(what), "route %s/%u on %s", dst, r->prefix, c->ifname)
				    : snprintf(what, sizeof(what), "route %s/%u via %s on %s", dst, r->prefix, gw,
					       c->ifname);
	if (n < 0 || (size_t)n >= sizeof(what))
		snprintf(what, sizeof(what), "route on %s", c->ifname);
	if (r->metric > MAX_IOCTL_METRIC)
		return nc_msg(c, EINVAL, "%s: metric %u over %u", what, r->metric, MAX_IOCTL_METRIC);
	struct rtentry *rt = &c->routes[c->n_routes];
	memset(rt, 0, sizeof(*rt));
	prefix_to_mask(r->prefix, mask);
	rt->rt_dst = sa_in(r->dest);
	rt->rt_genmask = sa_in(mask);
	rt->rt_flags = RTF_UP;
	if (!ip_zero(r->gateway)) {
		rt->rt_gateway = sa_in(r->gateway);
		rt->rt_flags |= RTF_GATEWAY;
	}
	rt->rt_metric = (short)(r->metric + 1); /* the kernel's ioctl path stores rt_metric - 1 */
	rt->rt_dev = c->ifname;
	if (ioctl(c->s, SIOCADDRT, rt) < 0)
		return nc_err(c, errno, "%s", what);
	c->n_routes++;
	return 0;
}

/* Steps 1-3 on the interface; on failure the caller undoes. */
static int configure_if(struct ncfg *c, const struct proto_msg *m)
{
	const __typeof__(m->u.net_config) *n = &m->u.net_config;
	struct ifreq ifr;
	char s1[18], ip[16];
	int e;

	for (int i = 0; i < g_n_configured; i++) {
		if (memcmp(g_configured[i].device_mac, n->device_mac, 6) == 0) {
			fmt_mac(s1, n->device_mac);
			return nc_msg(c, EEXIST, "NIC with MAC %s (%s) already configured", s1, g_configured[i].ifname);
		}
	}
	if ((e = find_by_mac(c, n->device_mac)) != 0)
		return e;
	/* configured once per boot: no IPv4 address yet */
	if (ifr_named(&ifr, c->ifname) < 0)
		return nc_err(c, errno, "address of %s", c->ifname);
	/* sa_family AF_UNSPEC: the kernel matches the interface's own label; EADDRNOTAVAIL when it has none */
	if (ioctl(c->s, SIOCGIFADDR, &ifr) == 0) {
		struct sockaddr_in sin;
		memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
		if (sin.sin_addr.s_addr != 0) {
			uint8_t a[4];
			memcpy(a, &sin.sin_addr.s_addr, 4);
			fmt_ip(ip, a);
			return nc_msg(c, EEXIST, "%s already has address %s", c->ifname, ip);
		}
	} else if (errno != EADDRNOTAVAIL) {
		return nc_err(c, errno, "address of %s", c->ifname);
	}
	if (ifr_named(&ifr, c->ifname) < 0 || ioctl(c->s, SIOCGIFFLAGS, &ifr) < 0)
		return nc_err(c, errno, "flags of %s", c->ifname);
	c->orig_flags = ifr.ifr_flags;
	if (ifr_named(&ifr, c->ifname) < 0 || ioctl(c->s, SIOCGIFMTU, &ifr) < 0)
		return nc_err(c, errno, "MTU of %s", c->ifname);
	c->orig_mtu = ifr.ifr_mtu;

	/* the MAC can only change while the interface is down */
	if (c->orig_flags & IFF_UP) {
		c->set_up = 1; /* the undo leaves it down, as a failed NET_CONFIG should */
		ifr_named(&ifr, c->ifname);
		ifr.ifr_flags = (short)(c->orig_flags & ~IFF_UP);
		if (ioctl(c->s, SIOCSIFFLAGS, &ifr) < 0)
			return nc_err(c, errno, "bring %s down", c->ifname);
	}
	if (memcmp(n->mac, n->device_mac, 6) != 0) {
		fmt_mac(s1, n->mac);
		ifr_named(&ifr, c->ifname);
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, n->mac, 6);
		if (ioctl(c->s, SIOCSIFHWADDR, &ifr) < 0)
			return nc_err(c, errno, "set MAC of %s to %s", c->ifname, s1);
		c->set_mac = 1;
	}
	if ((int)n->mtu != c->orig_mtu) {
		ifr_named(&ifr, c->ifname);
		ifr.ifr_mtu = (int)n->mtu;
		if (ioctl(c->s, SIOCSIFMTU, &ifr) < 0)
			return nc_err(c, errno, "set MTU of %s to %u", c->ifname, n->mtu);
		c->set_mtu = 1;
	}

	if ((e = set_addr(c, c->ifname, &n->addrs[0])) != 0)
		return e;
	c->set_primary = 1;
	if ((e = set_mask(c, c->ifname, &n->addrs[0])) != 0)
		return e;
	for (uint32_t i = 1; i < n->n_addrs && i < PROTO_NET_MAX_ADDRS; i++) {
		char alias[IFNAMSIZ];
		if (alias_name(alias, c->ifname, i) < 0) {
			fmt_ip(ip, n->addrs[i].addr);
			return nc_err(c, errno, "address %s/%u on %s:%u", ip, n->addrs[i].prefix, c->ifname, i);
		}
		if ((e = set_addr(c, alias, &n->addrs[i])) != 0)
			return e;
		c->n_aliases = i;
		if ((e = set_mask(c, alias, &n->addrs[i])) != 0)
			return e;
	}

	if (ifr_named(&ifr, c->ifname) < 0 || ioctl(c->s, SIOCGIFFLAGS, &ifr) < 0)
		return nc_err(c, errno, "flags of %s", c->ifname);
	ifr.ifr_flags |= IFF_UP;
	c->set_up = 1;
	if (ioctl(c->s, SIOCSIFFLAGS, &ifr) < 0)
		return nc_err(c, errno, "bring %s up", c->ifname);

	for (uint32_t i = 0; i < n->n_routes && i < PROTO_NET_MAX_ROUTES; i++)
		if ((e = add_route(c, &n->routes[i])) != 0)
			return e;
	if (n->flags & PROTO_NET_ISOLATE)
		return isolate(c, m);
	return 0;
}

/* Append the hosts lines; *orig gets the file's size before (-1 when nothing was written). On a failed write
 * the file is cut back to that size. */
static int append_hosts(struct ncfg *c, const struct proto_net_hosts *hosts, off_t *orig)
{
	static char buf[16384];
	size_t used = 0;
	struct stat st;
	struct proto_net_host h;
	uint32_t off = 0;
	*orig = -1;
	if (hosts->count == 0)
		return 0;
	int fd = open(HOSTS_PATH, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return nc_err(c, errno, "open " HOSTS_PATH " for %s", c->ifname);
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return nc_err(c, e, "stat " HOSTS_PATH " for %s", c->ifname);
	}
	int more = proto_net_hosts_next(hosts, &off, &h);
	while (more || used > 0) {
		/* a line is at most 15 + 1 + 253 + 1 bytes */
		if (more && sizeof(buf) - used > 16 + PROTO_NET_MAX_HOSTNAME + 2) {
			char ip[16];
			fmt_ip(ip, h.addr);
			int n = snprintf(buf + used, sizeof(buf) - used, "%s\t%.*s\n", ip, (int)h.name.len, h.name.p);
			if (n < 0 || (size_t)n >= sizeof(buf) - used) { /* cannot happen: the room was checked */
				if (ftruncate(fd, st.st_size) < 0)
					log_warn("net: cut " HOSTS_PATH " back to %lld bytes: %s", (long long)st.st_size,
						 strerror(errno));
				close(fd);
				return nc_msg(c, EINVAL, "hosts line for %s: too long", c->ifname);
			}
			used += (size_t)n;
			more = proto_net_hosts_next(hosts, &off, &h);
			continue;
		}
		if (write_all(fd, buf, used) < 0) {
			int e = errno;
			if (ftruncate(fd, st.st_size) < 0)
				log_warn("net: cut " HOSTS_PATH " back to %lld bytes: %s", (long long)st.st_size,
					 strerror(errno));
			close(fd);
			return nc_err(c, e, "append to " HOSTS_PATH " for %s", c->ifname);
		}
		used = 0;
	}
	*orig = st.st_size;
	if (close(fd) < 0) {
		int e = errno;
		if (truncate(HOSTS_PATH, st.st_size) < 0)
			log_warn("net: cut " HOSTS_PATH " back: %s", strerror(errno));
		*orig = -1;
		return nc_err(c, e, "close " HOSTS_PATH " for %s", c->ifname);
	}
	return 0;
}

static int replace_resolv(struct ncfg *c, const uint8_t (*ns)[4], uint32_t count)
{
	char text[PROTO_NET_MAX_NS * 32];
	size_t used = 0;
	for (uint32_t i = 0; i < count && i < PROTO_NET_MAX_NS; i++) {
		char ip[16];
		fmt_ip(ip, ns[i]);
		int n = snprintf(text + used, sizeof(text) - used, "nameserver %s\n", ip);
		if (n < 0 || (size_t)n >= sizeof(text) - used)
			return nc_msg(c, EINVAL, "resolv.conf for %s: too long", c->ifname);
		used += (size_t)n;
	}
	int fd = open(RESOLV_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return nc_err(c, errno, "open " RESOLV_TMP " for %s", c->ifname);
	if (write_all(fd, text, used) < 0) {
		int e = errno;
		close(fd);
		unlink(RESOLV_TMP);
		return nc_err(c, e, "write " RESOLV_TMP " for %s", c->ifname);
	}
	if (close(fd) < 0) {
		int e = errno;
		unlink(RESOLV_TMP);
		return nc_err(c, e, "close " RESOLV_TMP " for %s", c->ifname);
	}
	/* rename replaces a symlink at RESOLV_PATH itself, not its target */
	if (rename(RESOLV_TMP, RESOLV_PATH) < 0) {
		int e = errno;
		unlink(RESOLV_TMP);
		return nc_err(c, e, "rename " RESOLV_TMP " to " RESOLV_PATH " for %s", c->ifname);
	}
	return 0;
}

int net_config(const struct proto_msg *m, char *err, size_t errlen)
{
	static struct ncfg c; /* static: its route table is not small */
	char dummy[1];
	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	c.nl = -1;
	err[0] = 0;
	if (!mounts_root_done())
		return nc_msg(&c, EPERM, "NET_CONFIG before MOUNT_ROOT");
	if (m->u.net_config.n_addrs < 1 || m->u.net_config.n_addrs > PROTO_NET_MAX_ADDRS ||
	    m->u.net_config.n_routes > PROTO_NET_MAX_ROUTES || m->u.net_config.n_ns > PROTO_NET_MAX_NS)
		return nc_msg(&c, EINVAL, "NET_CONFIG: address, route or nameserver count out of range");
	c.s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c.s < 0)
		return nc_err(&c, errno, "net config: socket");
	const __typeof__(m->u.net_config) *n = &m->u.net_config;
	off_t hosts_size = -1;
	int e = configure_if(&c, m);
	if (e == 0)
		e = append_hosts(&c, &n->hosts, &hosts_size);
	if (e == 0 && n->n_ns > 0) {
		e = replace_resolv(&c, n->ns, n->n_ns);
		if (e != 0 && hosts_size >= 0 && truncate(HOSTS_PATH, hosts_size) < 0)
			log_warn("net: cut " HOSTS_PATH " back to %lld bytes: %s", (long long)hosts_size, strerror(errno));
	}
	if (e != 0)
		undo(&c, n->device_mac);
	if (c.nl >= 0)
		close(c.nl);
	close(c.s);
	if (e == 0) {
		char ip[16];
		if (g_n_configured < MAX_CONFIGURED) {
			memcpy(g_configured[g_n_configured].device_mac, n->device_mac, 6);
			memcpy(g_configured[g_n_configured].ifname, c.ifname, IFNAMSIZ);
			g_n_configured++;
		}
		fmt_ip(ip, n->addrs[0].addr);
		log_info("net: %s configured: %s/%u (+%u aliases), MTU %u, %u routes, %u hosts, %u nameservers%s", c.ifname,
			 ip, n->addrs[0].prefix, n->n_addrs - 1, n->mtu, n->n_routes, n->hosts.count, n->n_ns,
			 (n->flags & PROTO_NET_ISOLATE) ? ", isolated" : "");
	}
	return e;
}
