// SPDX-License-Identifier: GPL-2.0-only
/*
 * xensim: starts and stops the simulated Xen services, creates and destroys
 * simulated domains the way the xl toolstack does, and runs programs as a
 * domain. See docs/xensim.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>

#include "hv_client.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS	 5000

static const char *dir;
static char sim_bin[PATH_MAX]; /* where xensim-hv, xenstored-lite and the libraries are */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("xensim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void usage(FILE *f, int status) __attribute__((noreturn));
static void usage(FILE *f, int status)
{
	fputs("usage: xensim [--dir DIR] COMMAND ...\n"
	      "  start [--gntalloc-limit N] [--quota-nodes N] [--quota-watches N]\n"
	      "        [--quota-transactions N] [--quota-entry-size N]\n"
	      "  stop\n"
	      "  domain create DOMID [--name NAME] [--gntalloc-limit N]\n"
	      "  domain destroy DOMID\n"
	      "  domain list\n"
	      "  exec DOMID [--netns NAME] -- COMMAND [ARG...]\n"
	      "  env DOMID\n"
	      "  xenstored restart\n"
	      "  xenstored stats\n"
	      "DIR defaults to $XENSIM_DIR, else /run/xensim. See docs/xensim.md.\n",
	      f);
	exit(status);
}

static void bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("xensim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	usage(stderr, 2);
}

static uint32_t parse_number(const char *what, const char *s, uint32_t min, uint32_t max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		bad_usage("%s '%s': expected a number from %u to %u", what, s, min, max);
	return (uint32_t)v;
}

static uint32_t parse_domid(const char *s)
{
	return parse_number("domain id", s, 0, HV_MAX_DOMID - 1);
}

static char *path_in_dir(const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	if ((size_t)snprintf(p, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		die("path %s/%s is too long", dir, name);
	return p;
}

static void find_sim_bin(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		die("cannot read /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	/* build/bin/xensim -> build/xensim */
	snprintf(sim_bin, sizeof(sim_bin), "%s/../xensim", dirname(exe));
}

/* --- processes ----------------------------------------------------------- */

static pid_t read_pid(const char *name)
{
	FILE *f = fopen(path_in_dir(name), "r");
	char line[32] = "", *end;
	long pid;

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	pid = strtol(line, &end, 10);
	if (end == line || (*end && *end != '\n') || pid <= 0 || pid > INT_MAX)
		return 0;
	return kill((pid_t)pid, 0) == 0 ? (pid_t)pid : 0;
}

static void write_pid(const char *name, pid_t pid)
{
	FILE *f = fopen(path_in_dir(name), "w");

	if (!f || fprintf(f, "%d\n", pid) < 0 || fclose(f) != 0)
		die("cannot write %s: %s", path_in_dir(name), strerror(errno));
}

/* Waits for pid to exit without polling: a pidfd becomes readable when it does. */
static bool wait_exit(pid_t pid, int timeout_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	if (fd < 0)
		return errno == ESRCH;
	n = poll(&pfd, 1, timeout_ms);
	close(fd);
	return n == 1;
}

static void show_log(const char *log)
{
	char line[512];
	FILE *f = fopen(log, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  %s", line);
	fclose(f);
}

/*
 * Starts a daemon in its own session, output to DIR/NAME.log, and waits until
 * it writes "ready" to the pipe it gets as --ready-fd.
 */
static pid_t spawn_daemon(const char *prog_name, const char *name, char **args)
{
	char prog[PATH_MAX + 32], log[PATH_MAX + 16], fdarg[16], buf[16] = "";
	char *argv[32];
	int p[2], n = 0, argc = 0;
	struct pollfd pfd;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/%s", sim_bin, prog_name);
	snprintf(log, sizeof(log), "%s/%s.log", dir, name);
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
	argv[argc++] = prog;
	argv[argc++] = "--dir";
	argv[argc++] = (char *)dir;
	argv[argc++] = "--ready-fd";
	argv[argc++] = fdarg;
	while (*args && argc < 30)
		argv[argc++] = *args++;
	argv[argc] = NULL;

	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd < 0 || devnull < 0)
			_exit(127);
		setsid();
		dup2(devnull, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		fcntl(p[1], F_SETFD, 0);
		execv(prog, argv);
		fprintf(stderr, "xensim: cannot run %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, START_TIMEOUT_MS) == 1)
		n = (int)read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (n <= 0 || strncmp(buf, "ready", 5) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fprintf(stderr, "xensim: %s did not start; its log %s says:\n", prog_name, log);
		show_log(log);
		exit(1);
	}
	return pid;
}

static void stop_daemon(const char *name)
{
	char pidfile[64];
	pid_t pid;

	snprintf(pidfile, sizeof(pidfile), "%s.pid", name);
	pid = read_pid(pidfile);
	if (pid) {
		kill(pid, SIGTERM);
		if (!wait_exit(pid, STOP_TIMEOUT_MS)) {
			fprintf(stderr, "xensim: %s (pid %d) ignored SIGTERM; killing it\n", name,
				pid);
			kill(pid, SIGKILL);
			wait_exit(pid, STOP_TIMEOUT_MS);
		}
	}
	unlink(path_in_dir(pidfile));
}

/* --- the simulated services as domain 0 sees them ------------------------- */

static int hv_ctrl(void)
{
	int sock = hv_open(HV_KIND_CTRL, NULL, 0);

	if (sock < 0)
		die("no simulated hypervisor answers in %s (run `xensim start`): %s", dir,
		    strerror(errno));
	return sock;
}

static int hv_domain_op(uint32_t op, uint32_t domid, uint32_t limit)
{
	struct hv_domain_req req = { .h.op = op, .domid = domid, .gntalloc_limit = limit };
	struct hv_hdr rep;
	int sock = hv_ctrl(), rc;

	rc = hv_call(sock, &req, sizeof(req), NULL, 0, &rep, sizeof(rep), NULL, 0, NULL) < 0 ?
		     errno :
		     0;
	close(sock);
	return rc;
}

static struct xs_handle *xs_dom0(void)
{
	struct xs_handle *xs = xs_open(0);

	if (!xs)
		die("cannot reach xenstored-lite at %s: %s", getenv("XENSTORED_PATH"),
		    strerror(errno));
	return xs;
}

static bool xs_mknode(struct xs_handle *xs, xs_transaction_t t, const char *path,
		      const char *value, struct xs_permissions *perms, unsigned int nperms)
{
	return xs_write(xs, t, path, value, (unsigned int)strlen(value)) &&
	       xs_set_permissions(xs, t, path, perms, nperms);
}

/* Lays out /local/domain/N as xl does (docs/xensim.md). */
static bool write_domain_layout(struct xs_handle *xs, uint32_t domid, const char *name)
{
	struct xs_permissions ro[2] = { { .id = 0, .perms = XS_PERM_NONE },
					{ .id = domid, .perms = XS_PERM_READ } };
	struct xs_permissions own = { .id = domid, .perms = XS_PERM_NONE };
	char base[64], path[96], id[16];
	xs_transaction_t t;
	bool ok;

	snprintf(base, sizeof(base), "/local/domain/%u", domid);
	snprintf(id, sizeof(id), "%u", domid);
	do {
		t = xs_transaction_start(xs);
		if (!t)
			return false;
		ok = xs_mknode(xs, t, base, "", ro, domid ? 2 : 1);
		snprintf(path, sizeof(path), "%s/domid", base);
		ok = ok && xs_mknode(xs, t, path, id, ro, domid ? 2 : 1);
		snprintf(path, sizeof(path), "%s/name", base);
		ok = ok && xs_mknode(xs, t, path, name, ro, domid ? 2 : 1);
		snprintf(path, sizeof(path), "%s/device", base);
		ok = ok && xs_mknode(xs, t, path, "", ro, domid ? 2 : 1);
		snprintf(path, sizeof(path), "%s/control", base);
		ok = ok && xs_mknode(xs, t, path, "", ro, domid ? 2 : 1);
		snprintf(path, sizeof(path), "%s/data", base);
		ok = ok && xs_mknode(xs, t, path, "", &own, 1);
		if (!ok) {
			xs_transaction_end(xs, t, true);
			return false;
		}
	} while (!xs_transaction_end(xs, t, false) && errno == EAGAIN);
	return true;
}

/* The domain that already carries this name, or -1. */
static long domain_named(struct xs_handle *xs, const char *name)
{
	unsigned int n = 0;
	char **doms = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	long found = -1;

	for (unsigned int i = 0; doms && i < n && found < 0; i++) {
		char path[64], *v;

		snprintf(path, sizeof(path), "/local/domain/%s/name", doms[i]);
		v = xs_read(xs, XBT_NULL, path, NULL);
		if (v && strcmp(v, name) == 0)
			found = strtol(doms[i], NULL, 10);
		free(v);
	}
	free(doms);
	return found;
}

static bool valid_name(const char *name)
{
	if (!*name || strlen(name) > 64)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("-_.", *c)))
			return false;
	return true;
}

/* --- commands -------------------------------------------------------------- */

static int cmd_start(int argc, char **argv)
{
	static const char *const xs_opts[] = { "--quota-nodes", "--quota-watches",
					       "--quota-transactions", "--quota-entry-size" };
	char *hv_args[4] = { NULL }, *xs_args[16] = { NULL };
	int nhv = 0, nxs = 0;
	pid_t pid;

	for (int i = 0; i < argc; i++) {
		bool known = false;

		if (i + 1 >= argc)
			bad_usage("start: option '%s' needs a value", argv[i]);
		if (strcmp(argv[i], "--gntalloc-limit") == 0) {
			parse_number(argv[i], argv[i + 1], 1, 1u << 20);
			hv_args[nhv++] = argv[i];
			hv_args[nhv++] = argv[++i];
			continue;
		}
		for (size_t k = 0; k < sizeof(xs_opts) / sizeof(xs_opts[0]); k++)
			known = known || strcmp(argv[i], xs_opts[k]) == 0;
		if (!known)
			bad_usage("start: unknown option '%s'", argv[i]);
		parse_number(argv[i], argv[i + 1], 1, 1u << 24);
		xs_args[nxs++] = argv[i];
		xs_args[nxs++] = argv[++i];
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("cannot create %s: %s", dir, strerror(errno));
	pid = read_pid("hv.pid");
	if (!pid)
		pid = read_pid("xenstored.pid");
	if (pid)
		die("a simulation already runs in %s (pid %d); `xensim stop` it first", dir, pid);

	write_pid("hv.pid", spawn_daemon("xensim-hv", "hv", hv_args));
	pid = spawn_daemon("xenstored-lite", "xenstored", xs_args);
	write_pid("xenstored.pid", pid);

	struct xs_handle *xs = xs_dom0();

	if (!write_domain_layout(xs, 0, "Domain-0"))
		die("cannot write /local/domain/0: %s", strerror(errno));
	xs_close(xs);
	return 0;
}

static int cmd_stop(int argc, char **argv)
{
	if (argc)
		bad_usage("stop takes no arguments");
	stop_daemon("xenstored");
	stop_daemon("hv");
	return 0;
}

static int domain_create(int argc, char **argv)
{
	const char *name = NULL;
	uint32_t domid, limit = 0;
	char defname[16];
	struct xs_handle *xs;
	long other;
	int err;

	if (argc < 1)
		bad_usage("domain create needs a DOMID");
	domid = parse_domid(argv[0]);
	if (domid == 0)
		bad_usage("domain 0 exists from `xensim start` on");
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			bad_usage("domain create: option '%s' needs a value", argv[i]);
		if (strcmp(argv[i], "--name") == 0)
			name = argv[i + 1];
		else if (strcmp(argv[i], "--gntalloc-limit") == 0)
			limit = parse_number(argv[i], argv[i + 1], 1, 1u << 20);
		else
			bad_usage("domain create: unknown option '%s'", argv[i]);
		i++;
	}
	if (!name) {
		snprintf(defname, sizeof(defname), "dom%u", domid);
		name = defname;
	}
	if (!valid_name(name))
		bad_usage("domain name '%s': use 1 to 64 of [A-Za-z0-9._-]", name);

	xs = xs_dom0();
	other = domain_named(xs, name);
	if (other >= 0)
		die("domain name '%s' is taken by domain %ld", name, other);
	err = hv_domain_op(HV_OP_DOMAIN_CREATE, domid, limit);
	if (err == EEXIST)
		die("domain %u exists already", domid);
	if (err)
		die("cannot create domain %u: %s", domid, strerror(err));
	if (!write_domain_layout(xs, domid, name) || !xs_introduce_domain(xs, domid, 0, 0)) {
		err = errno;
		hv_domain_op(HV_OP_DOMAIN_DESTROY, domid, 0);
		die("cannot introduce domain %u to XenStore: %s", domid, strerror(err));
	}
	xs_close(xs);
	return 0;
}

static int domain_destroy(int argc, char **argv)
{
	char path[64];
	struct xs_handle *xs;
	uint32_t domid;
	int err;

	if (argc != 1)
		bad_usage("domain destroy needs exactly one DOMID");
	domid = parse_domid(argv[0]);
	if (domid == 0)
		bad_usage("domain 0 cannot be destroyed; use `xensim stop`");
	err = hv_domain_op(HV_OP_DOMAIN_DESTROY, domid, 0);
	if (err == ESRCH)
		die("domain %u does not exist", domid);
	if (err)
		die("cannot destroy domain %u: %s", domid, strerror(err));
	/* What xl does after the hypervisor has let the domain go. */
	xs = xs_dom0();
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	if (!xs_rm(xs, XBT_NULL, path) && errno != ENOENT)
		fprintf(stderr, "xensim: cannot remove %s: %s\n", path, strerror(errno));
	if (!xs_release_domain(xs, domid))
		fprintf(stderr, "xensim: XenStore release of domain %u: %s\n", domid,
			strerror(errno));
	xs_close(xs);
	return 0;
}

static int domain_list(int argc, char **argv)
{
	static _Alignas(8) uint8_t buf[HV_MAX_MSG];
	struct hv_domain_list_rep *rep = (struct hv_domain_list_rep *)buf;
	struct hv_hdr req = { .op = HV_OP_DOMAIN_LIST };
	struct xs_handle *xs;
	int sock = hv_ctrl();

	if (argc)
		bad_usage("domain list takes no arguments");
	if (hv_call(sock, &req, sizeof(req), NULL, 0, buf, sizeof(buf), NULL, 0, NULL) < 0)
		die("cannot list domains: %s", strerror(errno));
	close(sock);
	xs = xs_dom0();
	printf("%-6s %s\n", "ID", "NAME");
	for (uint32_t i = 0; i < rep->count; i++) {
		char path[64], *name;

		snprintf(path, sizeof(path), "/local/domain/%u/name", rep->domids[i]);
		name = xs_read(xs, XBT_NULL, path, NULL);
		printf("%-6u %s\n", rep->domids[i], name ? name : "-");
		free(name);
	}
	xs_close(xs);
	return 0;
}

static int cmd_domain(int argc, char **argv)
{
	if (argc < 1)
		bad_usage("domain needs create, destroy or list");
	if (strcmp(argv[0], "create") == 0)
		return domain_create(argc - 1, argv + 1);
	if (strcmp(argv[0], "destroy") == 0)
		return domain_destroy(argc - 1, argv + 1);
	if (strcmp(argv[0], "list") == 0)
		return domain_list(argc - 1, argv + 1);
	bad_usage("domain: unknown subcommand '%s'", argv[0]);
}

/*
 * A live update: xenstored-lite writes its state to DIR/xenstored.state and
 * exits, a new one starts from it. Every connection is dropped on the way,
 * as the clients of a xenstored restarted without live update see it.
 */
static int xenstored_restart(void)
{
	char state[PATH_MAX + 32], *reply;
	char *args[3] = { "--restore", state, NULL };
	struct xs_handle *xs;
	pid_t pid = read_pid("xenstored.pid");

	if (!pid)
		die("no xenstored-lite runs in %s (run `xensim start`)", dir);
	snprintf(state, sizeof(state), "%s/xenstored.state", dir);
	xs = xs_dom0();
	reply = xs_control_command(xs, "live-update", NULL, 0);
	if (!reply)
		die("xenstored-lite refused the live update: %s (see %s)", strerror(errno),
		    path_in_dir("xenstored.log"));
	free(reply);
	xs_close(xs);
	if (!wait_exit(pid, STOP_TIMEOUT_MS))
		die("xenstored-lite (pid %d) did not exit after its live update", pid);
	write_pid("xenstored.pid", spawn_daemon("xenstored-lite", "xenstored", args));
	return 0;
}

/* Connections and watches per domain, and in all, as xenstored-lite counts them. */
static int xenstored_stats(void)
{
	struct xs_handle *xs = xs_dom0();
	char *reply = xs_control_command(xs, "watches", NULL, 0);

	if (!reply)
		die("xenstored-lite: CONTROL watches: %s", strerror(errno));
	fputs(reply, stdout);
	free(reply);
	xs_close(xs);
	return 0;
}

static int cmd_xenstored(int argc, char **argv)
{
	if (argc != 1)
		bad_usage("xenstored needs restart or stats");
	if (strcmp(argv[0], "restart") == 0)
		return xenstored_restart();
	if (strcmp(argv[0], "stats") == 0)
		return xenstored_stats();
	bad_usage("xenstored: unknown subcommand '%s'", argv[0]);
}

/* The environment that makes a process a member of domain domid. */
static void set_domain_env(uint32_t domid)
{
	char buf[PATH_MAX * 2], id[16];
	const char *old = getenv("LD_LIBRARY_PATH");
	char *abs_dir = realpath(dir, NULL);

	snprintf(id, sizeof(id), "%u", domid);
	setenv("XENSIM_DIR", abs_dir ? abs_dir : dir, 1);
	setenv("XENSIM_DOMID", id, 1);
	snprintf(buf, sizeof(buf), "%s/xenstore/%u.sock", abs_dir ? abs_dir : dir, domid);
	setenv("XENSTORED_PATH", buf, 1);
	if (realpath(sim_bin, buf) == NULL)
		snprintf(buf, sizeof(buf), "%s", sim_bin);
	if (old && *old) {
		size_t len = strlen(buf);

		snprintf(buf + len, sizeof(buf) - len, ":%s", old);
	}
	setenv("LD_LIBRARY_PATH", buf, 1);
	free(abs_dir);
}

static void require_domain(uint32_t domid)
{
	char sock[64];

	snprintf(sock, sizeof(sock), "xenstore/%u.sock", domid);
	if (access(path_in_dir(sock), F_OK) < 0)
		die("domain %u does not exist in %s (no %s)", domid, dir, path_in_dir(sock));
}

static int cmd_exec(int argc, char **argv)
{
	const char *netns = NULL;
	uint32_t domid;
	int i = 1;

	if (argc < 1)
		bad_usage("exec needs a DOMID");
	domid = parse_domid(argv[0]);
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--netns") == 0 && i + 1 < argc)
			netns = argv[++i];
		else
			bad_usage("exec: unexpected '%s' (the command goes after --)", argv[i]);
	}
	if (i + 1 >= argc)
		bad_usage("exec: no command after --");
	require_domain(domid);
	set_domain_env(domid);
	argv += i + 1;
	if (netns) {
		int n = argc - i - 1;
		char **args = calloc((size_t)n + 5, sizeof(*args));

		if (!args)
			die("out of memory");
		args[0] = "ip";
		args[1] = "netns";
		args[2] = "exec";
		args[3] = (char *)netns;
		memcpy(args + 4, argv, sizeof(*args) * (size_t)n);
		execvp("ip", args);
		die("cannot run ip netns exec: %s", strerror(errno));
	}
	execvp(argv[0], argv);
	die("cannot run %s: %s", argv[0], strerror(errno));
}

static int cmd_env(int argc, char **argv)
{
	static const char *const vars[] = { "XENSIM_DIR", "XENSIM_DOMID", "XENSTORED_PATH",
					    "LD_LIBRARY_PATH" };

	if (argc != 1)
		bad_usage("env needs exactly one DOMID");
	set_domain_env(parse_domid(argv[0]));
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		printf("export %s='%s'\n", vars[i], getenv(vars[i]));
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	if (argc >= 3 && strcmp(argv[1], "--dir") == 0) {
		dir = argv[2];
		i = 3;
	}
	if (i >= argc)
		usage(stderr, 2);
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		usage(stdout, 0);
	if (!dir) {
		dir = getenv("XENSIM_DIR");
		if (!dir || !*dir)
			dir = "/run/xensim";
	}
	find_sim_bin();
	/* This command acts as domain 0, the toolstack's domain. */
	setenv("XENSIM_DIR", dir, 1);
	setenv("XENSIM_DOMID", "0", 1);
	setenv("XENSTORED_PATH", path_in_dir("xenstore/0.sock"), 1);

	if (strcmp(argv[i], "start") == 0)
		return cmd_start(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "stop") == 0)
		return cmd_stop(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "domain") == 0)
		return cmd_domain(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "exec") == 0)
		return cmd_exec(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "env") == 0)
		return cmd_env(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "xenstored") == 0)
		return cmd_xenstored(argc - i - 1, argv + i + 1);
	bad_usage("unknown command '%s'", argv[i]);
}
