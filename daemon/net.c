// SPDX-License-Identifier: GPL-2.0-or-later
/* A container's network.
 *
 * --net private (the default): the init is born in a network namespace of
 * its own (run: clone3(CLONE_NEWNET); restart: it unshares one when the
 * image says so), where ckptd brings loopback up. With published ports, a
 * veth pair joins it to the host: each container gets a /30 of
 * 10.213.0.0/16, its end "eth0" holds .2 of it and routes everything via
 * .1, which the host end "ck-<hash of the name>" holds (as a /32, with a
 * route to .2), and an nft table "ckptd_<hash>" on the host
 * DNATs each HOSTPORT to the container. Connections from the host itself
 * are DNATed in the output hook; those to 127.0.0.1 leave with a loopback
 * source, which the kernel drops on a real interface unless route_localnet
 * is set on it: it is, on the container's veth only, and an SNAT to the
 * host end's address lets the container's answer find its way back. Not a
 * masquerade: the kernel forgets a masqueraded connection when its device
 * goes down, and the veth goes at every checkpoint; an SNAT binding stays
 * in the host's conntrack entry, and the restarted container, at the same
 * address behind a veth of the same address, gets its clients back. While
 * it is away their segments find no route (a loopback source may not leave
 * by another interface; a client of the host's own address would find
 * the default route, so the address has a blackhole route of its own
 * under the veth's, for as long as a container holds it) and are lost,
 * so they are sent again. When the address is given up for good the
 * blackhole goes, and so do those connections (netct.c).
 *
 * Interfaces and the nft table are made with ip(8) and nft(8), run in a
 * child that entered the right network namespace. The veth goes away with
 * the container's namespace; net_cleanup removes the table (and the veth,
 * at once, rather than when the kernel gets to it), or parks it while the
 * container is checkpointed. */
#include "net.h"
#include "access.h"
#include "container.h"
#include "hash.h"
#include "log.h"
#include "macro.h"
#include "netct.h"
#include "server.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define NET_CMD_OUT_MAX 512
#define NET_SCRIPT_MAX 8192
#define HOLD_TABLE "ckptd_hold"
#define PARK_METRIC 1000000000u    /* the blackhole's: under any other route */

int net_parse_publish(const char *s, struct cr_net_publish *ret)
{
	unsigned long hp, p;
	char *end;
	uint8_t proto = IPPROTO_TCP;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	hp = strtoul(s, &end, 10);
	if (*end != ':' || !isdigit((unsigned char)end[1]))
		return -EINVAL;
	p = strtoul(end + 1, &end, 10);
	if (*end == '/') {
		if (streq(end + 1, "tcp"))
			proto = IPPROTO_TCP;
		else if (streq(end + 1, "udp"))
			proto = IPPROTO_UDP;
		else
			return -EINVAL;
	} else if (*end) {
		return -EINVAL;
	}
	if (hp < 1 || hp > 65535 || p < 1 || p > 65535)
		return -EINVAL;
	*ret = (struct cr_net_publish){ .host_port = hp, .port = p, .protocol = proto };
	return 0;
}

void net_format_publish(const struct cr_net_publish *p, char buf[NET_PUBLISH_STR_MAX])
{
	snprintf(buf, NET_PUBLISH_STR_MAX, "%u:%u/%s", p->host_port, p->port,
		 p->protocol == IPPROTO_UDP ? "udp" : "tcp");
}

void net_names(const char *container, char veth[IF_NAMESIZE], char table[NET_TABLE_MAX])
{
	uint32_t h = (uint32_t)ckpt_hash64(container, strlen(container), 0);

	if (veth)
		snprintf(veth, IF_NAMESIZE, "ck-%08x", h);
	if (table)
		snprintf(table, NET_TABLE_MAX, "ckptd_%08x", h);
}

