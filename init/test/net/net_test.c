/*
 * Test of net_config() (src/net.c) against real kernel interfaces: TAP devices in a private network namespace,
 * so it needs no VM and changes nothing on the machine. Run as `make -C init net-test`, which starts it under
 * `unshare -rn` (a user + network namespace: root in there, CAP_NET_ADMIN over that namespace only).
 * After creating the TAPs it chroots into a scratch directory, so /etc/hosts and /etc/resolv.conf are its own;
 * /proc is bind-mounted there (`unshare -rnm`: a mount namespace too) for net.c's arp_announce. NET_ISOLATE's
 * rules and table are read back with iproute2's `ip`, run by a child forked before the chroot.
 */
#define _GNU_SOURCE
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* stubs for what net.c uses from mounts.c and log.c */
static int g_root_done;
int mounts_root_done(void) { return g_root_done; }
void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}
int fail(const char *fmt, ...)
{
	(void)fmt;
	return -1;
}
static int g_warnings;
void log_warn(const char *fmt, ...)
{
	va_list ap;
	g_warnings++;
	va_start(ap, fmt);
	printf("# warning: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

#include "../tap.h"

static int g_sock, g_proc;


static const uint8_t MAC_A[6] = { 0x90, 0x13, 0, 0, 0, 1 }, MAC_A2[6] = { 0x90, 0x13, 0, 0, 0, 0x21 },
		     MAC_B[6] = { 0x90, 0x13, 0, 0, 0, 2 }, MAC_C[6] = { 0x90, 0x13, 0, 0, 0, 3 },
		     MAC_D[6] = { 0x90, 0x13, 0, 0, 0, 4 }, MAC_E[6] = { 0x90, 0x13, 0, 0, 0, 5 };

/* The command runner: a child outside the chroot that runs each line it reads with sh (stderr too) and answers
 * with the output and a NUL. */
static int g_cmd_req = -1, g_cmd_resp = -1;
static pid_t g_cmd_pid;

static void cmd_server(int in, int out)
{
	char line[512];
	for (;;) {
		size_t n = 0;
		char ch;
		ssize_t r;
		while ((r = read(in, &ch, 1)) == 1 && ch != '\n' && n + 1 < sizeof(line))
			line[n++] = ch;
		if (r != 1)
			_exit(0);
		line[n] = 0;
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "%s 2>&1", line);
		FILE *p = popen(cmd, "r");
		char buf[1024];
		size_t got;
		while (p && (got = fread(buf, 1, sizeof(buf), p)) > 0)
			if (write(out, buf, got) < 0)
				_exit(1);
		if (p)
			pclose(p);
		if (write(out, "", 1) != 1)
			_exit(1);
	}
}

static int cmd_start(void)
{
	int req[2], resp[2];
	if (pipe(req) < 0 || pipe(resp) < 0)
		return -1;
	g_cmd_pid = fork();
	if (g_cmd_pid < 0)
		return -1;
	if (g_cmd_pid == 0) {
		close(req[1]);
		close(resp[0]);
		cmd_server(req[0], resp[1]);
	}
	close(req[0]);
	close(resp[1]);
	g_cmd_req = req[1];
	g_cmd_resp = resp[0];
	return 0;
}

/* Output of the shell command fmt (cut at cap - 1 bytes). */
static const char *cmd(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *cmd(char *out, size_t cap, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	out[0] = 0;
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		return out;
	line[n++] = '\n';
	if (write(g_cmd_req, line, (size_t)n) != n)
		return out;
	size_t used = 0;
	char ch;
	while (read(g_cmd_resp, &ch, 1) == 1 && ch != 0)
		if (used + 1 < cap)
			out[used++] = ch;
	out[used] = 0;
	return out;
}

static int make_tap(const char *name, const uint8_t mac[6])
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -1;
	struct ifreq h = { 0 };
	snprintf(h.ifr_name, sizeof(h.ifr_name), "%s", name);
	h.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(h.ifr_hwaddr.sa_data, mac, 6);
	if (ioctl(g_sock, SIOCSIFHWADDR, &h) < 0)
		return -1;
	return fd;
}

static void set_ip(uint8_t *dst, unsigned a, unsigned b, unsigned c, unsigned d)
{
	dst[0] = (uint8_t)a; dst[1] = (uint8_t)b; dst[2] = (uint8_t)c; dst[3] = (uint8_t)d;
}

struct ifstate {
	uint8_t mac[6];
	int mtu, up;
	uint32_t addr; /* network order, 0 if none */
};

static struct ifstate if_state(const char *name)
{
	struct ifstate st = { { 0 }, 0, 0, 0 };
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(g_sock, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(st.mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(g_sock, SIOCGIFMTU, &ifr) == 0)
		st.mtu = ifr.ifr_mtu;
	if (ioctl(g_sock, SIOCGIFFLAGS, &ifr) == 0)
		st.up = !!(ifr.ifr_flags & IFF_UP);
	memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
	if (ioctl(g_sock, SIOCGIFADDR, &ifr) == 0)
		st.addr = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr;
	return st;
}

static int read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* /proc/net/route of our namespace (through a /proc fd opened before the chroot). */
static void routes(char *buf, size_t cap)
{
	buf[0] = 0;
	int fd = openat(g_proc, "net/route", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
}

static void base_msg(struct proto_msg *m, const uint8_t dev[6], const uint8_t mac[6])
{
	memset(m, 0, sizeof(*m));
	m->h.type = PT_NET_CONFIG;
	m->h.id = 1;
	memcpy(m->u.net_config.device_mac, dev, 6);
	memcpy(m->u.net_config.mac, mac, 6);
	m->u.net_config.mtu = 1400;
	m->u.net_config.n_addrs = 2;
	set_ip(m->u.net_config.addrs[0].addr, 192, 168, 7, 2);
	m->u.net_config.addrs[0].prefix = 24;
	set_ip(m->u.net_config.addrs[1].addr, 10, 9, 1, 2);
	m->u.net_config.addrs[1].prefix = 16;
	m->u.net_config.n_routes = 2;
	set_ip(m->u.net_config.routes[0].dest, 0, 0, 0, 0);
	m->u.net_config.routes[0].prefix = 0;
	set_ip(m->u.net_config.routes[0].gateway, 192, 168, 7, 1);
	m->u.net_config.routes[0].metric = 0;
	set_ip(m->u.net_config.routes[1].dest, 172, 20, 0, 0);
	m->u.net_config.routes[1].prefix = 16;
	m->u.net_config.routes[1].metric = 7;
}

/* hosts entries {192.168.7.1 "gw"}, {10.9.0.1 "peer-1.local"} encoded as on the wire */
static const uint8_t HOSTS[] = { 192, 168, 7, 1, 2, 0, 0, 0, 'g', 'w',
				 10, 9, 0, 1, 12, 0, 0, 0, 'p', 'e', 'e', 'r', '-', '1', '.', 'l', 'o', 'c', 'a', 'l' };

static int arp_announce(const char *ifname, char *out, size_t cap)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/arp_announce", ifname);
	if (read_file(path, out, cap) < 0)
		return -1;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static int set_arp_announce(const char *ifname, const char *v)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/arp_announce", ifname);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, v, strlen(v));
	close(fd);
	return w == (ssize_t)strlen(v) ? 0 : -1;
}

/* connect() of a UDP socket bound to src (NULL: unbound) to dst:53: 0 or the errno */
static int udp_connect(const char *src, const char *dst)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errno;
	struct sockaddr_in a = { .sin_family = AF_INET };
	if (src) {
		inet_pton(AF_INET, src, &a.sin_addr);
		if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
			int e = errno;
			close(s);
			return e;
		}
	}
	a.sin_port = htons(53);
	inet_pton(AF_INET, dst, &a.sin_addr);
	int r = connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ? errno : 0;
	close(s);
	return r;
}

