// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of config.c, TAP output: every error is checked word for word,
 * because the message is the interface (the daemon prints it and exits 2).
 * Most inputs go through config_parse_buffer() under a fixed path, so the
 * expected messages read as a user sees them; files, directories and size
 * limits go through a temporary directory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

#define PATH	"/etc/vchan-tun/guest1.conf"

static char tmpdir[] = "/tmp/test-config.XXXXXX";

static void bail_out(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Checks a failed call's message; says what came instead. */
static void ok_msg(int ret, const struct config_error *err, const char *want, const char *desc)
{
	int good = ret == -1 && !strcmp(err->msg, want);

	ok(good, "%s", desc);
	if (good)
		return;
	printf("# returned %d\n#      got: %s\n# expected: %s\n", ret, ret ? err->msg : "",
	       want);
}

static void ok_parsed(int ret, const struct config_error *err, const char *desc)
{
	ok(ret == 0, "%s", desc);
	if (ret)
		printf("# error: %s\n", err->msg);
}

/* A [Link] section with Peer and Role, then more. */
#define HEAD "[Link]\nPeer = 5\nRole = client\n"

static void bad_buffer(const char *text, const char *want, const char *desc)
{
	struct link_config cfg;
	struct config_error err;

	ok_msg(config_parse_buffer(PATH, text, strlen(text), &cfg, &err), &err, want, desc);
}

/* Options as "name", "value" pairs up to NULL, then config_finish(). */
static int set_options(struct link_config *cfg, const char *const *args, struct config_error *err)
{
	config_init(cfg);
	for (; args[0]; args += 2)
		if (config_set_option(cfg, args[0], args[1], err))
			return -1;
	return config_finish(cfg, err);
}

static void bad_options(const char *const *args, const char *want, const char *desc)
{
	struct link_config cfg;
	struct config_error err;

	ok_msg(set_options(&cfg, args, &err), &err, want, desc);
}

static void write_file(const char *name, const char *text)
{
	size_t len = strlen(text);
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f))
		bail_out(path);
}