const char *net_addr_str(uint32_t addr, char buf[16])
{
	struct in_addr a = { .s_addr = htonl(addr) };

	return inet_ntop(AF_INET, &a, buf, 16) ? buf : "?";
}

/* An IPv4 address of an interface of the caller's network namespace. */
static bool net_addr_in_use(uint32_t addr, char ifname[IF_NAMESIZE])
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr) == addr) {
			found = true;
			if (ifname)
				snprintf(ifname, IF_NAMESIZE, "%s", i->ifa_name);
		}
	freeifaddrs(ifa);
	return found;
}

static bool net_slot_taken(struct server *srv, const struct container *self, uint32_t net)
{
	const struct container *c;

	for (c = srv->containers; c; c = c->next)
		if (c != self && c->net.addr && (c->net.addr & ~3u) == net)
			return true;
	return net_addr_in_use(net + 1, NULL) || net_addr_in_use(net + 2, NULL);
}

int net_alloc(struct server *srv, const struct container *self, struct cr_net_config *cfg)
{
	uint32_t i, n = ~CR_NET_RANGE_MASK + 1;

	for (i = 4; i < n; i += 4) {
		uint32_t net = CR_NET_RANGE_BASE + i;

		if (net_slot_taken(srv, self, net))
			continue;
		cfg->host_addr = net + 1;
		cfg->addr = net + 2;
		cfg->prefix_len = CR_NET_PREFIX_LEN;
		return 0;
	}
	return -EADDRNOTAVAIL;
}

/* Run argv (absolute path) in netns_fd's network namespace (-1: ours),
 * input on its stdin; its output lands in out. 0 if it exited 0. */