/* The isolated NIC's request: yt4, 192.168.8.2/24 + 10.8.1.2/16, 172.21.0.0/16 via 192.168.8.1 metric 5,
 * 10.50.0.0/16 on-link, no default route. */
static void iso_msg(struct proto_msg *m)
{
	base_msg(m, MAC_D, MAC_D);
	m->u.net_config.flags = PROTO_NET_ISOLATE;
	set_ip(m->u.net_config.addrs[0].addr, 192, 168, 8, 2);
	m->u.net_config.addrs[0].prefix = 24;
	set_ip(m->u.net_config.addrs[1].addr, 10, 8, 1, 2);
	m->u.net_config.addrs[1].prefix = 16;
	set_ip(m->u.net_config.routes[0].dest, 172, 21, 0, 0);
	m->u.net_config.routes[0].prefix = 16;
	set_ip(m->u.net_config.routes[0].gateway, 192, 168, 8, 1);
	m->u.net_config.routes[0].metric = 5;
	set_ip(m->u.net_config.routes[1].dest, 10, 50, 0, 0);
	m->u.net_config.routes[1].prefix = 16;
	set_ip(m->u.net_config.routes[1].gateway, 0, 0, 0, 0);
	m->u.net_config.routes[1].metric = 0;
}

static void test_isolate(void)
{
	char err[512], out[8192], want[256], arp[32];
	unsigned t = 1000 + if_nametoindex("yt4");
	struct stat sb;
	int e;

	/* yt3: a NIC that is not isolated, with a default route (the INET NIC) */
	struct proto_msg g;
	base_msg(&g, MAC_E, MAC_E);
	g.u.net_config.n_addrs = 1;
	set_ip(g.u.net_config.addrs[0].addr, 10, 88, 0, 2);
	g.u.net_config.n_routes = 1;
	set_ip(g.u.net_config.routes[0].gateway, 10, 88, 0, 1);
	e = net_config(&g, err, sizeof(err));
	ok(e == 0, "yt3 with a default route (%s)", e ? err : "");
	ok(t > 1000 && strstr(cmd(out, sizeof(out), "ip -4 rule show"), "lookup main") && !strstr(out, "lookup 10"),
	   "ip runs, no isolation rules yet");

	struct proto_msg v;
	iso_msg(&v);

	/* a failure inside step 3b: the table already holds the unreachable default */
	cmd(out, sizeof(out), "ip route add unreachable default metric 4294967295 table %u", t);
	ok(out[0] == 0, "pre-existing unreachable default in table %u (%s)", t, out);
	snprintf(want, sizeof(want), "isolation route unreachable default table %u on yt4: File exists", t);
	g_warnings = 0;
	e = net_config(&v, err, sizeof(err));
	ok(e == EEXIST && strcmp(err, want) == 0, "isolation route conflict: EEXIST (%d %s)", e, err);
	ok(g_warnings == 0, "its rollback deleted every route it added without an error");
	cmd(out, sizeof(out), "ip -4 rule show");
	ok(!strstr(out, "192.168.8.2") && !strstr(out, "10.8.1.2"), "no rule left behind");
	cmd(out, sizeof(out), "ip -4 route show table %u", t);
	ok(strncmp(out, "unreachable default metric 4294967295", 37) == 0 && strchr(out, '\n') == strrchr(out, '\n'),
	   "table %u holds only the pre-existing route", t);
	cmd(out, sizeof(out), "ip route del unreachable default metric 4294967295 table %u", t);
	ok(if_state("yt4").addr == 0 && !if_state("yt4").up, "yt4 undone");

	/* a failure after step 3b (replacing resolv.conf: its temp path is a directory): 3b is rolled back too */
	ok(set_arp_announce("yt4", "1") == 0 && arp_announce("yt4", arp, sizeof(arp)) == 0 && strcmp(arp, "1") == 0,
	   "arp_announce of yt4 set to 1 before");
	ok(mkdir("/etc/.resolv.conf.ya-tmp", 0755) == 0, "resolv.conf temp path blocked");
	v.u.net_config.n_ns = 1;
	set_ip(v.u.net_config.ns[0], 192, 168, 8, 1);
	g_warnings = 0;
	e = net_config(&v, err, sizeof(err));
	ok(e == EISDIR && strstr(err, "open /etc/.resolv.conf.ya-tmp for yt4") == err, "later step fails (%d %s)", e,
	   err);
	ok(g_warnings == 0, "its rollback deleted every rule and route it added without an error");
	cmd(out, sizeof(out), "ip -4 rule show");
	ok(!strstr(out, "192.168.8.2") && !strstr(out, "10.8.1.2"), "no rule left behind");
	cmd(out, sizeof(out), "ip -4 route show table %u", t);
	ok(out[0] == 0, "table %u empty", t);
	ok(arp_announce("yt4", arp, sizeof(arp)) == 0 && strcmp(arp, "1") == 0, "arp_announce restored to 1 (%s)", arp);
	ok(if_state("yt4").addr == 0 && !if_state("yt4").up, "yt4 undone");
	rmdir("/etc/.resolv.conf.ya-tmp");
	ok(lstat("/etc/.resolv.conf.ya-tmp", &sb) < 0, "temp path unblocked");

	/* success */
	v.u.net_config.n_ns = 0;
	g_warnings = 0;
	e = net_config(&v, err, sizeof(err));
	ok(e == 0 && g_warnings == 0, "isolated NIC configured (%d %s)", e, e ? err : "");
	cmd(out, sizeof(out), "ip -4 rule show");
	snprintf(want, sizeof(want), "1000:\tfrom 192.168.8.2 lookup %u", t);
	ok(strstr(out, want) != NULL, "rule %s", want);
	snprintf(want, sizeof(want), "1000:\tfrom 10.8.1.2 lookup %u", t);
	ok(strstr(out, want) != NULL, "rule %s", want);
	if (g_failed)
		printf("# %s", out);
	cmd(out, sizeof(out), "ip -4 route show table %u", t);
	ok(strstr(out, "192.168.8.0/24 dev yt4 scope link src 192.168.8.2") != NULL,
	   "table %u: on-link 192.168.8.0/24 src 192.168.8.2", t);
	ok(strstr(out, "10.8.0.0/16 dev yt4 scope link src 10.8.1.2") != NULL,
	   "table %u: on-link 10.8.0.0/16 src 10.8.1.2", t);
	ok(strstr(out, "172.21.0.0/16 via 192.168.8.1 dev yt4 metric 5") != NULL,
	   "table %u: 172.21.0.0/16 via 192.168.8.1 metric 5", t);
	ok(strstr(out, "10.50.0.0/16 dev yt4 scope link") != NULL, "table %u: 10.50.0.0/16 on-link", t);
	ok(strstr(out, "unreachable default metric 4294967295") != NULL, "table %u: unreachable default", t);
	{
		int lines = 0;
		for (const char *p = out; (p = strchr(p, '\n')) != NULL; p++)
			lines++;
		ok(lines == 5, "table %u: 5 routes (%d)", t, lines);
	}
	if (g_failed)
		printf("# %s", out);
	ok(arp_announce("yt4", arp, sizeof(arp)) == 0 && strcmp(arp, "2") == 0, "arp_announce 2 (%s)", arp);
	ok(arp_announce("yt3", arp, sizeof(arp)) == 0 && strcmp(arp, "0") == 0, "yt3's arp_announce untouched (%s)",
	   arp);

	/* behaviour: the isolated addresses cannot reach beyond the NIC's networks; others can. The kernel answers
	 * an RTN_UNREACHABLE route with EHOSTUNREACH (fib_props), not ENETUNREACH (that is for no route at all). */
	e = udp_connect("192.168.8.2", "8.8.8.8");
	ok(e == EHOSTUNREACH, "bound to 192.168.8.2, connect 8.8.8.8: EHOSTUNREACH (%s)", strerror(e));
	e = udp_connect("10.8.1.2", "8.8.8.8");
	ok(e == EHOSTUNREACH, "bound to 10.8.1.2 (alias), connect 8.8.8.8: EHOSTUNREACH (%s)", strerror(e));
	e = udp_connect("192.168.8.2", "172.21.3.4");
	ok(e == 0, "bound to 192.168.8.2, connect 172.21.3.4 (a route of the NIC): ok (%s)", strerror(e));
	e = udp_connect("10.8.1.2", "192.168.8.77");
	ok(e == 0, "bound to 10.8.1.2, connect 192.168.8.77 (the NIC's other network): ok (%s)", strerror(e));
	e = udp_connect("10.88.0.2", "8.8.8.8");
	ok(e == 0, "bound to yt3's 10.88.0.2, connect 8.8.8.8: ok (%s)", strerror(e));
	e = udp_connect(NULL, "8.8.8.8");
	ok(e == 0, "unbound, connect 8.8.8.8: ok (%s)", strerror(e));

	e = net_config(&v, err, sizeof(err));
	ok(e == EEXIST, "isolated NIC configured twice: EEXIST (%s)", err);
	cmd(out, sizeof(out), "ip -4 rule show");
	snprintf(want, sizeof(want), "1000:\tfrom 192.168.8.2 lookup %u", t);
	ok(strstr(out, want) != NULL, "and its rule stays");
}