static void make_dir(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (mkdir(path, 0700))
		bail_out(path);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (remove(path))
		printf("# could not remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* Our mkdtemp() directory, depth first, never following a link out of it. */
static void remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int addr_is(const struct config_addr *a, int family, const char *text, unsigned int prefix,
		   bool prefix_set)
{
	unsigned char want[16];

	if (inet_pton(family, text, want) != 1)
		return 0;
	return a->family == family && a->prefix == prefix && a->prefix_set == prefix_set &&
	       !memcmp(&a->addr, want, family == AF_INET6 ? 16 : 4);
}

/* --- bad files ---------------------------------------------------------------- */

static void test_file_syntax(void)
{
	char line[CONFIG_LINE_MAX + 64];
	char *big;

	bad_buffer(HEAD "MTU = 9x\n",
		   PATH ":4: MTU = '9x': expected a number from 68 to 65535",
		   "MTU not a number");
	bad_buffer(HEAD "MTU = 67\n",
		   PATH ":4: MTU = '67': expected a number from 68 to 65535",
		   "MTU below 68");
	bad_buffer(HEAD "MTU = 65536\n",
		   PATH ":4: MTU = '65536': expected a number from 68 to 65535",
		   "MTU above 65535");
	bad_buffer("[Link]\nPeer = 5\nMtu2 = 1400\n",
		   PATH ":3: unknown key 'Mtu2' in [Link]",
		   "unknown key");
	bad_buffer(HEAD "MTU = 1400\n\n# again\nmtu = 1500\n",
		   PATH ":7: duplicate key 'MTU' in [Link] (first on line 4)",
		   "duplicate key, any case");
	bad_buffer("# vchan\nPeer = 5\n[Link]\n",
		   PATH ":2: key 'Peer' before the [Link] section",
		   "key before the section");
	bad_buffer("[Interface]\nPeer = 5\n",
		   PATH ":1: unknown section '[Interface]': expected [Link]",
		   "unknown section");
	bad_buffer("[Link\nPeer = 5\n",
		   PATH ":1: malformed section header '[Link': expected [Link]",
		   "unclosed section header");
	bad_buffer(HEAD "[Link]\nPeer = 6\n",
		   PATH ":4: second [Link] section (first on line 1): one link per file",
		   "two sections");
	bad_buffer("# nothing but a comment\n\n",
		   PATH ": no [Link] section",
		   "no section");
	bad_buffer("", PATH ": no [Link] section", "empty file");
	bad_buffer(HEAD "Persistent\n",
		   PATH ":4: expected 'Key = Value', '[Link]' or a comment, found 'Persistent'",
		   "line without '='");
	bad_buffer(HEAD " = yes\n",
		   PATH ":4: expected 'Key = Value', '[Link]' or a comment, found '= yes'",
		   "line without a key");

	memset(line, 'x', CONFIG_LINE_MAX + 1);
	memcpy(line, "# ", 2);
	strcpy(line + CONFIG_LINE_MAX + 1, "\n");
	{
		char text[sizeof(line) + 64];

		snprintf(text, sizeof(text), "%s%s", HEAD, line);
		bad_buffer(text, PATH ":4: line longer than 1024 bytes", "line too long");
	}
	line[CONFIG_LINE_MAX] = '\n';
	line[CONFIG_LINE_MAX + 1] = '\0';
	{
		struct link_config cfg;
		struct config_error err;
		char text[sizeof(line) + 64];

		snprintf(text, sizeof(text), "%s%s", HEAD, line);
		ok_parsed(config_parse_buffer(PATH, text, strlen(text), &cfg, &err), &err,
			  "a line of exactly 1024 bytes is fine");
	}
	{
		static const char nul[] = "[Link]\nPeer = 5\0\nRole = client\n";
		struct link_config cfg;
		struct config_error err;

		ok_msg(config_parse_buffer(PATH, nul, sizeof(nul) - 1, &cfg, &err), &err,
		       PATH ":2: NUL byte in line", "NUL byte");
	}

	big = malloc(CONFIG_FILE_MAX + 2);
	if (!big)
		bail_out("malloc");
	memset(big, '\n', CONFIG_FILE_MAX + 1);
	memcpy(big, HEAD, strlen(HEAD));
	{
		struct link_config cfg;
		struct config_error err;

		ok_msg(config_parse_buffer(PATH, big, CONFIG_FILE_MAX + 1, &cfg, &err), &err,
		       PATH ": larger than 65536 bytes", "file larger than 64 KiB");
		ok_parsed(config_parse_buffer(PATH, big, CONFIG_FILE_MAX, &cfg, &err), &err,
			  "a file of exactly 64 KiB is fine");
	}
	free(big);

	bad_buffer("[Link]\nPeer = 5\nRole = client\nInterface = \"wg0\"\x1b[2J\n",
		   PATH ":4: Interface = '\"wg0\"\\x1b[2J': an interface name may not contain "
		   "whitespace, control characters, '/', ':' or '%'",
		   "bad bytes are escaped in the message");
	{
		struct link_config cfg;
		struct config_error err;
		const char *text = HEAD;

		ok_msg(config_parse_buffer("/etc/vchan-tun/guest.1.conf", text, strlen(text), &cfg,
					   &err),
		       &err,
		       "/etc/vchan-tun/guest.1.conf: link name 'guest.1' (the file name without "
		       ".conf): expected 1 to 64 letters, digits, '-' and '_'",
		       "link name from the file name");
	}
}

static void test_file_keys(void)
{
	bad_buffer("[Link]\nPeer = 32752\nRole = server\n",
		   PATH ":2: Peer = '32752': expected a domain id from 0 to 32751, or a domain name",
		   "Peer: reserved domid");
	bad_buffer("[Link]\nPeer = guest 1\nRole = server\n",
		   PATH ":2: Peer = 'guest 1': expected a domain id from 0 to 32751, or a domain "
		   "name of 1 to 64 letters, digits, '.', '_' and '-'",
		   "Peer: not a domain name");
	bad_buffer("[Link]\nPeer = -1\nRole = server\n",
		   PATH ":2: Peer = '-1': expected a domain id from 0 to 32751, or a domain name",
		   "Peer: a negative domid is no domain name (no device vchan--1)");
	bad_buffer("[Link]\nPeer = -guest\nRole = server\n",
		   PATH ":2: Peer = '-guest': expected a domain id from 0 to 32751, or a domain "
		   "name of 1 to 64 letters, digits, '.', '_' and '-'",
		   "Peer: a name starting with '-'");
	ok(!config_valid_domain_name("-1") && !config_valid_domain_name("-x") &&
	   config_valid_domain_name("x-1"), "config_valid_domain_name: no leading '-'");
	bad_buffer("[Link]\nPeer =\nRole = server\n",
		   PATH ":2: Peer = '': expected a domain id from 0 to 32751, or a domain "
		   "name of 1 to 64 letters, digits, '.', '_' and '-'",
		   "Peer: empty");
	bad_buffer("[Link]\nRole = server\n",
		   PATH ": missing Peer: expected a domain id or a domain name",
		   "Peer missing");
	bad_buffer("[Link]\nPeer = 0\n",
		   PATH ": missing Role: expected 'server' (offers the rings and pays their "
		   "grants) or 'client'",
		   "Role missing");
	bad_buffer("[Link]\nPeer = 0\nRole = master\n",
		   PATH ":3: Role = 'master': expected 'server' or 'client'",
		   "Role: unknown");
	bad_buffer(HEAD "Mode = tup\n",
		   PATH ":4: Mode = 'tup': expected 'tun' or 'tap'",
		   "Mode: unknown");
	bad_buffer(HEAD "Interface = vchan-guest-1234\n",
		   PATH ":4: Interface = 'vchan-guest-1234': longer than 15 characters",
		   "Interface: 16 characters");
	bad_buffer(HEAD "Interface = a/b\n",
		   PATH ":4: Interface = 'a/b': an interface name may not contain whitespace, "
		   "control characters, '/', ':' or '%'",
		   "Interface: '/'");
	bad_buffer(HEAD "Interface = vchan%d\n",
		   PATH ":4: Interface = 'vchan%d': an interface name may not contain whitespace, "
		   "control characters, '/', ':' or '%'",
		   "Interface: a template");
	bad_buffer(HEAD "Interface = ..\n",
		   PATH ":4: Interface = '..': '.' and '..' are not interface names",
		   "Interface: '..'");
	bad_buffer(HEAD "Interface =\n",
		   PATH ":4: Interface = '': expected an interface name",
		   "Interface: empty");
	bad_buffer("[Link]\nRole = client\nPeer = build-vm-42\n",
		   PATH ":3: Peer = 'build-vm-42': the default interface name 'vchan-build-vm-42' "
		   "is longer than 15 characters: set Interface",
		   "default interface name too long");
	bad_buffer(HEAD "Address = 10.0.0.1/33\n",
		   PATH ":4: Address = '10.0.0.1/33': expected a prefix length from 0 to 32",
		   "Address: IPv4 prefix");
	bad_buffer(HEAD "Address = fd00::1/64, fd00::2/129\n",
		   PATH ":4: Address = 'fd00::2/129': expected a prefix length from 0 to 128",
		   "Address: IPv6 prefix, second in a list");
	bad_buffer(HEAD "Address = 10.0.0.256/24\n",
		   PATH ":4: Address = '10.0.0.256/24': expected an IPv4 or IPv6 address with an "
		   "optional /prefix",
		   "Address: not an address");
	bad_buffer(HEAD "Address = 10.0.0.1/\n",
		   PATH ":4: Address = '10.0.0.1/': expected a prefix length from 0 to 32",
		   "Address: empty prefix");
	bad_buffer(HEAD "Address = 10.0.0.1,,10.0.0.2\n",
		   PATH ":4: Address = '10.0.0.1,,10.0.0.2': expected a comma-separated list of "
		   "addresses, found an empty element",
		   "Address: empty list element");
	bad_buffer(HEAD "Address = 10.0.0.1/30\nAddress = fd00::1, 10.0.0.1/24\n",
		   PATH ":5: Address = '10.0.0.1/24': address already given on line 4",
		   "Address: twice");
	bad_buffer(HEAD "Address = 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4\n"
		   "Address = 10.0.0.5, 10.0.0.6, 10.0.0.7, 10.0.0.8, 10.0.0.9\n",
		   PATH ":5: Address = '10.0.0.9': more than 8 addresses",
		   "Address: nine");
	bad_buffer(HEAD "Mode = tap\nAddress = 10.0.0.1/30\nPeerAddress = 10.0.0.2\n",
		   PATH ":6: PeerAddress = '10.0.0.2': not allowed with Mode = 'tap' on line 4: a "
		   "TAP link has no point-to-point peer",
		   "PeerAddress in tap mode");
	bad_buffer(HEAD "Address = 10.0.0.1\nPeerAddress = 10.0.0.2, fd00::2\n",
		   PATH ":5: PeerAddress = 'fd00::2': IPv6 peer address 1 has no IPv6 Address 1 "
		   "to belong to",
		   "PeerAddress without an Address of its family");
	bad_buffer(HEAD "Address = 10.0.0.1\nPeerAddress = 10.0.0.1/32\n",
		   PATH ":5: PeerAddress = '10.0.0.1/32': the same address as Address = "
		   "'10.0.0.1' on line 4",
		   "PeerAddress is a local address");
	bad_buffer(HEAD "MTU = 1000\nAddress = 10.0.0.1/30\n\nAddress = fd00::1/64\n",
		   PATH ":4: MTU = '1000': IPv6 needs at least 1280, and there is Address = "
		   "'fd00::1/64' on line 7",
		   "MTU too small for IPv6");
	bad_buffer(HEAD "ReadRing = 3000\n",
		   PATH ":4: ReadRing = '3000': expected a power of two from 1K to 1M bytes, such "
		   "as 64K",
		   "ReadRing: not a power of two");
	bad_buffer(HEAD "WriteRing = 2M\n",
		   PATH ":4: WriteRing = '2M': expected a power of two from 1K to 1M bytes, such "
		   "as 64K",
		   "WriteRing: above 1M");
	bad_buffer(HEAD "WriteRing = 512\n",
		   PATH ":4: WriteRing = '512': expected a power of two from 1K to 1M bytes, such "
		   "as 64K",
		   "WriteRing: below 1K");
	bad_buffer(HEAD "ReadRing = 64KB\n",
		   PATH ":4: ReadRing = '64KB': expected a power of two from 1K to 1M bytes, such "
		   "as 64K",
		   "ReadRing: unknown suffix");
	bad_buffer(HEAD "ReadRing = 2K\nWriteRing = 2048\n",
		   PATH ":4: ReadRing = '2K' and WriteRing = '2K' on line 5: rings under 4K share "
		   "the control page, where there is room for one of 1K and one of 2K",
		   "two in-page rings of one size");
	bad_buffer(HEAD "WriteRing = 1K\nReadRing = 1M\n",
		   PATH ":5: ReadRing = '1M' and WriteRing = '1K' on line 4: the grant list of the "
		   "1M ring overlaps the 1K ring in the control page; make the small one 2K or "
		   "the large one at most 512K",
		   "1K ring with a 1M ring");
	bad_buffer(HEAD "XenStorePath = local/domain/0/data/x\n",
		   PATH ":4: XenStorePath = 'local/domain/0/data/x': expected an absolute "
		   "XenStore path",
		   "XenStorePath: relative");
	bad_buffer(HEAD "XenStorePath = /local/domain/0/data/guest.1\n",
		   PATH ":4: XenStorePath = '/local/domain/0/data/guest.1': a XenStore path may "
		   "contain only letters, digits and '-', '/', '_', '@'",
		   "XenStorePath: '.'");
	bad_buffer(HEAD "XenStorePath = /local/domain//0\n",
		   PATH ":4: XenStorePath = '/local/domain//0': empty path component ('//')",
		   "XenStorePath: '//'");
	bad_buffer(HEAD "XenStorePath = /local/domain/0/\n",
		   PATH ":4: XenStorePath = '/local/domain/0/': expected a path that does not end "
		   "in '/'",
		   "XenStorePath: trailing '/'");
	bad_buffer(HEAD "Persistent = maybe\n",
		   PATH ":4: Persistent = 'maybe': expected yes or no (also true/false, on/off, "
		   "1/0)",
		   "Persistent: not a boolean");
}

/* --- bad command lines -------------------------------------------------------- */

/* prefix, then n characters of 'a' and '/' */
static void make_path(char *buf, const char *prefix, size_t n)
{
	size_t i, len = strlen(prefix);

	memcpy(buf, prefix, len);
	for (i = 0; i < n; i++)
		buf[len + i] = i % 8 == 7 && i + 1 < n ? '/' : 'a';
	buf[len + n] = '\0';
}

static int set_xs_path(struct link_config *cfg, const char *path, struct config_error *err)
{
	config_init(cfg);
	return config_set_option(cfg, "xenstore-path", path, err);
}

static void test_cmdline_errors(void)
{
	char long_path[CONFIG_XS_PATH_MAX + 2], want[512];
	struct link_config cfg;
	struct config_error err;

	{
		const char *const args[] = { "peer", "5", "role", "client", "mtu", "9x", NULL };

		bad_options(args, "--mtu '9x': expected a number from 68 to 65535",
			    "--mtu not a number");
	}
	{
		const char *const args[] = { "--peer", "5", "mtu", "1400", "mtu", "1500", NULL };

		bad_options(args, "--mtu given twice", "--mtu twice");
	}
	{
		const char *const args[] = { "peer", "5", NULL };

		bad_options(args,
			    "missing --role: expected 'server' (offers the rings and pays their "
			    "grants) or 'client'",
			    "--role missing");
	}
	{
		const char *const args[] = { "role", "server", NULL };

		bad_options(args, "missing --peer: expected a domain id or a domain name",
			    "--peer missing");
	}
	{
		const char *const args[] = { "peer", "5", "role", "server", "address", "10.0.0.1",
					     "peer-address", "10.0.0.2", "mode", "tap", NULL };

		bad_options(args,
			    "--peer-address '10.0.0.2': not allowed with --mode 'tap': a TAP link "
			    "has no point-to-point peer",
			    "--peer-address with --mode tap");
	}
	{
		const char *const args[] = { "peer", "5", "role", "server", "mtu", "1000",
					     "address", "fd00::1/64", NULL };

		bad_options(args,
			    "--mtu '1000': IPv6 needs at least 1280, and there is --address "
			    "'fd00::1/64'",
			    "--mtu too small for IPv6");
	}
	{
		const char *const args[] = { "peer", "build-vm-42", "role", "server", NULL };

		bad_options(args,
			    "--peer 'build-vm-42': the default interface name 'vchan-build-vm-42' "
			    "is longer than 15 characters: set --interface",
			    "default interface name too long, on the command line");
	}
	{
		const char *const args[] = { "address", "10.0.0.1", "address", "10.0.0.1/8", NULL };

		bad_options(args, "--address '10.0.0.1/8': address given twice",
			    "--address twice");
	}
	{
		const char *const args[] = { "read-ring", "1K", "write-ring", "1k", "peer", "1",
					     "role", "server", NULL };

		bad_options(args,
			    "--read-ring '1K' and --write-ring '1K': rings under 4K share the "
			    "control page, where there is room for one of 1K and one of 2K",
			    "--read-ring and --write-ring both 1K");
	}
	{
		const char *const args[] = { "name", "my.link", NULL };

		bad_options(args, "--name 'my.link': expected 1 to 64 letters, digits, '-' and '_'",
			    "--name with a '.'");
	}
	{
		const char *const args[] = { "ttl", "5", NULL };

		bad_options(args, "unknown option '--ttl'", "unknown option");
	}
	{
		const char *const args[] = { "role", NULL, NULL };

		config_init(&cfg);
		ok_msg(config_set_option(&cfg, args[0], args[1], &err), &err,
		       "--role needs a value", "option without its value");
	}

	/*
	 * XenStore allows 2048 characters after /local/domain/N/ (or in all), and
	 * the server adds "/event-channel": 2034 are left for the path.
	 */
	make_path(long_path, "/local/domain/0/", 2034);
	ok_parsed(set_xs_path(&cfg, long_path, &err), &err,
		  "--xenstore-path of 2034 characters after /local/domain/0/");
	make_path(long_path, "/local/domain/32751/", 2035);
	snprintf(want, sizeof(want),
		 "--xenstore-path '%.128s...': more than 2034 characters after /local/domain/N/, "
		 "so PATH/event-channel would exceed XenStore's limit of 2048",
		 long_path);
	ok_msg(set_xs_path(&cfg, long_path, &err), &err, want,
	       "--xenstore-path of 2035 characters after /local/domain/32751/, quoted in part");
	make_path(long_path, "/vchan-tun/", 2034 - 11);
	ok_parsed(set_xs_path(&cfg, long_path, &err), &err,
		  "--xenstore-path of 2034 characters elsewhere");
	make_path(long_path, "/vchan-tun/", 2035 - 11);
	snprintf(want, sizeof(want),
		 "--xenstore-path '%.128s...': longer than 2034 characters, so "
		 "PATH/event-channel would exceed XenStore's limit of 2048",
		 long_path);
	ok_msg(set_xs_path(&cfg, long_path, &err), &err, want,
	       "--xenstore-path of 2035 characters elsewhere");
}

/* --- good configurations ------------------------------------------------------- */

static void test_defaults(void)
{
	static const char text[] = "[Link]\nPeer = 5\nRole = client\n";
	struct link_config cfg;
	struct config_error err;
	char xs[256];

	ok_parsed(config_parse_buffer(PATH, text, strlen(text), &cfg, &err), &err,
		  "minimal file");
	ok(!strcmp(cfg.name, "guest1") && !strcmp(cfg.source, PATH),
	   "link name is the file name without .conf");
	ok(!cfg.peer_is_name && cfg.peer_domid == 5 && !strcmp(cfg.peer, "5"), "Peer = 5");
	ok(cfg.role == CONFIG_ROLE_CLIENT, "Role = client");
	ok(cfg.mode == CONFIG_MODE_TUN, "default Mode tun");
	ok(!strcmp(cfg.ifname, "vchan5"), "default Interface vchan5 (%s)", cfg.ifname);
	ok(cfg.mtu == 1500, "default MTU 1500");
	ok(cfg.n_addrs == 0 && cfg.n_peer_addrs == 0, "no addresses by default");
	ok(cfg.read_ring == 256 * 1024 && cfg.write_ring == 256 * 1024, "default rings 256K");
	ok(config_grant_cost(&cfg) == 129, "default rings cost 129 grants (%u)",
	   config_grant_cost(&cfg));
	ok(cfg.xs_path[0] == '\0', "XenStorePath unset by default");
	ok(!cfg.persistent, "default Persistent no");
	ok(config_default_xs_path(&cfg, 0, 5, xs, sizeof(xs)) == 0 &&
	   !strcmp(xs, "/local/domain/0/data/vchan-tun/5/guest1"),
	   "default XenStore path %s", xs);
	ok(config_default_xs_path(&cfg, 0, 5, xs, 20) == -1, "default XenStore path: short buffer");
}

/* A dom0 end with everything written out, in the untidy ways the syntax allows. */
static void test_full_file(void)
{
	static const char text[] =
		"; dom0's end of the link to the guest 'web'\r\n"
		"\n"
		"  [ link ]   # sections and keys in any case\r\n"
		"peer=web.example-1\n"
		"ROLE = Client\n"
		"\tMode\t=\ttun\n"
		"Interface = vweb\n"
		"MTU = 9000   # jumbo\n"
		"Address = 10.1.0.1/30 , fd00:1::1/64\n"
		"Address = 192.168.7.1\n"
		"PeerAddress = 10.1.0.2\n"
		"PeerAddress = fd00:1::2/128\n"
		"ReadRing = 1M\n"
		"WriteRing = 64k\n"
		"XenStorePath = /local/domain/12/data/vchan-tun/0/web\n"
		"Persistent = on";
	struct link_config cfg, again;
	struct config_error err;
	char edited[sizeof(text) + 32];

	ok_parsed(config_parse_buffer("web.conf", text, strlen(text), &cfg, &err), &err,
		  "full file with CRLF, comments, any case, blanks, no final newline");
	ok(!strcmp(cfg.name, "web"), "link name 'web' from a relative path");
	ok(cfg.peer_is_name && !strcmp(cfg.peer, "web.example-1"), "Peer by name");
	ok(cfg.role == CONFIG_ROLE_CLIENT && cfg.mode == CONFIG_MODE_TUN, "Role, Mode");
	ok(!strcmp(cfg.ifname, "vweb") && cfg.mtu == 9000, "Interface, MTU");
	ok(cfg.n_addrs == 3 && addr_is(&cfg.addrs[0], AF_INET, "10.1.0.1", 30, true) &&
	   addr_is(&cfg.addrs[1], AF_INET6, "fd00:1::1", 64, true) &&
	   addr_is(&cfg.addrs[2], AF_INET, "192.168.7.1", 32, false) && cfg.addrs[2].line == 10,
	   "Address: a list and a repeat, /32 by default");
	ok(cfg.n_peer_addrs == 2 && addr_is(&cfg.peer_addrs[0], AF_INET, "10.1.0.2", 32, false) &&
	   addr_is(&cfg.peer_addrs[1], AF_INET6, "fd00:1::2", 128, true),
	   "PeerAddress, IPv4 and IPv6");
	ok(cfg.read_ring == 1024 * 1024 && cfg.write_ring == 64 * 1024, "ReadRing 1M, WriteRing 64k");
	ok(config_grant_cost(&cfg) == 1 + 256 + 16, "grant cost 273");
	ok(!strcmp(cfg.xs_path, "/local/domain/12/data/vchan-tun/0/web") && cfg.persistent,
	   "XenStorePath, Persistent");

	snprintf(edited, sizeof(edited), "# edited\n%s", text);
	ok_parsed(config_parse_buffer("/other/web.conf", edited, strlen(edited), &again, &err),
		  &err, "the same with a comment more");
	ok(config_equal(&cfg, &again), "config_equal ignores where keys were written");
	again.mtu = 1500;
	ok(!config_equal(&cfg, &again), "config_equal sees an MTU change");
}

static void test_good_values(void)
{
	static const struct {
		const char *text, *desc;
	} good[] = {
		{ HEAD "MTU = 68\n", "MTU 68" },
		{ HEAD "MTU = 65535\n", "MTU 65535" },
		{ HEAD "MTU = 1280\nAddress = fd00::1/64\n", "MTU 1280 with IPv6" },
		{ HEAD "MTU = 576\nAddress = 10.0.0.1/30\n", "MTU 576 with IPv4 only" },
		{ "[Link]\nPeer = 32751\nRole = server\n", "Peer 32751" },
		{ "[Link]\nPeer = 0\nRole = server\n", "Peer 0" },
		{ "[Link]\nPeer = dom-0\nRole = server\n", "Peer by a short name" },
		{ "\xef\xbb\xbf[Link]\nPeer = 5\nRole = client\n", "a UTF-8 byte-order mark" },
		{ "\xef\xbb\xbf# written by an editor\r\n[Link]\r\nPeer = 5\r\nRole = client\r\n",
		  "a byte-order mark before a comment, CRLF lines" },
		{ HEAD "ReadRing = 1K\nWriteRing = 2K\n", "rings 1K and 2K in the control page" },
		{ HEAD "ReadRing = 2K\nWriteRing = 1M\n", "rings 2K and 1M" },
		{ HEAD "ReadRing = 1K\nWriteRing = 512K\n", "rings 1K and 512K" },
		{ HEAD "ReadRing = 4096\nWriteRing = 1048576\n", "rings in bytes" },
		{ HEAD "Mode = TAP\nAddress = 10.0.0.1/24\n", "TAP with an address" },
		{ HEAD "Interface = br-vm.5\n", "Interface with '-' and '.'" },
		{ HEAD "Address = 0.0.0.0/0, ::/0\n", "prefix 0" },
		{ HEAD "Persistent = FALSE\n", "Persistent FALSE" },
		{ HEAD "XenStorePath = /@x_y-z/1\n", "XenStorePath with '@', '_', '-'" },
		{ HEAD "Address = 10.0.0.1, 10.0.0.5\nPeerAddress = 10.0.0.2, 10.0.0.6\n",
		  "two pairs" },
	};
	struct link_config cfg;
	struct config_error err;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok_parsed(config_parse_buffer(PATH, good[i].text, strlen(good[i].text), &cfg, &err),
			  &err, good[i].desc);
}

static void test_cmdline(void)
{
	/* rings in the control page: a frame of the MTU must fit the 1K one (no IPv6 then) */
	const char *const args[] = { "--peer", "7", "role", "server", "address", "10.0.0.1/30",
				     "address", "10.0.1.1/24", "peer-address", "10.0.0.2",
				     "read-ring", "1K", "write-ring", "2K", "mtu", "1000",
				     "persistent", NULL, "name", "lab", NULL };
	struct option opts[CONFIG_N_OPTIONS];
	struct link_config cfg;
	struct config_error err;
	char xs[256];
	size_t i;
	int good = 1;

	ok_parsed(set_options(&cfg, args, &err), &err, "a link on the command line");
	ok(cfg.peer_domid == 7 && cfg.role == CONFIG_ROLE_SERVER && !strcmp(cfg.ifname, "vchan7") &&
	   cfg.n_addrs == 2 && cfg.n_peer_addrs == 1 && cfg.persistent && cfg.source[0] == '\0',
	   "options parsed; --persistent without a value is yes");
	ok(config_grant_cost(&cfg) == 1, "rings 1K and 2K cost one grant");
	ok(config_default_xs_path(&cfg, 7, 0, xs, sizeof(xs)) == 0 &&
	   !strcmp(xs, "/local/domain/7/data/vchan-tun/0/lab"),
	   "--name is in the default path (%s)", xs);

	config_init(&cfg);
	ok(!strcmp(cfg.name, CONFIG_CMDLINE_NAME), "command-line link name defaults to '%s'",
	   CONFIG_CMDLINE_NAME);

	config_long_options(opts);
	for (i = 0; i < CONFIG_N_KEYS; i++) {
		char lower[32];
		size_t j;

		/* The option is the key in lower case, words joined with '-'. */
		snprintf(lower, sizeof(lower), "%s", opts[i].name);
		for (j = 0; lower[j]; j++)
			if (lower[j] == '-')
				memmove(lower + j, lower + j + 1, strlen(lower + j));
		if (strcasecmp(lower, config_key_name((enum config_key)i)) ||
		    opts[i].val != CONFIG_OPTION_VAL || opts[i].flag)
			good = 0;
	}
	ok(good && !strcmp(opts[CONFIG_N_KEYS].name, "name"),
	   "config_long_options: one per key, and --name");
	ok(opts[CONFIG_KEY_PERSISTENT].has_arg == optional_argument &&
	   opts[CONFIG_KEY_WATCHED].has_arg == optional_argument &&
	   opts[CONFIG_KEY_MTU].has_arg == required_argument,
	   "--persistent's and --watched's argument is optional, --mtu's required");
}

/* --- the watcher's keys ----------------------------------------------------------- */

static void test_watch_keys(void)
{
	static const char text[] = HEAD "Mode = tap\nWatched = yes\nHook = /usr/lib/vt hook\n"
				   "Bridge = br0\nRoutes = 10.2.0.0/16, fd00:2::/48\n"
				   "Routes = 192.168.5.7\n";
	const char *const args[] = { "peer", "5", "role", "client", "watched", NULL, "hook",
				     "none", "routes", "10.0.0.0/8", NULL };
	struct link_config cfg, other;
	struct config_error err;

	ok_parsed(config_parse_buffer(PATH, text, strlen(text), &cfg, &err), &err,
		  "Watched, Hook, Bridge and Routes");
	ok(cfg.watched && !strcmp(cfg.hook, "/usr/lib/vt hook") && !cfg.no_hook &&
	   !strcmp(cfg.bridge, "br0"),
	   "Watched yes, a hook path with a blank, Bridge br0");
	ok(cfg.n_routes == 3 && addr_is(&cfg.routes[0], AF_INET, "10.2.0.0", 16, true) &&
	   addr_is(&cfg.routes[1], AF_INET6, "fd00:2::", 48, true) &&
	   addr_is(&cfg.routes[2], AF_INET, "192.168.5.7", 32, false),
	   "Routes: a list and a repeat, a host without a prefix");
	other = cfg;
	snprintf(other.hook, sizeof(other.hook), "/bin/true");
	ok(config_equal(&cfg, &other) && !config_watch_equal(&cfg, &other),
	   "a new Hook is no change for the daemon, one for the watcher");
	other = cfg;
	other.watched = false;
	ok(!config_equal(&cfg, &other), "Watched is one for the daemon");

	ok_parsed(set_options(&cfg, args, &err), &err, "--watched --hook none --routes");
	ok(cfg.watched && cfg.no_hook && cfg.n_routes == 1, "--watched without a value is yes");
	ok_parsed(config_parse_buffer(PATH, HEAD, strlen(HEAD), &cfg, &err), &err, "defaults");
	ok(!cfg.watched && !cfg.hook[0] && !cfg.no_hook && !cfg.bridge[0] && !cfg.n_routes,
	   "not watched, the default hook, no bridge, no routes by default");

	bad_buffer(HEAD "Watched = sometimes\n",
		   PATH ":4: Watched = 'sometimes': expected yes or no (also true/false, on/off, "
		   "1/0)",
		   "Watched: not a yes or no");
	bad_buffer(HEAD "Hook = vchan-tun-hook\n",
		   PATH ":4: Hook = 'vchan-tun-hook': expected the absolute path of a program, or "
		   "'none'",
		   "Hook: a relative path");
	bad_buffer(HEAD "Hook = /bin/a\tb\n",
		   PATH ":4: Hook = '/bin/a\\x09b': a path may not contain control characters",
		   "Hook: a control character");
	bad_buffer(HEAD "Bridge = br 0\n",
		   PATH ":4: Bridge = 'br 0': an interface name may not contain whitespace, "
		   "control characters, '/', ':' or '%'",
		   "Bridge: not an interface name");
	bad_buffer(HEAD "Bridge = br0\n",
		   PATH ":4: Bridge = 'br0': a TUN device cannot join a bridge: set Mode = tap",
		   "Bridge: on a TUN link");
	bad_buffer(HEAD "Mode = tap\nInterface = vt5\nBridge = vt5\n",
		   PATH ":6: Bridge = 'vt5': the link's own interface cannot be its bridge",
		   "Bridge: the link's own device");
	bad_buffer(HEAD "Routes = 10.2.0.1/16\n",
		   PATH ":4: Routes = '10.2.0.1/16': host bits set: expected a network, such as "
		   "10.2.0.0/16",
		   "Routes: host bits set");
	bad_buffer(HEAD "Routes = fd00::/64, fd00:1::1/63\n",
		   PATH ":4: Routes = 'fd00:1::1/63': host bits set: expected a network, such as "
		   "fd00:1::/63",
		   "Routes: IPv6 host bits set, second in a list");
	bad_buffer(HEAD "Routes = 10.2.0.0/16\nRoutes = 10.2.0.0/16\n",
		   PATH ":5: Routes = '10.2.0.0/16': network already given on line 4",
		   "Routes: twice");
	bad_buffer(HEAD "Routes = 10.0.0.0/8, 10.0.0.0/16,\n",
		   PATH ":4: Routes = '10.0.0.0/8, 10.0.0.0/16,': expected a comma-separated list "
		   "of networks, found an empty element",
		   "Routes: the same network with two prefixes, then an empty element");
	bad_buffer(HEAD "Routes = 10.0.0.0/24.5\n",
		   PATH ":4: Routes = '10.0.0.0/24.5': expected a prefix length from 0 to 32",
		   "Routes: a bad prefix");
	bad_buffer(HEAD "MTU = 1000\nRoutes = fd00::/64\n",
		   PATH ":4: MTU = '1000': IPv6 needs at least 1280, and there is Routes = "
		   "'fd00::/64' on line 5",
		   "Routes: an IPv6 network with a small MTU");
	{
		const char *const bad[] = { "peer", "5", "role", "client", "bridge", "br0", NULL };

		bad_options(bad, "--bridge 'br0': a TUN device cannot join a bridge: set --mode tap",
			    "--bridge on a TUN link");
	}
	{
		const char *const bad[] = { "peer", "5", "role", "client", "watched", "2", NULL };

		bad_options(bad, "--watched '2': expected yes or no (also true/false, on/off, 1/0)",
			    "--watched 2");
	}
	{
		const char *const bad[] = { "peer", "5", "role", "client", "hook", "/a", "hook",
					    "/b", NULL };

		bad_options(bad, "--hook given twice", "--hook twice");
	}
}

/* --- files and directories ------------------------------------------------------ */

static void test_dir(void)
{
	static const char a[] = "[Link]\nPeer = 5\nRole = client\n";
	static const char b[] = "[Link]\nPeer = 6\nRole = client\nInterface = vchan5\n";
	static const char c[] = "[Link]\nPeer = 7\nRole = server\n"
				"XenStorePath = /local/domain/1/data/x\n";
	static const char d[] = "[Link]\nPeer = 8\nRole = server\n"
				"XenStorePath = /local/domain/1/data/x\n";
	static const char e[] = "[Link]\nPeer = 8\nRole = client\n"
				"XenStorePath = /local/domain/1/data/x\nInterface = e\n";
	struct link_config *links, cfg;
	struct config_error err;
	char path[256], want[2048];
	size_t n;

	snprintf(path, sizeof(path), "%s/none", tmpdir);
	snprintf(want, sizeof(want), "%s: cannot open directory: No such file or directory", path);
	ok_msg(config_load_dir(path, &links, &n, &err), &err, want, "missing directory");
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	ok_msg(config_parse_file(path, &cfg, &err), &err, want, "missing file");

	make_dir("empty");
	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	ok_parsed(config_load_dir(path, &links, &n, &err), &err, "empty directory");
	ok(n == 0, "no links");
	free(links);

	make_dir("one");
	write_file("one/b.conf", a);
	write_file("one/a.conf", c);
	write_file("one/.hidden.conf", "junk");
	write_file("one/notes.txt", "junk");
	write_file("one/c.conf.bak", "junk");
	snprintf(path, sizeof(path), "%s/one/", tmpdir);
	ok_parsed(config_load_dir(path, &links, &n, &err), &err, "a directory of two links");
	ok(n == 2 && !strcmp(links[0].name, "a") && !strcmp(links[1].name, "b"),
	   "sorted by name, other files skipped");
	snprintf(want, sizeof(want), "%s/one/b.conf", tmpdir);
	ok(n == 2 && !strcmp(links[1].source, want), "one '/' between directory and file");
	free(links);

	make_dir("clash");
	write_file("clash/a.conf", a);
	write_file("clash/b.conf", b);
	snprintf(path, sizeof(path), "%s/clash", tmpdir);
	snprintf(want, sizeof(want),
		 "%s/b.conf:4: Interface = 'vchan5': already used by link 'a' (%s/a.conf)", path,
		 path);
	ok_msg(config_load_dir(path, &links, &n, &err), &err, want, "two links, one interface");

	make_dir("clash2");
	write_file("clash2/x.conf", "[Link]\nPeer=5\nRole=server\nInterface=vchan9\n");
	write_file("clash2/y.conf", "[Link]\nPeer=9\nRole=server\n");
	snprintf(path, sizeof(path), "%s/clash2", tmpdir);
	snprintf(want, sizeof(want),
		 "%s/y.conf: default interface name 'vchan9': already used by link 'x' "
		 "(%s/x.conf:4)",
		 path, path);
	ok_msg(config_load_dir(path, &links, &n, &err), &err, want,
	       "a default interface name taken");

	make_dir("servers");
	write_file("servers/c.conf", c);
	write_file("servers/d.conf", d);
	snprintf(path, sizeof(path), "%s/servers", tmpdir);
	snprintf(want, sizeof(want),
		 "%s/d.conf:4: XenStorePath = '/local/domain/1/data/x': already used by link "
		 "'c' (%s/c.conf:4), also a server",
		 path, path);
	ok_msg(config_load_dir(path, &links, &n, &err), &err, want, "two servers, one path");

	make_dir("peers");
	write_file("peers/d.conf", d);
	write_file("peers/e.conf", e);
	snprintf(path, sizeof(path), "%s/peers", tmpdir);
	snprintf(want, sizeof(want),
		 "%s/e.conf:4: XenStorePath = '/local/domain/1/data/x': already used by link "
		 "'d' (%s/d.conf:4), for the same peer",
		 path, path);
	ok_msg(config_load_dir(path, &links, &n, &err), &err, want, "one peer, one path");

	make_dir("addrs");
	write_file("addrs/a.conf", "[Link]\nPeer = 5\nRole = client\n"
				   "Address = 10.0.0.1/24, fd00::1/64\n");
	write_file("addrs/b.conf", "[Link]\nPeer = 6\nRole = client\nAddress = 10.1.0.1/24\n"
				   "# copied from a.conf\nAddress = fd00::1/120\n");
	snprintf(path, sizeof(path), "%s/addrs", tmpdir);
	snprintf(want, sizeof(want),
		 "%s/b.conf:6: Address = 'fd00::1/120': already used by link 'a' (%s/a.conf:4)",
		 path, path);
	ok_msg(config_load_dir(path, &links, &n, &err), &err, want,
	       "two links, one address (whatever the prefix)");
	write_file("addrs/b.conf", "[Link]\nPeer = 6\nRole = client\nAddress = 10.1.0.1/24\n"
				   "PeerAddress = 10.1.0.2\nAllowedSources = 10.0.0.0/24\n");
	ok_parsed(config_load_dir(path, &links, &n, &err), &err,
		  "another link's network as AllowedSources is no clash");
	free(links);

	make_dir("fine");
	write_file("fine/c.conf", c);
	write_file("fine/e.conf", e);
	snprintf(path, sizeof(path), "%s/fine", tmpdir);
	ok_parsed(config_load_dir(path, &links, &n, &err), &err,
		  "one path as server to one peer and client of another");
	free(links);

	make_dir("bad");
	write_file("bad/a.conf", a);
	write_file("bad/z.conf", "[Link]\nPeer = 5\nRole = client\nMTU = 9x\n");
	snprintf(path, sizeof(path), "%s/bad", tmpdir);
	snprintf(want, sizeof(want), "%s/z.conf:4: MTU = '9x': expected a number from 68 to 65535",
		 path);
	ok_msg(config_load_dir(path, &links, &n, &err), &err, want,
	       "an error in the second file of a directory");

	make_dir("subdir");
	make_dir("subdir/x.conf");
	snprintf(path, sizeof(path), "%s/subdir", tmpdir);
	snprintf(want, sizeof(want), "%s/x.conf: not a regular file", path);
	ok_msg(config_load_dir(path, &links, &n, &err), &err, want,
	       "a directory named *.conf");
}

/* --- what a reload compares ------------------------------------------------------- */

/*
 * Each key changed alone is a change: for the daemon, or for the watcher
 * alone (Hook, Bridge). A key added without a row here fails the first check.
 */
static void test_every_key_compared(void)
{
#define BASE HEAD "Interface = vt0\nAddress = 10.0.0.1/24\n"
	static const struct {
		const char *base;	/* NULL: BASE */
		const char *changed;
	} cases[CONFIG_N_KEYS] = {
		[CONFIG_KEY_PEER] = { NULL, "[Link]\nPeer = 6\nRole = client\nInterface = vt0\n"
					    "Address = 10.0.0.1/24\n" },
		[CONFIG_KEY_ROLE] = { NULL, "[Link]\nPeer = 5\nRole = server\nInterface = vt0\n"
					    "Address = 10.0.0.1/24\n" },
		[CONFIG_KEY_MODE] = { NULL, BASE "Mode = tap\n" },
		[CONFIG_KEY_INTERFACE] = { NULL, "[Link]\nPeer = 5\nRole = client\nInterface = vt1\n"
						 "Address = 10.0.0.1/24\n" },
		[CONFIG_KEY_MTU] = { NULL, BASE "MTU = 1400\n" },
		[CONFIG_KEY_ADDRESS] = { NULL, BASE "Address = 10.0.0.9\n" },
		[CONFIG_KEY_PEER_ADDRESS] = { NULL, BASE "PeerAddress = 10.0.0.2\n" },
		[CONFIG_KEY_READ_RING] = { NULL, BASE "ReadRing = 64K\n" },
		[CONFIG_KEY_WRITE_RING] = { NULL, BASE "WriteRing = 64K\n" },
		[CONFIG_KEY_XENSTORE_PATH] = { NULL, BASE "XenStorePath = /a/b\n" },
		[CONFIG_KEY_PERSISTENT] = { NULL, BASE "Persistent = yes\n" },
		[CONFIG_KEY_WATCHED] = { NULL, BASE "Watched = yes\n" },
		[CONFIG_KEY_HOOK] = { NULL, BASE "Hook = none\n" },
		[CONFIG_KEY_BRIDGE] = { BASE "Mode = tap\n", BASE "Mode = tap\nBridge = br0\n" },
		[CONFIG_KEY_ROUTES] = { NULL, BASE "Routes = 10.5.0.0/16\n" },
		[CONFIG_KEY_ALLOWED_SOURCES] = { NULL, BASE "AllowedSources = 10.6.0.0/16\n" },
		[CONFIG_KEY_PROVISION] = { NULL, BASE "Provision = yes\n" },
		[CONFIG_KEY_PEER_INTERFACE] = { BASE "Provision = yes\n",
						BASE "Provision = yes\nPeerInterface = eth1\n" },
		[CONFIG_KEY_PEER_ROUTES] = { BASE "Provision = yes\n",
					     BASE "Provision = yes\nPeerRoutes = 0.0.0.0/0\n" },
	};
	struct link_config a, b;
	struct config_error err;
	const unsigned int in_place = 1u << CONFIG_KEY_MTU | 1u << CONFIG_KEY_ADDRESS |
		1u << CONFIG_KEY_PEER_ADDRESS | 1u << CONFIG_KEY_ROUTES |
		1u << CONFIG_KEY_ALLOWED_SOURCES | 1u << CONFIG_KEY_PERSISTENT |
		1u << CONFIG_KEY_WATCHED | 1u << CONFIG_KEY_HOOK | 1u << CONFIG_KEY_BRIDGE |
		1u << CONFIG_KEY_PROVISION | 1u << CONFIG_KEY_PEER_INTERFACE |
		1u << CONFIG_KEY_PEER_ROUTES;
	int rows = 1, parsed = 1, watcher = 1, daemon = 1, named = 1, restart = 1;

	for (unsigned int k = 0; k < CONFIG_N_KEYS; k++) {
		const char *base = cases[k].base ? cases[k].base : BASE;
		bool watcher_only = k == CONFIG_KEY_HOOK || k == CONFIG_KEY_BRIDGE;

		if (!cases[k].changed) {
			printf("# no case for %s\n", config_key_name((enum config_key)k));
			rows = 0;
			continue;
		}
		if (config_parse_buffer(PATH, base, strlen(base), &a, &err) ||
		    config_parse_buffer(PATH, cases[k].changed, strlen(cases[k].changed), &b,
					&err)) {
			printf("# %s: %s\n", config_key_name((enum config_key)k), err.msg);
			parsed = 0;
			continue;
		}
		if (config_watch_equal(&a, &b)) {
			printf("# %s: no change for the watcher\n", config_key_name((enum config_key)k));
			watcher = 0;
		}
		if (config_equal(&a, &b) != watcher_only) {
			printf("# %s: config_equal says %d\n", config_key_name((enum config_key)k),
			       config_equal(&a, &b));
			daemon = 0;
		}
		if (config_changed_keys(&a, &b) != 1u << k) {
			printf("# %s: config_changed_keys says %#x\n",
			       config_key_name((enum config_key)k), config_changed_keys(&a, &b));
			named = 0;
		}
		if (!config_restart_keys(&a, &b) != !!(in_place & 1u << k)) {
			printf("# %s: config_restart_keys says %#x\n",
			       config_key_name((enum config_key)k), config_restart_keys(&a, &b));
			restart = 0;
		}
	}
	ok(rows, "every key has a case");
	ok(parsed, "every case parses");
	ok(watcher, "config_watch_equal sees a change to any key");
	ok(daemon, "config_equal sees a change to any key but Hook and Bridge");
	ok(named, "config_changed_keys names the key that changed, and no other");
	ok(restart, "a link restarts for any key but MTU, the addresses, Routes, AllowedSources, "
	   "Persistent, Watched, Hook, Bridge and the provisioning keys");
	ok(config_parse_buffer(PATH, BASE, strlen(BASE), &a, &err) == 0 &&
	   config_parse_buffer("/elsewhere/guest1.conf", "# moved\n" BASE, strlen(BASE) + 8, &b,
			       &err) == 0 &&
	   config_equal(&a, &b) && config_watch_equal(&a, &b),
	   "where the file is and where keys were written are no change");
#undef BASE
}

/* --- provisioning: what dom0 publishes, and what the guest reads back ------------- */

#define XS_DIR	"/local/domain/5/device/vchan-tun/guest1"

static const char *published(const struct config_published *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->pairs[i].key, key))
			return p->pairs[i].value;
	return NULL;
}

