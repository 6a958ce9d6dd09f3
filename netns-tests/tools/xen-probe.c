// SPDX-License-Identifier: GPL-2.0-only
/*
 * xen-probe: one grant or event-channel operation from the command line, so
 * tests can check who may do what. Failures print the errno's name (EINVAL,
 * EACCES...) alone on stdout and exit 1.
 *
 *   xen-probe share PEER_DOMID ro|rw [COUNT]  print the refs, hold them until stdin closes
 *   xen-probe map DOMID REF ro|rw             map one grant, print what its page says
 *   xen-probe offer-port PEER_DOMID           print an unbound port, hold it until stdin closes
 *   xen-probe bind-port DOMID PORT [--hold]   bind to a remote port [until stdin closes]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>

static int failed(const char *what)
{
	fprintf(stderr, "xen-probe: %s: %s\n", what, strerror(errno));
	printf("%s\n", strerrorname_np(errno));
	return 1;
}

/* Reports the failure of an operation on an open handle, and closes it. */
#define FAIL_CLOSE(what, close_fn, handle)         \
	({                                          \
		int rc_ = failed(what);             \
		close_fn(handle);                   \
		rc_;                                \
	})

static long number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (end == s || *end) {
		fprintf(stderr, "xen-probe: '%s' is not a number\n", s);
		exit(2);
	}
	return v;
}

static int writable(const char *s)
{
	if (strcmp(s, "rw") && strcmp(s, "ro")) {
		fprintf(stderr, "xen-probe: '%s': expected ro or rw\n", s);
		exit(2);
	}
	return !strcmp(s, "rw");
}

static void hold(void)
{
	char buf[64];

	while (read(0, buf, sizeof(buf)) > 0)
		;
}

static int share(long peer, int rw, long count)
{
	xengntshr_handle *xgs = xengntshr_open(NULL, 0);
	uint32_t refs[64];
	char *pages;

	if (count < 1 || count > 64) {
		fprintf(stderr, "xen-probe: count %ld: expected 1..64\n", count);
		return 2;
	}
	if (!xgs)
		return failed("xengntshr_open");
	pages = xengntshr_share_pages(xgs, (uint32_t)peer, (int)count, refs, rw);
	if (!pages)
		return FAIL_CLOSE("xengntshr_share_pages", xengntshr_close, xgs);
	for (long i = 0; i < count; i++) {
		snprintf(pages + i * 4096, 4096, "page %ld of domain %s", i, getenv("XENSIM_DOMID"));
		printf("%s%u", i ? " " : "", refs[i]);
	}
	printf("\n");
	fflush(stdout);
	hold();
	xengntshr_unshare(xgs, pages, (uint32_t)count);
	xengntshr_close(xgs);
	return 0;
}

static int map(long dom, long ref, int rw)
{
	xengnttab_handle *xgt = xengnttab_open(NULL, 0);
	char *page;

	if (!xgt)
		return failed("xengnttab_open");
	page = xengnttab_map_grant_ref(xgt, (uint32_t)dom, (uint32_t)ref,
				       PROT_READ | (rw ? PROT_WRITE : 0));
	if (!page)
		return FAIL_CLOSE("xengnttab_map_grant_ref", xengnttab_close, xgt);
	printf("%.*s\n", 64, page);
	xengnttab_unmap(xgt, page, 1);
	xengnttab_close(xgt);
	return 0;
}

static int offer_port(long peer)
{
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	xenevtchn_port_or_error_t port;

	if (!xce)
		return failed("xenevtchn_open");
	port = xenevtchn_bind_unbound_port(xce, (uint32_t)peer);
	if (port < 0)
		return FAIL_CLOSE("xenevtchn_bind_unbound_port", xenevtchn_close, xce);
	printf("%d\n", port);
	fflush(stdout);
	hold();
	xenevtchn_close(xce);
	return 0;
}

static int bind_port(long dom, long remote, int keep)
{
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	xenevtchn_port_or_error_t port;

	if (!xce)
		return failed("xenevtchn_open");
	port = xenevtchn_bind_interdomain(xce, (uint32_t)dom, (evtchn_port_t)remote);
	if (port < 0)
		return FAIL_CLOSE("xenevtchn_bind_interdomain", xenevtchn_close, xce);
	printf("%d\n", port);
	fflush(stdout);
	if (keep)
		hold();
	xenevtchn_close(xce);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "share") && (argc == 4 || argc == 5))
		return share(number(argv[2]), writable(argv[3]), argc == 5 ? number(argv[4]) : 1);
	if (!strcmp(cmd, "map") && argc == 5)
		return map(number(argv[2]), number(argv[3]), writable(argv[4]));
	if (!strcmp(cmd, "offer-port") && argc == 3)
		return offer_port(number(argv[2]));
	if (!strcmp(cmd, "bind-port") && (argc == 4 || (argc == 5 && !strcmp(argv[4], "--hold"))))
		return bind_port(number(argv[2]), number(argv[3]), argc == 5);
	fprintf(stderr, "usage: xen-probe share PEER_DOMID ro|rw [COUNT]\n"
			"       xen-probe map DOMID REF ro|rw\n"
			"       xen-probe offer-port PEER_DOMID\n"
			"       xen-probe bind-port DOMID PORT [--hold]\n");
	return 2;
}
