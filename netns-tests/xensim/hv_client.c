// SPDX-License-Identifier: GPL-2.0-only
/* The client side of xensim-hv's socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv_client.h"

const char *hv_dir(void)
{
	const char *dir = getenv("XENSIM_DIR");

	return dir && *dir ? dir : "/run/xensim";
}

int hv_self_domid(void)
{
	const char *s = getenv("XENSIM_DOMID");
	char *end;
	long v;

	if (!s) {
		fprintf(stderr, "xensim: XENSIM_DOMID is not set; run the program under `xensim exec`\n");
		errno = ENOENT;
		return -1;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v >= HV_MAX_DOMID) {
		fprintf(stderr, "xensim: XENSIM_DOMID='%s' is not a domain id (0..%u)\n", s,
			HV_MAX_DOMID - 1);
		errno = EINVAL;
		return -1;
	}
	return (int)v;
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static ssize_t send_msg(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * HV_MAX_MAP_DOMS)] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > 0) {
		struct cmsghdr *c;

		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n;
}

static ssize_t recv_msg(int sock, void *buf, size_t len, int *fds, int max_fds, int *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * HV_MAX_MAP_DOMS)];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		int *in = (int *)CMSG_DATA(c);
		int count;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < count; i++) {
			if (*nfds < max_fds)
				fds[(*nfds)++] = in[i];
			else
				close(in[i]);
		}
	}
	if (n == 0) {
		errno = ECONNRESET;
		return -1;
	}
	return n;
}

ssize_t hv_call(int sock, const void *req, size_t len, const int *fds, int nfds, void *rep,
		size_t rep_max, int *rfds, int max_rfds, int *nrfds)
{
	struct hv_hdr *h = rep;
	int scratch_fds[HV_MAX_MAP_DOMS], scratch_n;
	ssize_t n;

	if (!rfds) {
		rfds = scratch_fds;
		max_rfds = 0;
		nrfds = &scratch_n;
	}
	if (send_msg(sock, req, len, fds, nfds) < 0)
		return -1;
	n = recv_msg(sock, rep, rep_max, rfds, max_rfds, nrfds);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(*h) || h->op != ((const struct hv_hdr *)req)->op) {
		close_fds(rfds, *nrfds);
		*nrfds = 0;
		errno = EPROTO;
		return -1;
	}
	if (h->err) {
		close_fds(rfds, *nrfds);
		*nrfds = 0;
		errno = h->err;
		return -1;
	}
	return n;
}

int hv_open(enum hv_kind kind, const int *fds, int nfds)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct hv_hello hello = { .h.op = HV_OP_HELLO, .kind = kind };
	struct hv_hdr rep;
	int domid = hv_self_domid();
	int sock, saved;

	if (domid < 0)
		return -1;
	hello.domid = (uint32_t)domid;
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", hv_dir(), HV_SOCKET) >=
	    sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -1;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		saved = errno;
		fprintf(stderr, "xensim: cannot reach the simulated hypervisor at %s: %s\n",
			addr.sun_path, strerror(saved));
		goto fail;
	}
	if (hv_call(sock, &hello, sizeof(hello), fds, nfds, &rep, sizeof(rep), NULL, 0, NULL) < 0) {
		saved = errno;
		goto fail;
	}
	return sock;
fail:
	close(sock);
	errno = saved;
	return -1;
}