static int net_run(int netns_fd, char *const argv[], const char *input, char *out, size_t outlen)
{
	int in[2] = { -1, -1 }, err[2] = { -1, -1 };
	size_t got = 0;
	pid_t pid;
	int st, r = 0;

	if (out && outlen)
		out[0] = '\0';
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
			_exit(126);
		if (dup2(in[0], 0) < 0 || dup2(err[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		_exit(127);
	}
	in[0] = safe_close(in[0]);
	err[1] = safe_close(err[1]);
	if (input) {
		size_t len = strlen(input), off = 0;

		while (off < len) {
			ssize_t w = write(in[1], input + off, len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += w;
		}
	}
	in[1] = safe_close(in[1]);
	for (;;) {
		char buf[256];
		ssize_t n = read(err[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t k = 0; k < n && out && got + 1 < outlen; k++)
			out[got++] = buf[k] == '\n' ? ' ' : buf[k];
	}
	if (out && outlen)
		out[got] = '\0';
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			r = -errno;
			goto out;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		r = WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -ENOENT : -EIO;
out:
	safe_close(in[0]);
	safe_close(in[1]);
	safe_close(err[0]);
	safe_close(err[1]);
	return r;
}

static int net_fail(char *why, size_t whylen, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int net_fail(char *why, size_t whylen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return r < 0 ? r : -EIO;
}

/* ip(8) with a printf-built command line, in netns_fd's namespace. */
static int net_ip(int netns_fd, char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int net_ip(int netns_fd, char *why, size_t whylen, const char *fmt, ...)
{
	char line[256], out[NET_CMD_OUT_MAX], *argv[24], *save = NULL, *tok;
	size_t n = 0;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	argv[n++] = "/sbin/ip";
	for (tok = strtok_r(line, " ", &save); tok && n + 1 < sizeof(argv) / sizeof(argv[0]); tok = strtok_r(NULL, " ", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	r = net_run(netns_fd, argv, NULL, out, sizeof(out));
	if (r < 0) {
		char cmd[256];

		va_start(ap, fmt);
		vsnprintf(cmd, sizeof(cmd), fmt, ap);
		va_end(ap);
		return net_fail(why, whylen, r, "ip %s: %s", cmd, r == -ENOENT ? "ip(8) not found (iproute2)" : out);
	}
	return 0;
}

static int net_nft(int netns_fd, const char *script, char *why, size_t whylen)
{
	char *const argv[] = { "/usr/sbin/nft", "-f", "-", NULL };
	char out[NET_CMD_OUT_MAX];
	int r = net_run(netns_fd, argv, script, out, sizeof(out));

	if (r < 0)
		return net_fail(why, whylen, r, "nft: %s", r == -ENOENT ? "nft(8) not found (nftables)" : out);
	return 0;
}

static int net_open_ns(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int net_write_sysctl(const char *path, const char *val)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(val);

	if (fd < 0)
		return -errno;
	return write(fd, val, n) == (ssize_t)n ? 0 : -errno;
}

/* The host's NAT for the published ports (see the top of this file). The
 * table is replaced whole, in one transaction. */
static int net_nat(const char *container, const struct cr_net_config *cfg, char *why, size_t whylen)
{
	char veth[IF_NAMESIZE], table[NET_TABLE_MAX], a[16], h[16], rules[NET_SCRIPT_MAX / 2];
	_cleanup_free_ char *script = malloc(NET_SCRIPT_MAX);
	size_t i, n = 0;

	if (!script)
		return -ENOMEM;
	net_names(container, veth, table);
	net_addr_str(cfg->addr, a);
	net_addr_str(cfg->host_addr, h);
	rules[0] = '\0';
	for (i = 0; i < cfg->npublish; i++) {
		const struct cr_net_publish *p = &cfg->publish[i];

		n += snprintf(rules + n, sizeof(rules) - n, "    fib daddr type local %s dport %u dnat to %s:%u\n",
			      p->protocol == IPPROTO_UDP ? "udp" : "tcp", p->host_port, a, p->port);
		if (n >= sizeof(rules))
			return net_fail(why, whylen, -E2BIG, "too many published ports");
	}
	n = (size_t)snprintf(script, NET_SCRIPT_MAX,
		 "table ip %1$s\n"
		 "delete table ip %1$s\n"
		 "table ip %1$s {\n"
		 "  chain pre {\n    type nat hook prerouting priority dstnat; policy accept;\n%2$s  }\n"
		 "  chain out {\n    type nat hook output priority -100; policy accept;\n%2$s  }\n"
		 "  chain post {\n    type nat hook postrouting priority srcnat; policy accept;\n"
		 "    oifname \"%3$s\" ip saddr 127.0.0.0/8 snat to %4$s\n  }\n"
		 "}\n", table, rules, veth, h);
	if (n >= NET_SCRIPT_MAX)
		return net_fail(why, whylen, -E2BIG, "too many published ports");
	return net_nft(-1, script, why, whylen);
}

/* The host end holds the gateway as a /32 and routes the container's
 * address to it: no prefix route, so a container restarted from another's
 * image (same addresses inside) takes the route over from the one it
 * replaces, which a checkpoint is ending. */
static int net_veth(const char *container, pid_t init_pid, int nsfd, const struct cr_net_config *cfg,
		    char *why, size_t whylen)
{
	char veth[IF_NAMESIZE], a[16], h[16], path[96];
	int r;

	net_names(container, veth, NULL);
	net_addr_str(cfg->addr, a);
	net_addr_str(cfg->host_addr, h);
	if (if_nametoindex(veth))
		net_ip(-1, why, whylen, "link del %s", veth);   /* a dead container's, not yet gone */
	r = net_ip(-1, why, whylen, "link add %s type veth peer name eth0 netns %d", veth, init_pid);
	if (r >= 0) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", veth);
		r = net_write_sysctl(path, "1");
		if (r < 0)
			net_fail(why, whylen, r, "setting %s: %s", path, strerror(-r));
	}
	if (r >= 0)
		r = net_ip(-1, why, whylen, "addr add %s/32 dev %s", h, veth);
	if (r >= 0)
		r = net_ip(-1, why, whylen, "link set %s up", veth);
	if (r >= 0)
		r = net_ip(-1, why, whylen, "route replace blackhole %s/32 metric %u", a, PARK_METRIC);
	if (r >= 0)
		r = net_ip(-1, why, whylen, "route replace %s/32 dev %s", a, veth);
	if (r >= 0)
		r = net_ip(nsfd, why, whylen, "addr add %s/%u dev eth0", a, cfg->prefix_len);
	if (r >= 0)
		r = net_ip(nsfd, why, whylen, "link set eth0 up");
	if (r >= 0)
		r = net_ip(nsfd, why, whylen, "route add default via %s dev eth0", h);
	return r;
}

/* lo up in the namespace of nsfd without a fork and exec (the loop waits
 * for this): a socket made in that namespace keeps to it once we are back
 * in ours, and SIOCSIFFLAGS acts in the socket's namespace. */
static int net_lo_up(int nsfd, char *why, size_t whylen)
{
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), s = -1;
	struct ifreq ifr = { .ifr_name = "lo" };
	int r = 0;

	if (self < 0)
		return net_fail(why, whylen, -errno, "opening ckptd's own network namespace: %m");
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return net_fail(why, whylen, -errno, "entering the container's network namespace: %m");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		r = -errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		/* ckptd would go on in a container's network: never */
		log_error("returning to ckptd's own network namespace: %m");
		abort();
	}
	if (r < 0)
		return net_fail(why, whylen, r, "a socket in the container's network namespace: %s", strerror(-r));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return net_fail(why, whylen, -errno, "reading the flags of lo: %m");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return net_fail(why, whylen, -errno, "setting lo up: %m");
	return 0;
}

int net_setup(const char *container, pid_t init_pid, const struct cr_net_config *cfg, char *why, size_t whylen)
{
	_cleanup_close_ int nsfd = -1;
	int r;

	why[0] = '\0';
	if (!cfg->private_ns)
		return 0;
	nsfd = net_open_ns(init_pid);
	if (nsfd < 0)
		return net_fail(why, whylen, nsfd, "opening the network namespace of init %d: %s", init_pid, strerror(-nsfd));
	r = net_lo_up(nsfd, why, whylen);
	if (r >= 0 && cfg->addr)
		r = net_veth(container, init_pid, nsfd, cfg, why, whylen);
	if (r >= 0 && cfg->addr)
		r = net_nat(container, cfg, why, whylen);
	if (r < 0)
		net_cleanup(container, false);
	return r;
}

/* An address ckptd put there, or one the kernel gives any interface. */
static bool net_addr_ours(const struct ifaddrs *i, const struct cr_net_config *cfg)
{
	bool lo = streq(i->ifa_name, "lo");

	if (i->ifa_addr->sa_family == AF_INET) {
		uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);

		return lo ? a == INADDR_LOOPBACK : a == cfg->addr;
	}
	if (i->ifa_addr->sa_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

		return lo ? IN6_IS_ADDR_LOOPBACK(a) : IN6_IS_ADDR_LINKLOCAL(a);
	}
	return true;    /* AF_PACKET: the link itself */
}

/* Lines of /proc/thread-self/net/route: the IPv4 routes of the main table
 * of the calling thread's network namespace. */
static int net_count_routes(void)
{
	FILE *f = fopen("/proc/thread-self/net/route", "re");
	char line[256];
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static const char *net_nft_family(uint8_t f)
{
	switch (f) {
	case NFPROTO_IPV4: return "ip";
	case NFPROTO_IPV6: return "ip6";
	case NFPROTO_INET: return "inet";
	case NFPROTO_ARP: return "arp";
	case NFPROTO_BRIDGE: return "bridge";
	case NFPROTO_NETDEV: return "netdev";
	}
	return "?";
}

/* One answer of a table dump: ", table FAMILY NAME" appended to out. */
static void net_nft_table(const struct nlmsghdr *nh, char *out, size_t outlen)
{
	const struct nfgenmsg *nf = NLMSG_DATA(nh);
	const uint8_t *p = (const uint8_t *)nf + NLMSG_ALIGN(sizeof(*nf)), *end = (const uint8_t *)nh + nh->nlmsg_len;
	size_t n = strlen(out);

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*nf)))
		return;
	while (end - p >= (ptrdiff_t)NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		const char *name = (const char *)(a + 1);
		size_t len = a->nla_len - NLA_HDRLEN;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > end - p)
			return;
		if ((a->nla_type & NLA_TYPE_MASK) == NFTA_TABLE_NAME && len && strnlen(name, len) < len) {
			snprintf(out + n, outlen - n, "%stable %s %s", n ? ", " : "", net_nft_family(nf->nfgen_family), name);
			return;
		}
		p += NLA_ALIGN(a->nla_len);
	}
}

/* The nft tables of the network namespace we are in, as nft list tables
 * has them ("table inet x", joined by ", "; empty: none), asked of
 * nfnetlink directly: running nft(8) for it cost a checkpoint a fork, an
 * exec and nft's start. No nf_tables in the kernel: no table. */
static int net_nft_tables(char *out, size_t outlen)
{
	static uint8_t buf[64 * 1024];
	struct {
		struct nlmsghdr nh;
		struct nfgenmsg nf;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.nf = { .nfgen_family = NFPROTO_UNSPEC, .version = NFNETLINK_V0 },
	};
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

	out[0] = '\0';
	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -errno;
	for (;;) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		size_t left;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : -EPROTO;
		left = (size_t)got;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != req.nh.nlmsg_seq || nh->nlmsg_type == NLMSG_DONE)
				return nh->nlmsg_seq == req.nh.nlmsg_seq ? 0 : -EPROTO;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				int r = nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) ? -EPROTO : e->error;

				return r == -EOPNOTSUPP ? 0 : r;
			}
			net_nft_table(nh, out, outlen);
		}
	}
}

