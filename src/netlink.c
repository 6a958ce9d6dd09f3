// SPDX-License-Identifier: GPL-2.0-only
/*
 * Link configuration over rtnetlink with libnl-3 (see netlink.h).
 *
 * Links go through libnl-route's rtnl_link objects. Addresses are built as
 * RTM_NEWADDR/RTM_DELADDR messages with libnl's message API instead of
 * rtnl_addr objects, because libnl 3.7's rtnl_addr_set_peer() refuses IPv6
 * peers (NLE_AF_NOSUPPORT) although the kernel takes them like IPv4 ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <net/if.h>	/* before linux/if.h, which then leaves out what both define */
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netlink.h"
#include "util.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct netlink {
	struct nl_sock *sk;
	int kerr;		/* errno of the kernel's last refusal, 0 if none */
	char ext[160];		/* and the reason it gave (extended ack), "" if none */
};

/* --- errors ---------------------------------------------------------------------- */

/*
 * libnl reduces the kernel's errno to its own codes and drops the extended
 * ack; this catches both on their way through.
 */
static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct netlink *nl = arg;
	const struct nlmsghdr *h = (const void *)((const char *)e - NLMSG_HDRLEN);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	const struct nlattr *msg;

	nl->kerr = -e->error;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* without NLM_F_CAPPED the kernel echoes our whole request before the TLVs */
	if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(e->msg))
			return NL_STOP;
		off += e->msg.nlmsg_len - sizeof(e->msg);
	}
	off = NLMSG_ALIGN(off);
	if (off >= h->nlmsg_len)
		return NL_STOP;
	msg = nla_find((const struct nlattr *)((const char *)h + off), (int)(h->nlmsg_len - off),
		       NLMSGERR_ATTR_MSG);
	if (msg)
		nla_strlcpy(nl->ext, msg, sizeof(nl->ext));
	return NL_STOP;
}

static void reset_error(struct netlink *nl)
{
	nl->kerr = 0;
	nl->ext[0] = '\0';
}

static int nle_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_EXIST:
		return EEXIST;
	case NLE_INVAL:
		return EINVAL;
	case NLE_RANGE:
		return ERANGE;
	case NLE_NODEV:
		return ENODEV;
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_NOADDR:
		return EADDRNOTAVAIL;
	case NLE_PERM:
		return EPERM;
	case NLE_BUSY:
		return EBUSY;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return EAFNOSUPPORT;
	default:
		return EIO;
	}
}

/* "netlink: cannot <what>: <libnl's text>[ (kernel: <extack>)]"; returns -errno. */
static int fail_nl(struct netlink *nl, int nlerr, const char *what, struct error *err)
{
	int e = nl->kerr ? nl->kerr : nle_errno(nlerr);

	if (nl->ext[0])
		return error_set(err, e, "netlink: cannot %s: %s (kernel: %s)", what,
				 nl_geterror(nlerr), nl->ext);
	return error_set(err, e, "netlink: cannot %s: %s", what, nl_geterror(nlerr));
}

static int fail_msg(int e, const char *what, const char *why, struct error *err)
{
	return error_set(err, e, "netlink: cannot %s: %s", what, why);
}

static int ifindex_of(const char *ifname, const char *what, struct error *err)
{
	unsigned int i = if_nametoindex(ifname);

	if (!i)
		return fail_msg(ENODEV, what, "no such device", err);
	return (int)i;
}

/* --- the socket -------------------------------------------------------------------- */

struct netlink *netlink_open(struct error *err)
{
	struct netlink *nl = calloc(1, sizeof(*nl));
	int one = 1, rc;

	if (!nl) {
		error_set(err, ENOMEM, "netlink: out of memory");
		return NULL;
	}
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		error_set(err, ENOMEM, "netlink: cannot allocate a socket");
		goto fail;
	}
	rc = nl_connect(nl->sk, NETLINK_ROUTE);
	if (rc < 0) {
		error_set(err, nle_errno(rc), "netlink: cannot connect to rtnetlink: %s",
			  nl_geterror(rc));
		goto fail;
	}
	/* best effort: older kernels give errno alone */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, on_error, nl);
	return nl;

