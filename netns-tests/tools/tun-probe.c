// SPDX-License-Identifier: GPL-2.0-only
/*
 * tun-probe: a TUN or TAP device set up through src/tun.c and src/netlink.c,
 * held while a test looks at it with ip(8), and removed when it exits.
 *
 *   tun-probe [--tap] [--name NAME] [--vnet-hdr] [--attach] [--persist|--no-persist]
 *             [--mtu N] [--addr LOCAL[/LEN] [--peer PEER[/LEN]]]... [--carrier on|off]
 *             [--down]
 *   tun-probe --delete NAME
 *
 * After setting up it prints "ready NAME ifindex=N carrier-control=yes|no
 * offload=0xNN" and reads commands from stdin, one per line, answering each
 * with "ok COMMAND" or "error MESSAGE":
 *
 *   carrier on|off   up   down   mtu N   persist on|off   offload MASK
 *   addr LOCAL [PEER]   del LOCAL [PEER]
 *   state            prints "state flags=... carrier=0|1 operstate=... mtu=N" first
 *
 * At end of input it exits 0, closing the device (the kernel removes it
 * unless it is persistent). A failure while setting up prints the library's
 * message on stderr and exits 1.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>	/* before linux/if.h, which then leaves out what both define */
#include <linux/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/route/link.h>

#include "netlink.h"
#include "tun.h"

#define MAX_ADDRS 16

/* An address as given: "LOCAL[/LEN]" and, for a point-to-point one, "PEER[/LEN]". */
struct addr_arg {
	const char *local;
	const char *peer;	/* NULL for none */
};

struct probe {
	struct tun_opts opts;
	const char *name;
	bool attach;
	int persist;		/* -1: leave as it is */
	unsigned int mtu;	/* 0: leave as it is */
	struct addr_arg addrs[MAX_ADDRS];
	int naddrs;
	bool down;
	struct tun_dev tun;
	struct netlink *nl;
};

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: tun-probe [--tap] [--name NAME] [--vnet-hdr] [--attach]\n"
		"                 [--persist|--no-persist] [--mtu N] [--addr A [--peer P]]...\n"
		"                 [--carrier on|off] [--down]\n"
		"       tun-probe --delete NAME\n");
	exit(2);
}

static bool parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v > UINT_MAX)
		return false;
	*out = (unsigned int)v;
	return true;
}

static bool parse_onoff(const char *s, bool *out)
{
	if (!strcmp(s, "on")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "off")) {
		*out = false;
		return true;
	}
	return false;
}

/* "ADDR[/LEN]" into a; with no LEN, a host: /32 or /128. */
static int parse_one(const char *text, struct config_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 5], *slash;
	unsigned int max;

	memset(a, 0, sizeof(*a));
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	a->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	max = a->family == AF_INET6 ? 128 : 32;
	if (inet_pton(a->family, buf, &a->addr) != 1)
		return -1;
	a->prefix = max;
	if (slash && (!parse_uint(slash, &a->prefix) || a->prefix > max))
		return -1;
	a->prefix_set = slash != NULL;
	return 0;
}

/* The address in netlink's terms: the prefix is the peer's when there is one, as with ip(8). */
static int to_netlink(const struct addr_arg *arg, struct config_addr *local,
		      struct config_addr *peer, struct netlink_addr *na, struct error *err)
{
	*na = (struct netlink_addr){ .local = local, .nodad = true };
	if (parse_one(arg->local, local) || (arg->peer && parse_one(arg->peer, peer)))
		return error_set(err, 0, "tun-probe: bad address '%s%s%s'", arg->local,
				 arg->peer ? " peer " : "", arg->peer ? arg->peer : "");
	na->prefix = local->prefix;
	if (arg->peer) {
		na->peer = peer;
		na->prefix = peer->prefix;
	}
	return 0;
}

static int addr_cmd(struct probe *p, bool add, const struct addr_arg *arg, struct error *err)
{
	struct config_addr local, peer;
	struct netlink_addr na;
	int rc;

	if (to_netlink(arg, &local, &peer, &na, err))
		return -1;
	rc = add ? netlink_addr_add(p->nl, p->tun.name, &na, err) :
		   netlink_addr_del(p->nl, p->tun.name, &na, err);
	/* an add says 1 when it added: to us, as there already, success */
	return rc < 0 ? rc : 0;
}

/* Removes a device through libnl (not the product's job: tests clean up with it). */
static int delete_link(const char *name)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link = rtnl_link_alloc();
	unsigned int ifindex = if_nametoindex(name);
	int rc = -1;

	if (!ifindex) {
		fprintf(stderr, "netlink: cannot delete %s: no such device\n", name);
	} else if (sk && link && !nl_connect(sk, NETLINK_ROUTE)) {
		rtnl_link_set_ifindex(link, (int)ifindex);
		rc = rtnl_link_delete(sk, link);
		if (rc < 0)
			fprintf(stderr, "netlink: cannot delete %s: %s\n", name, nl_geterror(rc));
	}
	rtnl_link_put(link);
	nl_socket_free(sk);
	return rc < 0 ? 1 : 0;
}