/* What net_check_thread is given and gives back. */
struct net_check_arg {
	int nsfd;
	const struct cr_net_config *cfg;
	char *why;
	size_t whylen;
	int r;       /* 0, or -EOPNOTSUPP with why, or -errno */
};

/* What was made inside the namespace we are in (the calling thread's),
 * the first found said in why. */
static int net_check_here(const struct cr_net_config *cfg, char *why, size_t whylen)
{
	struct if_nameindex *names, *n;
	struct ifaddrs *ifa, *i;
	char a[INET6_ADDRSTRLEN], tables[256];
	int routes, r;

	if (!(names = if_nameindex()))
		return -errno;
	for (n = names; n->if_index; n++)
		if (!streq(n->if_name, "lo") && !(cfg->addr && streq(n->if_name, "eth0"))) {
			snprintf(why, whylen, "interface %s: made inside the container; ckptd restores lo%s only", n->if_name,
				 cfg->addr ? " and its eth0" : "");
			if_freenameindex(names);
			return -EOPNOTSUPP;
		}
	if_freenameindex(names);
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && !net_addr_ours(i, cfg)) {
			inet_ntop(i->ifa_addr->sa_family, i->ifa_addr->sa_family == AF_INET ?
				  (void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr :
				  (void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, a, sizeof(a));
			snprintf(why, whylen, "address %s on %s: added inside the container; ckptd restores the addresses it gave",
				 a, i->ifa_name);
			freeifaddrs(ifa);
			return -EOPNOTSUPP;
		}
	freeifaddrs(ifa);
	routes = net_count_routes();
	if (routes != (cfg->addr ? 2 : 0)) {
		snprintf(why, whylen, "IPv4 routes: %d in its main table, ckptd made %d; routes made inside are not restored",
			 routes, cfg->addr ? 2 : 0);
		return -EOPNOTSUPP;
	}
	r = net_nft_tables(tables, sizeof(tables));
	if (r < 0)
		snprintf(why, whylen, "reading its nft tables: %s", strerror(-r));
	else if (tables[0])
		snprintf(why, whylen, "nft tables made inside the container (%s): not restored", tables);
	return why[0] ? -EOPNOTSUPP : 0;
}

/* A thread of its own enters the namespace (setns(CLONE_NEWNET) moves
 * only the calling thread), so nothing else of the caller is ever in it,
 * and it is left with the thread. A forked child did this before: the
 * fork of a worker (its page tables, a child to schedule) cost a
 * checkpoint some 10 ms before the freeze. */
static void *net_check_thread(void *p)
{
	struct net_check_arg *a = p;

	if (setns(a->nsfd, CLONE_NEWNET) < 0)
		a->r = -errno;
	else
		a->r = net_check_here(a->cfg, a->why, a->whylen);
	return NULL;
}

int net_check(pid_t init_pid, const struct cr_net_config *cfg, char *why, size_t whylen)
{
	_cleanup_close_ int nsfd = net_open_ns(init_pid);
	struct net_check_arg a = { .nsfd = nsfd, .cfg = cfg, .why = why, .whylen = whylen };
	pthread_t th;
	int r;

	why[0] = '\0';
	if (nsfd < 0)
		return net_fail(why, whylen, nsfd, "opening the network namespace of init %d: %s", init_pid, strerror(-nsfd));
	r = pthread_create(&th, NULL, net_check_thread, &a);
	if (r != 0)
		return net_fail(why, whylen, -r, "a thread to check the network namespace: %s", strerror(r));
	pthread_join(th, NULL);
	if (a.r == -EOPNOTSUPP)
		return a.r;
	if (a.r < 0)
		return net_fail(why, whylen, -EIO, "reading the interfaces of the container's network namespace: %s",
				strerror(-a.r));
	return 0;
}

int net_hold(pid_t init_pid, bool on, char *why, size_t whylen)
{
	static const char hold[] =
		"table inet " HOLD_TABLE "\n"
		"delete table inet " HOLD_TABLE "\n"
		"table inet " HOLD_TABLE " {\n"
		"  chain in { type filter hook input priority -400; policy drop; iifname \"lo\" accept; }\n"
		"  chain out { type filter hook output priority -400; policy drop; oifname \"lo\" accept; }\n"
		"}\n";
	static const char release[] = "delete table inet " HOLD_TABLE "\n";
	_cleanup_close_ int nsfd = net_open_ns(init_pid);

	if (nsfd < 0)
		return net_fail(why, whylen, nsfd, "opening the network namespace of init %d: %s", init_pid, strerror(-nsfd));
	return net_nft(nsfd, on ? hold : release, why, whylen);
}

/* Rules in the hold's output chain that let one packet kind out: the
 * RST of each connection (its own address and port first). */
int net_pass_resets(pid_t init_pid, const struct cr_tcp_conn *v, size_t n, char *why, size_t whylen)
{
	_cleanup_free_ char *script = NULL;
	_cleanup_close_ int nsfd = net_open_ns(init_pid);
	size_t len = 0, cap = 256 * (n + 1);

	if (nsfd < 0)
		return net_fail(why, whylen, nsfd, "opening the network namespace of init %d: %s", init_pid, strerror(-nsfd));
	script = malloc(cap);
	if (!script)
		return net_fail(why, whylen, -ENOMEM, "out of memory");
	script[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *ip = v[i].family == AF_INET ? "ip" : "ip6";
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		if (!inet_ntop(v[i].family, v[i].src, src, sizeof(src)) || !inet_ntop(v[i].family, v[i].dst, dst, sizeof(dst)))
			return net_fail(why, whylen, -EINVAL, "an address of family %d", v[i].family);
		len += (size_t)snprintf(script + len, cap - len,
					"add rule inet " HOLD_TABLE " out %s saddr %s tcp sport %u %s daddr %s tcp dport %u "
					"tcp flags & rst == rst accept\n", ip, src, v[i].sport, ip, dst, v[i].dport);
		if (len >= cap)
			return net_fail(why, whylen, -E2BIG, "the rules do not fit");
	}
	return net_nft(nsfd, script, why, whylen);
}

/* A parked container's table keeps one NAT chain with a rule that only
 * counts: the kernel translates packets by their conntrack entries only
 * while some NAT chain is hooked in, and tracks connections at all only
 * while some rule needs it (the ct expression); without either a client's
 * segment would reach the host's own port, and its reset. New connections
 * are not DNATed. */
void net_cleanup(const char *container, bool park)
{
	char veth[IF_NAMESIZE], table[NET_TABLE_MAX], script[256], why[NET_CMD_OUT_MAX];
	int n;

	net_names(container, veth, table);
	n = snprintf(script, sizeof(script), "table ip %1$s\ndelete table ip %1$s\n", table);
	if (park)
		snprintf(script + n, sizeof(script) - n, "table ip %s {\n  chain parked {\n"
			 "    type nat hook postrouting priority srcnat; policy accept;\n    ct state new counter\n  }\n}\n", table);
	if (net_nft(-1, script, why, sizeof(why)) < 0)
		log_warn("container %s: %s nft table %s: %s", container, park ? "parking" : "removing", table, why);
	if (if_nametoindex(veth) && net_ip(-1, why, sizeof(why), "link del %s", veth) < 0 && if_nametoindex(veth))
		log_warn("container %s: removing %s: %s", container, veth, why);
}

void net_release(struct server *srv, const struct container *self)
{
	const struct container *c;
	char a[16], why[NET_CMD_OUT_MAX];
	int r;

	if (!self->net.addr)
		return;
	net_cleanup(self->name, false);
	for (c = srv->containers; c; c = c->next)
		if (c != self && c->net.addr == self->net.addr)
			return;     /* restarted from self's image: the connections are its */
	net_addr_str(self->net.addr, a);
	/* none if the container never ran with it */
	if (net_ip(-1, why, sizeof(why), "route del blackhole %s/32 metric %u", a, PARK_METRIC) < 0 &&
	    !strstr(why, "No such process"))
		log_warn("container %s: removing the blackhole route of %s: %s", self->name, a, why);
	r = netct_forget(self->net.addr);
	if (r < 0)
		log_warn("container %s: forgetting the host's connections to %s: %s", self->name,
			 net_addr_str(self->net.addr, a), strerror(-r));
	else if (r > 0)
		log_info("container %s: the host forgot %d connection(s) to %s", self->name, r,
			 net_addr_str(self->net.addr, a));
}

void net_from_info(struct cr_net_config *net, const Ckpt__Rpc__ContainerInfo *ci)
{
	struct in_addr a;
	size_t i;

	*net = (struct cr_net_config){ .private_ns = ci->has_net && ci->net == CKPT__RPC__NET_MODE__NET_PRIVATE };
	if (ci->net_address && inet_pton(AF_INET, ci->net_address, &a) == 1) {
		net->addr = ntohl(a.s_addr);
		net->host_addr = net->addr - 1;
		net->prefix_len = CR_NET_PREFIX_LEN;
	}
	for (i = 0; i < ci->n_publish && net->npublish < CR_NET_MAX_PUBLISH; i++)
		if (net_parse_publish(ci->publish[i], &net->publish[net->npublish]) == 0)
			net->npublish++;
}

const struct net_busy *net_busy_port(const struct net_busy *b, size_t n, const struct cr_net_publish *p)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < b[i].npublish; k++)
			if (b[i].publish[k].host_port == p->host_port && b[i].publish[k].protocol == p->protocol)
				return &b[i];
	return NULL;
}