fail:
	netlink_close(nl);
	return NULL;
}

void netlink_close(struct netlink *nl)
{
	if (!nl)
		return;
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl);
}

/* --- links ------------------------------------------------------------------------- */

/*
 * Applies what set() puts into an empty rtnl_link to the device ifname;
 * "what" (e.g. "set MTU 1400 on vchan5") opens the error message.
 */
static int link_change(struct netlink *nl, const char *ifname, const char *what,
		       void (*set)(struct rtnl_link *change, unsigned int value), unsigned int value,
		       struct error *err)
{
	struct rtnl_link *orig, *change;
	int ifindex, rc;

	ifindex = ifindex_of(ifname, what, err);
	if (ifindex < 0)
		return ifindex;
	orig = rtnl_link_alloc();
	change = rtnl_link_alloc();
	if (!orig || !change) {
		rc = fail_msg(ENOMEM, what, "out of memory", err);
		goto out;
	}
	set(change, value);
	rtnl_link_set_ifindex(orig, ifindex);
	reset_error(nl);
	rc = rtnl_link_change(nl->sk, orig, change, 0);
	rc = rc < 0 ? fail_nl(nl, rc, what, err) : 0;
out:
	if (orig)
		rtnl_link_put(orig);
	if (change)
		rtnl_link_put(change);
	return rc;
}

static void set_admin_up(struct rtnl_link *change, unsigned int up)
{
	if (up)
		rtnl_link_set_flags(change, IFF_UP);
	else
		rtnl_link_unset_flags(change, IFF_UP);
}

int netlink_set_mtu(struct netlink *nl, const char *ifname, unsigned int mtu, struct error *err)
{
	char what[64];

	snprintf(what, sizeof(what), "set MTU %u on %s", mtu, ifname);
	return link_change(nl, ifname, what, rtnl_link_set_mtu, mtu, err);
}

int netlink_set_up(struct netlink *nl, const char *ifname, bool up, struct error *err)
{
	char what[64];

	snprintf(what, sizeof(what), "bring %s %s", ifname, up ? "up" : "down");
	return link_change(nl, ifname, what, set_admin_up, up, err);
}

int netlink_dev_sysctl(const char *ifname, const char *family, const char *key,
		       const char *value, struct error *err)
{
	char path[128];
	size_t n = strlen(value);
	int fd, e;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, ifname, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, value, n) == (ssize_t)n) {
		close(fd);
		return 0;
	}
	e = errno;
	if (fd >= 0)
		close(fd);
	return error_set(err, e, "%s: %s", path, strerror(e));
}

int netlink_link_get_index(struct netlink *nl, int ifindex, struct netlink_link *st,
			   struct error *err)
{
	struct rtnl_link *link = NULL;
	char what[64];
	int rc;

	memset(st, 0, sizeof(*st));
	snprintf(what, sizeof(what), "read the state of device %d", ifindex);
	reset_error(nl);
	rc = rtnl_link_get_kernel(nl->sk, ifindex, NULL, &link);
	if (rc < 0)
		return fail_nl(nl, rc, what, err);
	st->ifindex = ifindex;
	if (rtnl_link_get_name(link))
		snprintf(st->name, sizeof(st->name), "%s", rtnl_link_get_name(link));
	st->flags = rtnl_link_get_flags(link);
	st->mtu = rtnl_link_get_mtu(link);
	st->carrier = rtnl_link_get_carrier(link);
	st->operstate = rtnl_link_get_operstate(link);
	rtnl_link_put(link);
	return 0;
}

int netlink_link_get(struct netlink *nl, const char *ifname, struct netlink_link *st,
		     struct error *err)
{
	char what[64];
	int ifindex;

	memset(st, 0, sizeof(*st));
	snprintf(what, sizeof(what), "read the state of %s", ifname);
	ifindex = ifindex_of(ifname, what, err);
	if (ifindex < 0)
		return ifindex;
	return netlink_link_get_index(nl, ifindex, st, err);
}

