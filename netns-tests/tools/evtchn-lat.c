// SPDX-License-Identifier: GPL-2.0-only
/*
 * evtchn-lat: event channel ping-pong between two domains, to measure the
 * one-way latency of a notify (half the round trip) through libxenevtchn.
 *
 *   evtchn-lat server PEER_DOMID          prints the port, echoes every event
 *   evtchn-lat client SERVER_DOMID PORT [ROUNDS]
 *   evtchn-lat late SERVER_DOMID PORT
 *
 * The client checks that its new port starts with an event pending (Xen's
 * spurious first event), then prints the median and 99th percentile. The
 * server says "echoed" once it has answered the first event.
 *
 * "late" asks for an echo while its first event still waits, untaken, and
 * once stdin gives a line (the echo is sent by then), takes one event and
 * unmasks: Linux's evtchn driver delivers the first event at once and keeps
 * the echo pending while the port is masked, so a second event must follow.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenevtchn.h>

static void die(const char *what)
{
	fprintf(stderr, "evtchn-lat: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long parse(const char *what, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "evtchn-lat: %s '%s': expected %ld..%ld\n", what, s, min, max);
		exit(2);
	}
	return v;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Waits for the next event on port, up to timeout_ms; returns 0 on time-out. */
static int wait_event(xenevtchn_handle *xce, evtchn_port_t port, int timeout_ms)
{
	struct pollfd pfd = { .fd = xenevtchn_fd(xce), .events = POLLIN };
	xenevtchn_port_or_error_t got;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	got = xenevtchn_pending(xce);
	if (got < 0)
		die("xenevtchn_pending");
	if ((evtchn_port_t)got != port) {
		fprintf(stderr, "evtchn-lat: event on port %d, expected %u\n", got, port);
		exit(1);
	}
	if (xenevtchn_unmask(xce, port) < 0)
		die("xenevtchn_unmask");
	return 1;
}

static int server(xenevtchn_handle *xce, long peer)
{
	bool echoed = false;
	xenevtchn_port_or_error_t port = xenevtchn_bind_unbound_port(xce, (uint32_t)peer);

	if (port < 0)
		die("xenevtchn_bind_unbound_port");
	printf("%d\n", port);
	fflush(stdout);
	for (;;) {
		if (!wait_event(xce, (evtchn_port_t)port, 30000))
			return 0; /* the client is long gone */
		if (xenevtchn_notify(xce, (evtchn_port_t)port) < 0)
			die("xenevtchn_notify");
		if (!echoed) {
			echoed = true;
			printf("echoed\n");
			fflush(stdout);
		}
	}
}

static int late(xenevtchn_handle *xce, long dom, long remote)
{
	xenevtchn_port_or_error_t port;
	char line[16];

	port = xenevtchn_bind_interdomain(xce, (uint32_t)dom, (evtchn_port_t)remote);
	if (port < 0)
		die("xenevtchn_bind_interdomain");
	if (xenevtchn_notify(xce, (evtchn_port_t)port) < 0)
		die("xenevtchn_notify");
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	if (!wait_event(xce, (evtchn_port_t)port, 0)) {
		printf("first-event: no\n");
		return 1;
	}
	printf("second-event: %s\n", wait_event(xce, (evtchn_port_t)port, 2000) ? "yes" : "no");
	return 0;
}

static int client(xenevtchn_handle *xce, long dom, long remote, long rounds)
{
	xenevtchn_port_or_error_t port;
	double *rtt = calloc((size_t)rounds, sizeof(*rtt));

	if (!rtt)
		die("calloc");
	port = xenevtchn_bind_interdomain(xce, (uint32_t)dom, (evtchn_port_t)remote);
	if (port < 0)
		die("xenevtchn_bind_interdomain");
	printf("spurious-first-event: %s\n", wait_event(xce, (evtchn_port_t)port, 0) ? "yes" : "no");
	for (long i = 0; i < rounds; i++) {
		double t0 = now_us();

		if (xenevtchn_notify(xce, (evtchn_port_t)port) < 0)
			die("xenevtchn_notify");
		if (!wait_event(xce, (evtchn_port_t)port, 5000)) {
			fprintf(stderr, "evtchn-lat: no echo within 5 s in round %ld\n", i);
			free(rtt);
			return 1;
		}
		rtt[i] = now_us() - t0;
	}
	qsort(rtt, (size_t)rounds, sizeof(*rtt), cmp_double);
	printf("rounds=%ld one-way-us median=%.2f p99=%.2f\n", rounds, rtt[rounds / 2] / 2,
	       rtt[rounds * 99 / 100] / 2);
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	xenevtchn_handle *xce;
	int rc;

	if (argc < 3 ||
	    (strcmp(argv[1], "server") && strcmp(argv[1], "client") && strcmp(argv[1], "late")) ||
	    (strcmp(argv[1], "server") && argc < 4)) {
		fprintf(stderr, "usage: evtchn-lat server PEER_DOMID\n"
				"       evtchn-lat client SERVER_DOMID PORT [ROUNDS]\n"
				"       evtchn-lat late SERVER_DOMID PORT\n");
		return 2;
	}
	xce = xenevtchn_open(NULL, 0);
	if (!xce)
		die("xenevtchn_open");
	if (!strcmp(argv[1], "server"))
		rc = server(xce, parse("domain", argv[2], 0, 0x7fef));
	else if (!strcmp(argv[1], "late"))
		rc = late(xce, parse("domain", argv[2], 0, 0x7fef), parse("port", argv[3], 1, 4095));
	else
		rc = client(xce, parse("domain", argv[2], 0, 0x7fef),
			    parse("port", argv[3], 1, 4095),
			    argc > 4 ? parse("rounds", argv[4], 1, 10000000) : 10000);
	xenevtchn_close(xce);
	return rc;
}