static int parse_pairs(const struct config_pair *pairs, size_t n, struct link_config *cfg,
		       struct config_error *err)
{
	return config_parse_pairs(XS_DIR, pairs, n, cfg, err);
}

static void bad_pairs(const struct config_pair *pairs, size_t n, const char *want,
		      const char *desc)
{
	struct link_config cfg;
	struct config_error err;

	ok_msg(parse_pairs(pairs, n, &cfg, &err), &err, want, desc);
}

static void test_provision(void)
{
	static const char dom0[] =
		"[Link]\nPeer = guest1\nRole = client\nInterface = vg1\nMTU = 9000\n"
		"Address = 10.0.0.1/30, fd00::1/64\nPeerAddress = 10.0.0.2, fd00::2/126\n"
		"ReadRing = 64K\nWriteRing = 128K\nXenStorePath = /local/domain/0/data/g1\n"
		"Provision = yes\nPeerInterface = eth1\nPeerRoutes = 0.0.0.0/0, ::/0\n";
	static const struct config_pair good[] = {
		{ "peer", "0" }, { "role", "server" }, { "address", "10.0.0.2/30" },
		{ "peer-address", "10.0.0.1" },
	};
	struct config_published *pub = malloc(sizeof(*pub));
	struct link_config d, g;
	struct config_error err;
	char addr[INET6_ADDRSTRLEN];

	if (!pub)
		bail_out("malloc");
	ok_parsed(config_parse_buffer(PATH, dom0, strlen(dom0), &d, &err), &err,
		  "Provision, PeerInterface and PeerRoutes parse");
	ok(d.provision && !strcmp(d.peer_ifname, "eth1") && d.n_peer_routes == 2,
	   "and set their fields");
	config_provision(&d, 0, pub);
	ok(!strcmp(published(pub, "peer") ?: "", "0") &&
	   !strcmp(published(pub, "role") ?: "", "server") &&
	   !strcmp(published(pub, "mode") ?: "", "tun") &&
	   !strcmp(published(pub, "interface") ?: "", "eth1") &&
	   !strcmp(published(pub, "mtu") ?: "", "9000") &&
	   !strcmp(published(pub, "read-ring") ?: "", "128K") &&
	   !strcmp(published(pub, "write-ring") ?: "", "64K") &&
	   !strcmp(published(pub, "xenstore-path") ?: "", "/local/domain/0/data/g1") &&
	   !strcmp(published(pub, "routes") ?: "", "0.0.0.0/0,::/0"),
	   "published: our domid as peer, the other role, the rings swapped, PeerInterface "
	   "and PeerRoutes as its own");
	ok(!strcmp(published(pub, "address") ?: "", "10.0.0.2/30,fd00::2/126") &&
	   !strcmp(published(pub, "peer-address") ?: "", "10.0.0.1,fd00::1"),
	   "published: PeerAddress as its Address with the pair's prefix, Address as its "
	   "PeerAddress");
	ok(!published(pub, "provision") && !published(pub, "peer-routes") &&
	   !published(pub, "peer-interface"), "the provisioner's keys are not published");
	ok_parsed(parse_pairs(pub->pairs, pub->n, &g, &err), &err, "the guest parses what is published");
	inet_ntop(AF_INET, &g.addrs[0].addr, addr, sizeof(addr));
	ok(!strcmp(g.name, "guest1") && !strcmp(g.source, XS_DIR) && g.peer_domid == 0 &&
	   g.role == CONFIG_ROLE_SERVER && g.read_ring == 128 * 1024 &&
	   g.write_ring == 64 * 1024 && !strcmp(g.ifname, "eth1") && g.n_routes == 2 &&
	   g.n_addrs == 2 && !strcmp(addr, "10.0.0.2") && g.addrs[0].prefix == 30 &&
	   g.addrs[1].prefix == 126 && g.n_peer_addrs == 2,
	   "the guest's end mirrors dom0's");

	/* without PeerInterface and PeerRoutes, in TAP mode: only what there is */
	static const char tap[] = "[Link]\nPeer = 7\nRole = server\nMode = tap\n"
				  "Address = 10.1.0.1/24\nProvision = yes\n";
	ok_parsed(config_parse_buffer(PATH, tap, strlen(tap), &d, &err), &err, "a TAP link provisions");
	config_provision(&d, 3, pub);
	ok(pub->n == 6 && !strcmp(published(pub, "peer") ?: "", "3") &&
	   !strcmp(published(pub, "role") ?: "", "client") && !published(pub, "address") &&
	   !published(pub, "interface") && !published(pub, "routes"),
	   "a TAP link publishes no addresses: it has no point-to-point pairs");
	ok_parsed(parse_pairs(pub->pairs, pub->n, &g, &err), &err, "and its guest parses it");
	free(pub);

	ok_parsed(parse_pairs(good, sizeof(good) / sizeof(good[0]), &g, &err), &err, "four keys are a link");
	bad_pairs((const struct config_pair[]){ { "peer", "0" }, { "role", "server" },
						 { "mtu", "70000" } }, 3,
		  XS_DIR "/mtu: MTU = '70000': expected a number from 68 to 65535",
		  "a bad value names the node, the key and the value");
	bad_pairs((const struct config_pair[]){ { "peer", "0" }, { "Role", "server" } }, 2,
		  XS_DIR "/Role: unknown key 'Role'", "keys are option names, as written");
	bad_pairs((const struct config_pair[]){ { "peer", "0" }, { "role", "server" },
						 { "provision", "yes" } }, 3,
		  XS_DIR "/provision: Provision is for the daemon that provisions a link, not for "
		  "the provisioned one", "Provision is not taken from XenStore");
	bad_pairs((const struct config_pair[]){ { "peer", "0" }, { "role", "server" },
						 { "peer-routes", "10.0.0.0/8" } }, 3,
		  XS_DIR "/peer-routes: PeerRoutes is for the daemon that provisions a link, not "
		  "for the provisioned one", "nor PeerRoutes");
	bad_pairs((const struct config_pair[]){ { "peer", "0" } }, 1,
		  XS_DIR ": missing Role: expected 'server' (offers the rings and pays their "
		  "grants) or 'client'", "a missing key names the link's directory");
	bad_pairs((const struct config_pair[]){ { "peer", "0" }, { "role", "server" },
						 { "mtu", "1000" }, { "address", "fd00::2" } }, 4,
		  XS_DIR ": MTU = '1000': IPv6 needs at least 1280, and there is "
		  "Address = 'fd00::2'", "a check across keys names the directory, and no line");
	bad_pairs((const struct config_pair[]){ { "peer", "0" }, { "role", "server" },
						 { "address", "10.0.0.2,10.0.0.2" } }, 3,
		  XS_DIR "/address: Address = '10.0.0.2': address given twice",
		  "a repeated address in a list");
	{
		char huge[CONFIG_LINE_MAX + 2];

		memset(huge, 'a', sizeof(huge) - 1);
		huge[sizeof(huge) - 1] = '\0';
		bad_pairs((const struct config_pair[]){ { "peer", "0" }, { "interface", huge } },
			  2, XS_DIR "/interface: Interface: longer than 1024 bytes",
			  "a value longer than a line");
	}
	{
		struct link_config c;

		ok_msg(config_parse_pairs("/local/domain/5/device/vchan-tun/a.b", good,
					  sizeof(good) / sizeof(good[0]), &c, &err), &err,
		       "/local/domain/5/device/vchan-tun/a.b: link name 'a.b': "
		       "expected 1 to 64 letters, digits, '-' and '_'",
		       "the link name is the directory's, checked");
	}
	bad_buffer(HEAD "Provision = yes\nMTU = 65535\nReadRing = 1K\nWriteRing = 2K\n",
		   PATH ": MTU = '65535' on line 5 does not fit ReadRing = '1K' on line 6: a frame "
		   "of 65544 bytes (a 65535-byte packet and the 8-byte header) needs a ring of at "
		   "least 128K, or an MTU of at most 1016",
		   "a client that provisions its server: the rings it gives must fit the MTU");
	bad_buffer(HEAD "PeerRoutes = 10.0.0.0/8\n",
		   PATH ":4: PeerRoutes is for the peer of a provisioned link: set Provision = yes",
		   "PeerRoutes without Provision");
	bad_buffer(HEAD "PeerInterface = eth0\nProvision = no\n",
		   PATH ":4: PeerInterface is for the peer of a provisioned link: set Provision = yes",
		   "PeerInterface with Provision = no");
	bad_options((const char *const[]){ "peer", "5", "role", "client", "peer-interface", "e0",
					   NULL },
		    "--peer-interface is for the peer of a provisioned link: set --provision",
		    "--peer-interface without --provision");
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		bail_out("mkdtemp");

	test_file_syntax();
	test_file_keys();
	test_cmdline_errors();
	test_defaults();
	test_full_file();
	test_good_values();
	test_cmdline();
	test_watch_keys();
	test_every_key_compared();
	test_dir();
	test_provision();

	remove_tree(tmpdir);
	return done_testing();
}