const char *netlink_operstate_name(uint8_t operstate)
{
	static const char *const names[] = {
		[IF_OPER_UNKNOWN] = "unknown",
		[IF_OPER_NOTPRESENT] = "notpresent",
		[IF_OPER_DOWN] = "down",
		[IF_OPER_LOWERLAYERDOWN] = "lowerlayerdown",
		[IF_OPER_TESTING] = "testing",
		[IF_OPER_DORMANT] = "dormant",
		[IF_OPER_UP] = "up",
	};

	if (operstate >= ARRAY_SIZE(names) || !names[operstate])
		return "?";
	return names[operstate];
}

/* --- addresses --------------------------------------------------------------------- */

static unsigned int addr_bytes(const struct config_addr *a)
{
	return a->family == AF_INET6 ? 16 : 4;
}

static int addr_request(struct netlink *nl, int cmd, int flags, int ifindex,
			const struct netlink_addr *a)
{
	struct ifaddrmsg ifa = {
		.ifa_family = (uint8_t)a->local->family,
		.ifa_prefixlen = (uint8_t)a->prefix,
		.ifa_scope = RT_SCOPE_UNIVERSE,
		.ifa_index = (uint32_t)ifindex,
	};
	int bytes = (int)addr_bytes(a->local);
	struct nl_msg *msg;

	if (a->nodad && a->local->family == AF_INET6)
		ifa.ifa_flags |= IFA_F_NODAD;
	msg = nlmsg_alloc_simple(cmd, flags);
	if (!msg)
		return -NLE_NOMEM;
	/* IFA_LOCAL is our address; IFA_ADDRESS the peer's, or ours again without one */
	if (nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, IFA_LOCAL, bytes, &a->local->addr) < 0 ||
	    nla_put(msg, IFA_ADDRESS, bytes, &(a->peer ? a->peer : a->local)->addr) < 0) {
		nlmsg_free(msg);
		return -NLE_NOMEM;
	}
	reset_error(nl);
	return nl_send_sync(nl->sk, msg);
}

/* "add address 10.0.0.1 peer 10.0.0.2/32 to vchan5", for messages */
static void describe_addr(const struct netlink_addr *a, bool add, const char *ifname,
			  char *what, size_t len)
{
	char local[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];

	inet_ntop(a->local->family, &a->local->addr, local, sizeof(local));
	if (a->peer) {
		inet_ntop(a->peer->family, &a->peer->addr, peer, sizeof(peer));
		snprintf(what, len, "%s address %s peer %s/%u %s %s", add ? "add" : "remove", local,
			 peer, a->prefix, add ? "to" : "from", ifname);
	} else {
		snprintf(what, len, "%s address %s/%u %s %s", add ? "add" : "remove", local,
			 a->prefix, add ? "to" : "from", ifname);
	}
}

static int addr_op(struct netlink *nl, int cmd, const char *ifname, const struct netlink_addr *a,
		   struct error *err)
{
	bool add = cmd == RTM_NEWADDR;
	char what[160];
	int ifindex, rc;

	describe_addr(a, add, ifname, what, sizeof(what));
	if (a->peer && a->peer->family != a->local->family)
		return fail_msg(EINVAL, what, "local and peer addresses of different families",
				err);
	if (a->prefix > addr_bytes(a->local) * 8)
		return fail_msg(EINVAL, what, "prefix length out of range", err);
	ifindex = ifindex_of(ifname, what, err);
	if (ifindex < 0)
		return ifindex;
	rc = addr_request(nl, cmd, add ? NLM_F_CREATE | NLM_F_EXCL : 0, ifindex, a);
	/* already there, or already gone: what the caller wanted */
	if (add && rc == -NLE_EXIST)
		return 0;
	if (!add && (nl->kerr == EADDRNOTAVAIL || nl->kerr == ENOENT))
		return 0;
	if (rc < 0)
		return fail_nl(nl, rc, what, err);
	return add ? 1 : 0;
}

int netlink_addr_add(struct netlink *nl, const char *ifname, const struct netlink_addr *a,
		     struct error *err)
{
	return addr_op(nl, RTM_NEWADDR, ifname, a, err);
}

int netlink_addr_del(struct netlink *nl, const char *ifname, const struct netlink_addr *a,
		     struct error *err)
{
	return addr_op(nl, RTM_DELADDR, ifname, a, err);
}