static void parse_args(struct probe *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tap", no_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "vnet-hdr", no_argument, NULL, 'v' },
		{ "attach", no_argument, NULL, 'a' },
		{ "persist", no_argument, NULL, 'p' },
		{ "no-persist", no_argument, NULL, 'P' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "addr", required_argument, NULL, 'A' },
		{ "peer", required_argument, NULL, 'R' },
		{ "carrier", required_argument, NULL, 'c' },
		{ "down", no_argument, NULL, 'd' },
		{ "delete", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	bool on;
	int c;

	p->name = "";
	p->persist = -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			p->opts.mode = TUN_MODE_TAP;
			break;
		case 'n':
			p->name = optarg;
			break;
		case 'v':
			p->opts.vnet_hdr = true;
			break;
		case 'a':
			p->attach = true;
			break;
		case 'p':
		case 'P':
			p->persist = c == 'p';
			break;
		case 'm':
			/* out of range values go to the kernel: its refusal is under test */
			if (!parse_uint(optarg, &p->mtu))
				usage();
			break;
		case 'A':
			if (p->naddrs == MAX_ADDRS)
				usage();
			p->addrs[p->naddrs++].local = optarg;
			break;
		case 'R':
			if (!p->naddrs)
				usage();
			p->addrs[p->naddrs - 1].peer = optarg;
			break;
		case 'c':
			if (!parse_onoff(optarg, &on))
				usage();
			p->opts.no_carrier = !on;
			break;
		case 'd':
			p->down = true;
			break;
		case 'D':
			exit(delete_link(optarg));
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

static int setup(struct probe *p, struct error *err)
{
	int rc;

	if (p->attach)
		rc = tun_attach(&p->tun, p->name, &p->opts, err);
	else
		rc = tun_create(&p->tun, p->name, &p->opts, err);
	if (rc)
		return rc;
	if (p->persist >= 0) {
		rc = tun_set_persist(&p->tun, p->persist, err);
		if (rc)
			return rc;
	}
	p->nl = netlink_open(err);
	if (!p->nl)
		return -1;
	if (p->mtu) {
		rc = netlink_set_mtu(p->nl, p->tun.name, p->mtu, err);
		if (rc)
			return rc;
	}
	/* up before the addresses: see netlink_addr_add() on IPv6 peers */
	rc = netlink_set_up(p->nl, p->tun.name, !p->down, err);
	if (rc)
		return rc;
	for (int i = 0; i < p->naddrs; i++) {
		rc = addr_cmd(p, true, &p->addrs[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The flags a test asks about, named as ip(8) names them. */
static void flag_names(unsigned int flags, char *buf, size_t len)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ IFF_UP, "UP" },
		{ IFF_RUNNING, "RUNNING" },
		{ IFF_LOWER_UP, "LOWER_UP" },
		{ IFF_POINTOPOINT, "POINTOPOINT" },
		{ IFF_NOARP, "NOARP" },
		{ IFF_BROADCAST, "BROADCAST" },
		{ IFF_MULTICAST, "MULTICAST" },
	};
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && n < len; i++)
		if (flags & names[i].bit)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "",
					      names[i].name);
}

static int print_state(struct probe *p, struct error *err)
{
	struct netlink_link st;
	char flags[128];
	int rc = netlink_link_get(p->nl, p->tun.name, &st, err);

	if (rc)
		return rc;
	flag_names(st.flags, flags, sizeof(flags));
	printf("state flags=%s carrier=%d operstate=%s mtu=%u\n", flags, st.carrier,
	       netlink_operstate_name(st.operstate), st.mtu);
	return 0;
}

/* One command line; 0, or -1 with the message in err. */
static int command(struct probe *p, char *line, struct error *err)
{
	char *verb = strtok(line, " \t"), *a1 = strtok(NULL, " \t"), *a2 = strtok(NULL, " \t");
	struct addr_arg addr = { .local = a1, .peer = a2 };
	unsigned int mtu;
	bool on;

	if (!verb)
		return 0;
	if (!strcmp(verb, "carrier") && a1 && parse_onoff(a1, &on))
		return tun_set_carrier(&p->tun, on, err);
	if (!strcmp(verb, "persist") && a1 && parse_onoff(a1, &on))
		return tun_set_persist(&p->tun, on, err);
	if (!strcmp(verb, "up") || !strcmp(verb, "down"))
		return netlink_set_up(p->nl, p->tun.name, verb[0] == 'u', err);
	if (!strcmp(verb, "mtu") && a1 && parse_uint(a1, &mtu))
		return netlink_set_mtu(p->nl, p->tun.name, mtu, err);
	if (!strcmp(verb, "offload") && a1) {
		unsigned long mask = strtoul(a1, NULL, 0);
		int rc = tun_set_offload(&p->tun, (unsigned int)mask, err);

		if (!rc)
			printf("offload 0x%02x\n", p->tun.offload);
		return rc;
	}
	if (!strcmp(verb, "addr") && a1)
		return addr_cmd(p, true, &addr, err);
	if (!strcmp(verb, "del") && a1)
		return addr_cmd(p, false, &addr, err);
	if (!strcmp(verb, "state"))
		return print_state(p, err);
	return error_set(err, 0, "tun-probe: unknown command '%s'", verb);
}

static void serve(struct probe *p)
{
	char line[256], copy[256];
	struct error err;

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		memcpy(copy, line, sizeof(copy));
		if (command(p, line, &err))
			printf("error %s\n", err.msg);
		else
			printf("ok %s\n", copy);
	}
}

int main(int argc, char **argv)
{
	struct probe p = { .tun = { .fd = -1 } };
	struct error err;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(&p, argc, argv);
	rc = setup(&p, &err);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	printf("ready %s ifindex=%d carrier-control=%s offload=0x%02x\n", p.tun.name,
	       p.tun.ifindex, p.tun.carrier_ctl ? "yes" : "no", p.tun.offload_ok);
	serve(&p);
out:
	netlink_close(p.nl);
	tun_close(&p.tun);
	return rc ? 1 : 0;
}