int main(void)
{
	char err[512], buf[8192], rt[8192];
	setvbuf(stdout, NULL, _IOLBF, 0);
	g_sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g_sock < 0 || g_proc < 0 || make_tap("yt0", MAC_A) < 0 || make_tap("yt1", MAC_B) < 0 ||
	    make_tap("yt2", MAC_C) < 0 || make_tap("yt3", MAC_E) < 0 || make_tap("yt4", MAC_D) < 0) {
		printf("1..0 # SKIP no TAP devices here: %s\n", strerror(errno));
		return 0;
	}
	char dir[] = "/tmp/ya-net-test-XXXXXX";
	int tmpfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* to remove the scratch root at the end */
	if (cmd_start() < 0) {
		printf("Bail out! command runner: %s\n", strerror(errno));
		return 1;
	}
	if (tmpfd < 0 || !mkdtemp(dir) || chdir(dir) < 0 || mkdir("etc", 0755) < 0 || mkdir("proc", 0755) < 0 ||
	    mount("/proc", "proc", NULL, MS_BIND | MS_REC, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		printf("Bail out! scratch root: %s\n", strerror(errno));
		return 1;
	}
	printf("TAP version 13\n");
	/* yt2 gets an address from elsewhere (as if configured before) */
	struct ifreq a = { 0 };
	snprintf(a.ifr_name, sizeof(a.ifr_name), "yt2");
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a630001) };
	memcpy(&a.ifr_addr, &sin, sizeof(sin));
	if (ioctl(g_sock, SIOCSIFADDR, &a) < 0) {
		printf("Bail out! address on yt2: %s\n", strerror(errno));
		return 1;
	}
	if (write(open("/etc/hosts", O_WRONLY | O_CREAT | O_TRUNC, 0644), "127.0.0.1\tlocalhost\n", 20) != 20 ||
	    symlink("/run/systemd/resolve/stub-resolv.conf", "/etc/resolv.conf") < 0) {
		printf("Bail out! scratch files\n");
		return 1;
	}

	struct proto_msg m;
	base_msg(&m, MAC_A, MAC_A2);
	m.u.net_config.hosts.count = 2;
	m.u.net_config.hosts.p = HOSTS;
	m.u.net_config.hosts.size = sizeof(HOSTS);
	m.u.net_config.n_ns = 2;
	set_ip(m.u.net_config.ns[0], 192, 168, 7, 1);
	set_ip(m.u.net_config.ns[1], 1, 1, 1, 1);

	int e = net_config(&m, err, sizeof(err));
	ok(e == EPERM && strcmp(err, "NET_CONFIG before MOUNT_ROOT") == 0, "before MOUNT_ROOT: EPERM (%d %s)", e, err);
	g_root_done = 1;

	struct proto_msg u = m;
	u.u.net_config.device_mac[5] = 0x77;
	e = net_config(&u, err, sizeof(err));
	ok(e == ENODEV && strcmp(err, "no NIC with MAC 90:13:00:00:00:77") == 0, "unknown MAC: ENODEV (%s)", err);

	/* a route through a gateway that is not on any of the NIC's networks fails: everything is undone */
	struct proto_msg f = m;
	set_ip(f.u.net_config.routes[1].gateway, 10, 200, 0, 1);
	e = net_config(&f, err, sizeof(err));
	ok(e == ENETUNREACH && strcmp(err, "route 172.20.0.0/16 via 10.200.0.1 on yt0: Network is unreachable") == 0,
	   "unreachable gateway: ENETUNREACH (%d %s)", e, err);
	struct ifstate st = if_state("yt0");
	ok(memcmp(st.mac, MAC_A, 6) == 0 && st.mtu == 1500 && !st.up && st.addr == 0,
	   "after the failure yt0 has its MAC, MTU 1500, is down, has no address");
	ok(if_state("yt0:1").addr == 0, "after the failure the alias yt0:1 is gone");
	routes(rt, sizeof(rt));
	ok(!strstr(rt, "yt0"), "after the failure no route on yt0");
	ok(read_file("/etc/hosts", buf, sizeof(buf)) == 0 && strcmp(buf, "127.0.0.1\tlocalhost\n") == 0,
	   "after the failure /etc/hosts is unchanged");
	struct stat sb;
	ok(lstat("/etc/resolv.conf", &sb) == 0 && S_ISLNK(sb.st_mode), "after the failure resolv.conf is untouched");

	/* metric out of the ioctl's range */
	f = m;
	f.u.net_config.routes[1].metric = 40000;
	e = net_config(&f, err, sizeof(err));
	ok(e == EINVAL && strstr(err, "route 172.20.0.0/16 on yt0: metric 40000") == err, "metric 40000: EINVAL (%s)",
	   err);
	st = if_state("yt0");
	ok(!st.up && st.addr == 0 && memcmp(st.mac, MAC_A, 6) == 0, "after it yt0 is back as it was");

	e = net_config(&m, err, sizeof(err));
	ok(e == 0, "full config succeeds (%d %s)", e, e ? err : "");
	st = if_state("yt0");
	ok(memcmp(st.mac, MAC_A2, 6) == 0, "MAC changed");
	ok(st.mtu == 1400, "MTU 1400 (%d)", st.mtu);
	ok(st.up, "interface up");
	ok(st.addr == htonl(0xc0a80702), "primary 192.168.7.2");
	ok(if_state("yt0:1").addr == htonl(0x0a090102), "alias yt0:1 has 10.9.1.2");
	routes(rt, sizeof(rt));
	/* /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask (hex, host order of the bytes) */
	ok(strstr(rt, "yt0\t00000000\t0107A8C0\t0003\t0\t0\t0\t00000000") != NULL, "default route via 192.168.7.1");
	ok(strstr(rt, "yt0\t000014AC\t00000000\t0001\t0\t0\t7\t0000FFFF") != NULL, "172.20.0.0/16 on-link, metric 7");
	ok(strstr(rt, "yt0\t0007A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF") != NULL, "on-link 192.168.7.0/24");
	ok(strstr(rt, "yt0\t0000090A\t00000000\t0001\t0\t0\t0\t0000FFFF") != NULL, "on-link 10.9.0.0/16");
	if (g_failed)
		printf("# %s", rt);
	ok(read_file("/etc/hosts", buf, sizeof(buf)) == 0 &&
		   strcmp(buf, "127.0.0.1\tlocalhost\n192.168.7.1\tgw\n10.9.0.1\tpeer-1.local\n") == 0,
	   "hosts appended");
	ok(lstat("/etc/resolv.conf", &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0644 &&
		   read_file("/etc/resolv.conf", buf, sizeof(buf)) == 0 &&
		   strcmp(buf, "nameserver 192.168.7.1\nnameserver 1.1.1.1\n") == 0,
	   "resolv.conf replaced by a regular file");
	ok(access("/etc/.resolv.conf.ya-tmp", F_OK) < 0, "no temp file left");
	e = net_config(&m, err, sizeof(err));
	ok(e == EEXIST && strcmp(err, "NIC with MAC 90:13:00:00:00:01 (yt0) already configured") == 0,
	   "again after its MAC changed: EEXIST (%s)", err);
	ok(if_state("yt0").up && if_state("yt0").addr == htonl(0xc0a80702), "and yt0 keeps its config");

	/* the second NIC: same MAC kept, a single address, no routes, hosts or nameservers; then configured again */
	struct proto_msg b;
	base_msg(&b, MAC_B, MAC_B);
	b.u.net_config.n_addrs = 1;
	b.u.net_config.n_routes = 0;
	set_ip(b.u.net_config.addrs[0].addr, 10, 77, 0, 5);
	e = net_config(&b, err, sizeof(err));
	ok(e == 0 && if_state("yt1").addr == htonl(0x0a4d0005) && if_state("yt1").up, "second NIC (%s)", e ? err : "");
	ok(read_file("/etc/resolv.conf", buf, sizeof(buf)) == 0 &&
		   strcmp(buf, "nameserver 192.168.7.1\nnameserver 1.1.1.1\n") == 0,
	   "no nameservers: resolv.conf left alone");
	e = net_config(&b, err, sizeof(err));
	ok(e == EEXIST && strcmp(err, "NIC with MAC 90:13:00:00:00:02 (yt1) already configured") == 0,
	   "configured twice: EEXIST (%s)", err);
	ok(if_state("yt1").addr == htonl(0x0a4d0005) && if_state("yt1").up, "EEXIST leaves it as it was");

	struct proto_msg c;
	base_msg(&c, MAC_C, MAC_C);
	e = net_config(&c, err, sizeof(err));
	ok(e == EEXIST && strcmp(err, "yt2 already has address 10.99.0.1") == 0, "NIC with an address: EEXIST (%s)",
	   err);
	ok(if_state("yt2").addr == htonl(0x0a630001) && if_state("yt2:1").addr == 0, "and it is left alone");

	test_isolate();

	close(g_cmd_req);
	waitpid(g_cmd_pid, NULL, 0);
	unlink("/etc/hosts");
	unlink("/etc/resolv.conf");
	rmdir("/etc");
	if (umount2("/proc", MNT_DETACH) < 0 || rmdir("/proc") < 0)
		printf("# unmount the scratch /proc: %s\n", strerror(errno));
	if (unlinkat(tmpfd, dir + strlen("/tmp/"), AT_REMOVEDIR) < 0)
		printf("# remove %s: %s\n", dir, strerror(errno));
	printf("1..%d\n", g_n);
	return g_failed ? 1 : 0;
}