/* --- routes --------------------------------------------------------------------------- */

struct route_wait {
	const struct config_addr *dst;
	int ifindex;
	bool found;
};

/* Each RTM_NEWROUTE, of the dump or announced: is it the host route to dst via ifindex? */
static int route_seen(struct nl_msg *msg, void *arg)
{
	struct route_wait *w = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rt;

	if (h->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(h, sizeof(*rt)))
		return NL_OK;
	rt = nlmsg_data(h);
	if (rt->rtm_family != w->dst->family || rt->rtm_dst_len != addr_bytes(w->dst) * 8 ||
	    nlmsg_parse(h, sizeof(*rt), tb, RTA_MAX, NULL) < 0 || !tb[RTA_DST] || !tb[RTA_OIF])
		return NL_OK;
	if (nla_len(tb[RTA_DST]) == (int)addr_bytes(w->dst) &&
	    !memcmp(nla_data(tb[RTA_DST]), &w->dst->addr, addr_bytes(w->dst)) &&
	    nla_get_u32(tb[RTA_OIF]) == (uint32_t)w->ifindex)
		w->found = true;
	return NL_OK;
}

/*
 * Joins the route group first and then dumps the table, so that a route
 * that appears meanwhile is in one or the other.
 */
int netlink_wait_route(struct netlink *nl, const char *ifname, const struct config_addr *dst,
		       int timeout_ms, struct error *err)
{
	struct route_wait w = { .dst = dst, .found = false };
	struct rtmsg rt = { 0 };
	int64_t deadline = now_ms() + timeout_ms;
	struct nl_sock *sk = NULL;
	char what[96], text[INET6_ADDRSTRLEN];
	int rc;

	inet_ntop(dst->family, &dst->addr, text, sizeof(text));
	snprintf(what, sizeof(what), "wait for the route to %s through %s", text, ifname);
	w.ifindex = ifindex_of(ifname, what, err);
	if (w.ifindex < 0)
		return w.ifindex;
	rt.rtm_family = (uint8_t)dst->family;
	sk = nl_socket_alloc();
	if (!sk)
		return fail_msg(ENOMEM, what, "out of memory", err);
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, route_seen, &w);
	rc = nl_connect(sk, NETLINK_ROUTE);
	if (!rc)
		rc = nl_socket_add_membership(sk, dst->family == AF_INET6 ? RTNLGRP_IPV6_ROUTE :
									      RTNLGRP_IPV4_ROUTE);
	if (!rc)
		rc = nl_send_simple(sk, RTM_GETROUTE, NLM_F_DUMP, &rt, sizeof(rt));
	if (rc >= 0)
		rc = nl_recvmsgs_default(sk);
	if (rc >= 0)
		rc = nl_socket_set_nonblocking(sk);
	while (rc >= 0 && !w.found) {
		struct pollfd pfd = { .fd = nl_socket_get_fd(sk), .events = POLLIN };
		int64_t left = deadline - now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			nl_socket_free(sk);
			return fail_msg(ETIMEDOUT, what, "the kernel did not add it", err);
		}
		rc = nl_recvmsgs_default(sk);
		if (rc == -NLE_AGAIN)
			rc = 0;
	}
	nl_socket_free(sk);
	return rc < 0 ? fail_msg(nle_errno(rc), what, nl_geterror(rc), err) : 0;
}

/* --- listening ------------------------------------------------------------------------ */

/* Room for one datagram: a link's message with all its statistics is a few KiB. */
#define LISTEN_BUF	32768
#define LISTEN_RCVBUF	(1 << 20)

struct netlink_listener {
	struct nl_sock *sk;
	uint8_t buf[LISTEN_BUF];
};

struct netlink_listener *netlink_listen(struct error *err)
{
	struct netlink_listener *ls = calloc(1, sizeof(*ls));
	int rc;

