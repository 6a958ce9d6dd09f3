// SPDX-License-Identifier: MIT
/*
 * xenstored-lite: a XenStore daemon for xensim.
 *
 * Speaks the XenStore wire protocol on a Unix socket per domain, in one thread
 * around one epoll loop.  See docs/xensim.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "conn.h"
#include "domain.h"
#include "loop.h"
#include "state.h"
#include "store.h"
#include "util.h"

#define EXIT_USAGE 2

/* C xenstored's defaults. */
#define DEFAULT_QUOTA_NODES	   1000
#define DEFAULT_QUOTA_WATCHES	   128
#define DEFAULT_QUOTA_TRANSACTIONS 10
#define DEFAULT_QUOTA_ENTRY_SIZE   2048

static void usage(FILE *f)
{
	fprintf(f, "usage: xenstored-lite --dir DIR [--quota-nodes N] [--quota-watches N]\n"
		   "                      [--quota-transactions N] [--quota-entry-size N]\n"
		   "                      [--restore FILE] [--ready-fd FD] [-v]\n"
		   "\n"
		   "Serves XenStore on DIR/xenstore/<domid>.sock; the quotas apply to every\n"
		   "domain but 0 (defaults: 1000 nodes, 128 watches, 10 transactions per\n"
		   "connection, 2048-byte values).  --restore: start from the store, quotas\n"
		   "and domains a live update (CONTROL live-update) left in FILE.\n"
		   "--ready-fd: write \"ready\\n\" there once listening.  -v traces every\n"
		   "request on stderr.\n");
}

static void __attribute__((noreturn, format(printf, 1, 2))) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("xenstored-lite: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	usage(stderr);
	exit(EXIT_USAGE);
}

static unsigned int opt_uint(const char *opt, const char *arg)
{
	unsigned long v;

	if (!parse_uint(arg, INT_MAX, &v))
		bad_usage("%s: '%s' is not a number from 0 to %d", opt, arg, INT_MAX);
	return (unsigned int)v;
}

static const char *restore_file;

static int parse_args(int argc, char **argv)
{
	enum { OPT_DIR = 256, OPT_NODES, OPT_WATCHES, OPT_TX, OPT_ENTRY, OPT_READY, OPT_RESTORE,
	       OPT_HELP };
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "quota-nodes", required_argument, NULL, OPT_NODES },
		{ "quota-watches", required_argument, NULL, OPT_WATCHES },
		{ "quota-transactions", required_argument, NULL, OPT_TX },
		{ "quota-entry-size", required_argument, NULL, OPT_ENTRY },
		{ "ready-fd", required_argument, NULL, OPT_READY },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int opt, ready_fd = -1;

	cfg.quota_nodes = DEFAULT_QUOTA_NODES;
	cfg.quota_watches = DEFAULT_QUOTA_WATCHES;
	cfg.quota_transactions = DEFAULT_QUOTA_TRANSACTIONS;
	cfg.quota_entry_size = DEFAULT_QUOTA_ENTRY_SIZE;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":v", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_DIR:
			if (!*optarg)
				bad_usage("--dir: empty directory name");
			cfg.dir = optarg;
			break;
		case OPT_NODES:
			cfg.quota_nodes = opt_uint("--quota-nodes", optarg);
			break;
		case OPT_WATCHES:
			cfg.quota_watches = opt_uint("--quota-watches", optarg);
			break;
		case OPT_TX:
			cfg.quota_transactions = opt_uint("--quota-transactions", optarg);
			break;
		case OPT_ENTRY:
			cfg.quota_entry_size = opt_uint("--quota-entry-size", optarg);
			break;
		case OPT_READY:
			ready_fd = (int)opt_uint("--ready-fd", optarg);
			if (fcntl(ready_fd, F_GETFD) < 0)
				bad_usage("--ready-fd: %d is not an open file descriptor",
					  ready_fd);
			break;
		case OPT_RESTORE:
			restore_file = optarg;
			break;
		case 'v':
			cfg.verbose = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case ':':
			bad_usage("%s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				bad_usage("unknown option '-%c'", optopt);
			bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (!cfg.dir)
		bad_usage("--dir is required");
	return ready_fd;
}

static void announce_ready(int fd)
{
	static const char msg[] = "ready\n";

	if (fd < 0)
		return;
	if (write(fd, msg, sizeof(msg) - 1) != (ssize_t)sizeof(msg) - 1)
		log_msg("--ready-fd: write: %s", strerror(errno));
	close(fd);
}

/* Many clients at once need many descriptors: take what the hard limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int setup_signals(struct ev_src *src)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (loop_add(fd, EPOLLIN, src)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Runs until SIGTERM or SIGINT, or a live update; returns the signal, or 0. */
static int run(int sigfd)
{
	struct epoll_event evs[64];
	struct signalfd_siginfo si;
	int i, n;

	while (!loop_quitting()) {
		n = epoll_wait(loop_fd(), evs, (int)ARRAY_SIZE(evs), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg("epoll_wait: %s", strerror(errno));
			return 0;
		}
		for (i = 0; i < n; i++) {
			struct ev_src *src = evs[i].data.ptr;

			switch (src->kind) {
			case EV_SIGNAL:
				if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					return (int)si.ssi_signo;
				break;
			case EV_LISTEN:
				domain_accept((struct domain *)src);
				break;
			case EV_CONN:
				conn_handle((struct conn *)src, evs[i].events);
				break;
			}
		}
		/* Only now can nothing in evs[] point at what was closed. */
		conn_reap();
		domain_reap();
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct ev_src sig_src = { .kind = EV_SIGNAL };
	int ready_fd, sigfd, sig, status = 1;

	ready_fd = parse_args(argc, argv);
	raise_fd_limit();

	if (loop_init()) {
		log_msg("epoll_create1: %s", strerror(errno));
		return 1;
	}
	sigfd = setup_signals(&sig_src);
	if (sigfd < 0) {
		log_msg("signals: %s", strerror(errno));
		goto out_loop;
	}
	store_init();
	if (domain_setup(cfg.dir) || (restore_file && state_restore(restore_file)))
		goto out;
	announce_ready(ready_fd);

	sig = run(sigfd);
	if (sig)
		log_msg("%s: shutting down", strsignal(sig));
	if (sig || loop_quitting())
		status = 0;
out:
	conn_close_all();
	domain_exit();
	store_exit();
	close(sigfd);
out_loop:
	loop_exit();
	return status;
}