int net_busy_list(struct server *srv, const struct container *self, uid_t peer_uid, struct net_busy **ret,
		  size_t *ret_n)
{
	const struct container *c;
	struct net_busy *v;
	size_t n = 0;

	for (c = srv->containers; c; c = c->next)
		n++;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (c = srv->containers; c; c = c->next) {
		/* a checkpoint that ends the container gives its address up */
		if (c == self || !c->net.addr || c->init_pid <= 0 ||
		    (c->op == OP_CHECKPOINT && !c->op_leave_running))
			continue;
		v[n].addr = c->net.addr;
		v[n].npublish = c->net.npublish;
		memcpy(v[n].publish, c->net.publish, sizeof(v[n].publish));
		/* whose the port is, only to a peer that may see that container */
		snprintf(v[n].name, sizeof(v[n].name), "%s",
			 access_may_act(peer_uid, c->owner_uid) ? c->name : "(another user's)");
		n++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- the engine's hooks, in a worker ---- */

static int net_hook_setup(void *arg, pid_t init_pid, const struct cr_net_config *cfg, struct cr_error *err)
{
	const struct net_hook_arg *h = arg;
	char why[NET_CMD_OUT_MAX], a[16];
	size_t i;
	int r;

	for (i = 0; cfg->addr && i < h->nbusy; i++)
		if (h->busy[i].addr == cfg->addr)
			return cr_fail_obj(err, CR_ERR_BAD_STATE, EADDRINUSE, "the container's network",
					   "its address %s is container %s's, which is running",
					   net_addr_str(cfg->addr, a), h->busy[i].name);
	for (i = 0; i < cfg->npublish; i++) {
		const struct net_busy *b = net_busy_port(h->busy, h->nbusy, &cfg->publish[i]);
		char p[NET_PUBLISH_STR_MAX];

		net_format_publish(&cfg->publish[i], p);
		if (b)
			return cr_fail_obj(err, CR_ERR_BAD_STATE, EADDRINUSE, "the container's network",
					   "its published port %s is container %s's, which is running", p, b->name);
	}
	r = net_setup(h->name, init_pid, cfg, why, sizeof(why));
	if (r < 0)
		return cr_fail_obj(err, CR_ERR_KERNEL, -r, "the container's network", "setting it up again: %s", why);
	return 0;
}

static int net_hook_check(void *arg, pid_t init_pid, const struct cr_net_config *cfg, struct cr_error *err)
{
	char why[NET_CMD_OUT_MAX];
	int r = net_check(init_pid, cfg, why, sizeof(why));

	if (r == -EOPNOTSUPP)
		return cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, "the container's network", "%s", why);
	if (r < 0)
		return cr_fail_obj(err, CR_ERR_KERNEL, -r, "the container's network", "%s", why);
	return 0;
}

static int net_hook_hold(void *arg, pid_t init_pid, bool on, struct cr_error *err)
{
	char why[NET_CMD_OUT_MAX];
	int r = net_hold(init_pid, on, why, sizeof(why));

	if (r < 0)
		return cr_fail_obj(err, CR_ERR_KERNEL, -r, "the container's network",
				   "%s its traffic: %s", on ? "holding" : "releasing", why);
	return 0;
}

static int net_hook_pass_resets(void *arg, pid_t init_pid, const struct cr_tcp_conn *v, size_t n, struct cr_error *err)
{
	char why[NET_CMD_OUT_MAX];
	int r = net_pass_resets(init_pid, v, n, why, sizeof(why));

	if (r < 0)
		return cr_fail_obj(err, CR_ERR_KERNEL, -r, "the container's network", "letting resets out: %s", why);
	return 0;
}

const struct cr_net_ops net_engine_ops = {
	.setup = net_hook_setup,
	.check = net_hook_check,
	.hold = net_hook_hold,
	.pass_resets = net_hook_pass_resets,
};