	if (!ls) {
		error_set(err, ENOMEM, "netlink: out of memory");
		return NULL;
	}
	ls->sk = nl_socket_alloc();
	if (!ls->sk) {
		error_set(err, ENOMEM, "netlink: cannot allocate a socket");
		goto fail;
	}
	nl_socket_disable_seq_check(ls->sk);
	rc = nl_connect(ls->sk, NETLINK_ROUTE);
	if (!rc)
		rc = nl_socket_add_memberships(ls->sk, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
					       RTNLGRP_IPV6_IFADDR, 0);
	if (!rc)
		rc = nl_socket_set_nonblocking(ls->sk);
	/* a larger queue overruns later when many devices change at once */
	if (!rc)
		rc = nl_socket_set_buffer_size(ls->sk, LISTEN_RCVBUF, 0);
	if (rc < 0) {
		error_set(err, nle_errno(rc), "netlink: cannot listen to the kernel's link and "
			  "address changes: %s", nl_geterror(rc));
		goto fail;
	}
	return ls;

fail:
	netlink_listener_close(ls);
	return NULL;
}

void netlink_listener_close(struct netlink_listener *ls)
{
	if (!ls)
		return;
	if (ls->sk)
		nl_socket_free(ls->sk);
	free(ls);
}

int netlink_listener_fd(const struct netlink_listener *ls)
{
	return nl_socket_get_fd(ls->sk);
}

/* An RTM_*LINK message as an event; false for one too short to read. */
static bool parse_link(const struct nlmsghdr *h, struct netlink_event *ev)
{
	const struct ifinfomsg *ifi;

	if (!nlmsg_valid_hdr(h, sizeof(*ifi)))
		return false;
	ifi = nlmsg_data(h);
	ev->what = h->nlmsg_type == RTM_NEWLINK ? NETLINK_LINK_CHANGED : NETLINK_LINK_GONE;
	ev->ifindex = ifi->ifi_index;
	ev->flags = ifi->ifi_flags;
	ev->change = ifi->ifi_change;
	return true;
}

/* An RTM_*ADDR message as an event: our own address is IFA_LOCAL, if there is one. */
static bool parse_addr(struct nlmsghdr *h, struct netlink_event *ev)
{
	struct nlattr *tb[IFA_MAX + 1], *a;
	const struct ifaddrmsg *ifa;
	unsigned int bytes;

	if (!nlmsg_valid_hdr(h, sizeof(*ifa)) || nlmsg_parse(h, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return false;
	ifa = nlmsg_data(h);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return false;
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	ev->addr.family = ifa->ifa_family;
	bytes = addr_bytes(&ev->addr);
	if (!a || nla_len(a) != (int)bytes)
		return false;
	memcpy(&ev->addr.addr, nla_data(a), bytes);
	ev->addr.prefix = ifa->ifa_prefixlen;
	ev->addr.prefix_set = true;
	ev->what = h->nlmsg_type == RTM_NEWADDR ? NETLINK_ADDR_ADDED : NETLINK_ADDR_GONE;
	ev->ifindex = (int)ifa->ifa_index;
	return true;
}

static void dispatch(struct nlmsghdr *h, void (*on_event)(const struct netlink_event *ev, void *arg),
		     void *arg)
{
	struct netlink_event ev = { 0 };
	bool ok;

	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		ok = parse_link(h, &ev);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		ok = parse_addr(h, &ev);
		break;
	default:
		ok = false;
	}
	if (ok)
		on_event(&ev, arg);
}

/*
 * Plain recv() rather than nl_recvmsgs(): one datagram per call, so the
 * budget counts what the kernel sent, and ENOBUFS stays ENOBUFS (libnl makes
 * it NLE_NOMEM).
 */
int netlink_listener_read(struct netlink_listener *ls, int budget,
			  void (*on_event)(const struct netlink_event *ev, void *arg), void *arg)
{
	int fd = nl_socket_get_fd(ls->sk), n_read;

	for (n_read = 0; n_read < budget; n_read++) {
		struct nlmsghdr *h = (struct nlmsghdr *)ls->buf;
		ssize_t n = recv(fd, ls->buf, sizeof(ls->buf), MSG_DONTWAIT);
		int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -errno;
		/* a datagram longer than buf arrives cut, and nlmsg_ok stops at the cut */
		for (len = (int)n; nlmsg_ok(h, len); h = nlmsg_next(h, &len))
			dispatch(h, on_event, arg);
	}
	return n_read;
}
