/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Link configuration: /etc/vchan-tun/NAME.conf files and the command line,
 * through one parser. Every key has one function that parses and checks it
 * (keys of one kind share it), used by both; every error is one line naming
 * where (file:line, or the option), the key, the bad value and what was
 * expected, e.g.
 *
 *   /etc/vchan-tun/guest1.conf:7: MTU = '9x': expected a number from 68 to 65535
 *   --mtu '9x': expected a number from 68 to 65535
 *
 * Pure C and libc: no netlink, no Xen, so the whole of it runs under unit
 * tests and the fuzzer. Memory is bounded: fixed-size fields, lines of at
 * most CONFIG_LINE_MAX bytes, files of at most CONFIG_FILE_MAX bytes.
 *
 * The syntax and every key are documented in vchan-tun.conf(5).
 */
#ifndef VCHAN_TUN_CONFIG_H
#define VCHAN_TUN_CONFIG_H

#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_DIR	"/etc/vchan-tun"
#define CONFIG_CMDLINE_NAME	"default"	/* link name on the command line, unless --name */

#define CONFIG_NAME_MAX		64	/* link names and domain names */
#define CONFIG_IFNAME_MAX	15	/* IFNAMSIZ - 1 */
#define CONFIG_XS_PATH_MAX	3072	/* XENSTORE_ABS_PATH_MAX */
#define CONFIG_SOURCE_MAX	4096	/* a file's path as given */
#define CONFIG_MAX_ADDRS	8	/* each of Address and PeerAddress */
#define CONFIG_LINE_MAX		1024	/* bytes in a line, without its newline */
#define CONFIG_FILE_MAX		65536	/* bytes in a file */
#define CONFIG_MAX_LINKS	1024	/* files in a directory */
#define CONFIG_MAX_ROUTES	16	/* networks in Routes */
#define CONFIG_MAX_SOURCES	16	/* networks in AllowedSources */
#define CONFIG_HOOK_MAX		1023	/* bytes in a hook's path */

#define CONFIG_DOMID_MAX	32751	/* DOMID_FIRST_RESERVED - 1 */
#define CONFIG_MTU_MIN		68	/* IPv4's minimum, and the kernel's for tun */
#define CONFIG_MTU_MAX		65535
#define CONFIG_MTU_IPV6_MIN	1280
#define CONFIG_MTU_DEFAULT	1500
#define CONFIG_RING_MIN		1024u	/* vchan order 10 */
#define CONFIG_RING_MAX		(1024u * 1024)	/* vchan order 20 */
#define CONFIG_RING_DEFAULT	(256u * 1024)

enum config_role {
	CONFIG_ROLE_UNSET,
	CONFIG_ROLE_SERVER,	/* offers the rings: allocates and grants their pages */
	CONFIG_ROLE_CLIENT,	/* maps the server's pages */
};

enum config_mode {
	CONFIG_MODE_TUN,	/* IP packets, IFF_TUN */
	CONFIG_MODE_TAP,	/* Ethernet frames, IFF_TAP */
};

/* The keys of a [Link] section, in the order of the man page. */
enum config_key {
	CONFIG_KEY_PEER,
	CONFIG_KEY_ROLE,
	CONFIG_KEY_MODE,
	CONFIG_KEY_INTERFACE,
	CONFIG_KEY_MTU,
	CONFIG_KEY_ADDRESS,
	CONFIG_KEY_PEER_ADDRESS,
	CONFIG_KEY_READ_RING,
	CONFIG_KEY_WRITE_RING,
	CONFIG_KEY_XENSTORE_PATH,
	CONFIG_KEY_PERSISTENT,
	CONFIG_KEY_WATCHED,
	CONFIG_KEY_HOOK,
	CONFIG_KEY_BRIDGE,
	CONFIG_KEY_ROUTES,
	CONFIG_KEY_ALLOWED_SOURCES,
	CONFIG_KEY_PROVISION,
	CONFIG_KEY_PEER_INTERFACE,
	CONFIG_KEY_PEER_ROUTES,
	CONFIG_N_KEYS
};

struct config_addr {
	int family;			/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;				/* network byte order */
	unsigned int prefix;		/* 0..32 or 0..128; /32 or /128 if not written */
	bool prefix_set;		/* the prefix was written */
	char text[INET6_ADDRSTRLEN + 4];	/* as written, and where: for messages */
	unsigned int line;
};

struct link_config {
	/* The file name without .conf; part of the default XenStore path. */
	char name[CONFIG_NAME_MAX + 1];
	/* The file this came from; "" for the command line. */
	char source[CONFIG_SOURCE_MAX];

	/* Peer: a domain id, or a domain name the daemon looks up in XenStore. */
	bool peer_is_name;
	unsigned int peer_domid;			/* if !peer_is_name */
	char peer[CONFIG_NAME_MAX + 1];			/* as written (domid in decimal) */

	enum config_role role;
	enum config_mode mode;
	char ifname[CONFIG_IFNAME_MAX + 1];		/* default vchan<domid>, vchan-<name> */
	unsigned int mtu;

	/*
	 * Local addresses, and point-to-point peers (tun only). The n-th
	 * PeerAddress of a family belongs to the n-th Address of that family
	 * (ip address add ADDRESS peer PEERADDRESS); the pair's prefix is the
	 * PeerAddress's if written, else the Address's.
	 */
	struct config_addr addrs[CONFIG_MAX_ADDRS];
	size_t n_addrs;
	struct config_addr peer_addrs[CONFIG_MAX_ADDRS];
	size_t n_peer_addrs;

	/* Ring sizes in bytes, powers of two, as seen from this end. */
	uint32_t read_ring;
	uint32_t write_ring;

	/* "": the default, from config_default_xs_path() once domids are known. */
	char xs_path[CONFIG_XS_PATH_MAX + 1];
	bool persistent;

	/* vchan-tun-watch brings the device up and down: the daemon leaves its admin state. */
	bool watched;

	/*
	 * The watcher's alone: the hook it runs ("" and !no_hook: its default),
	 * the bridge a TAP device joins, and the networks routed to the peer
	 * (prefixes with their host bits clear).
	 */
	char hook[CONFIG_HOOK_MAX + 1];
	bool no_hook;					/* Hook = none */
	char bridge[CONFIG_IFNAME_MAX + 1];		/* "" for none */
	struct config_addr routes[CONFIG_MAX_ROUTES];
	size_t n_routes;

	/*
	 * The networks the peer may send from besides its PeerAddress and
	 * Routes (filter.h): what is from elsewhere is dropped.
	 */
	struct config_addr sources[CONFIG_MAX_SOURCES];
	size_t n_sources;

	/*
	 * Provision = yes: the daemon publishes the peer's end of the link in
	 * the peer's XenStore tree (config_provision()), with PeerInterface
	 * as its device's name ("": the peer's default) and PeerRoutes as its
	 * Routes.
	 */
	bool provision;
	char peer_ifname[CONFIG_IFNAME_MAX + 1];
	struct config_addr peer_routes[CONFIG_MAX_ROUTES];
	size_t n_peer_routes;

	/*
	 * Not a key: the link came from XenStore (config_parse_pairs()),
	 * published there by domain provisioned_by.
	 */
	bool provisioned;
	unsigned int provisioned_by;

	/* Which keys were set, and on which line (0 on the command line). */
	unsigned int keys_set;				/* bit (1 << enum config_key) */
	unsigned int key_line[CONFIG_N_KEYS];
};

/* Where a value comes from: a file and line, or (file NULL) the command line. */
struct config_origin {
	const char *file;
	unsigned int line;
};

struct config_error {
	char msg[1024];
};

/*
 * Every call below returns 0, or -1 with one line in err->msg (no newline,
 * no program name): the daemon prints it and exits with status 2.
 */

/* Defaults, command-line source, link name CONFIG_CMDLINE_NAME. */
void config_init(struct link_config *cfg);

/*
 * One key (case-insensitive: "MTU", "mtu") and its value, without
 * surrounding whitespace, from where (NULL: the command line; a file origin
 * should name cfg->source). Address and PeerAddress may repeat and take
 * comma-separated lists; any other key set twice is an error.
 */
int config_set_key(struct link_config *cfg, const char *key, const char *value,
		   const struct config_origin *where, struct config_error *err);

/*
 * The command line: CONFIG_N_OPTIONS long options, the keys in kebab case
 * (--peer, --read-ring, ...) plus --name (the link name). The yes/no keys,
 * --persistent and --watched, take an optional argument (--persistent=no);
 * the others require one. The
 * daemon appends config_long_options() to its own table and hands each of
 * them to config_set_option() by name:
 *
 *	case CONFIG_OPTION_VAL:
 *		if (config_set_option(&cfg, opts[idx].name, optarg, &err))
 *			die(2, "%s", err.msg);
 */
#define CONFIG_N_OPTIONS	(CONFIG_N_KEYS + 1)
#define CONFIG_OPTION_VAL	0x4356			/* getopt_long's value for all of them */
void config_long_options(struct option opts[CONFIG_N_OPTIONS]);
int config_set_option(struct link_config *cfg, const char *name, const char *value,
		      struct config_error *err);

/*
 * True for a yes/no word (yes, no, true, false, on, off, 1, 0): getopt
 * takes an optional argument only as --persistent=no, and the daemon takes
 * such a word after the option as its value too.
 */
bool config_is_yes_no(const char *s);

/*
 * Cross-key checks and the remaining defaults (Interface). Call once, after
 * the last key; the parse functions below do.
 */
int config_finish(struct link_config *cfg, struct config_error *err);

/*
 * One file's contents: path names it in messages and gives the link name
 * (its last component without .conf). Parses, then finishes.
 */
int config_parse_buffer(const char *path, const char *buf, size_t len, struct link_config *out,
			struct config_error *err);
int config_parse_file(const char *path, struct link_config *out, struct config_error *err);

/*
 * Every DIR/NAME.conf (not starting with '.') in the byte order of their
 * names, finished, into a new array the caller frees. No two may share an
 * interface name or an Address, nor an explicit XenStorePath with the same
 * peer or as two servers. An empty directory gives *n == 0.
 */
int config_load_dir(const char *dir, struct link_config **links, size_t *n,
		    struct config_error *err);

/*
 * Provisioning (Provision = yes, vchan-tun.conf(5)): a link as XenStore
 * carries it, one node per key under
 * /local/domain/GUEST/CONFIG_PROVISION_DIR/LINK, each named by the key's
 * option name ("mtu", "peer-address") and holding its value as a file
 * would (lists comma-separated), so that the guest reads it with this very
 * parser.
 */
#define CONFIG_PROVISION_DIR	"device/vchan-tun"

struct config_pair {
	const char *key;	/* an option name, without "--" */
	const char *value;
};

struct config_published {
	size_t n;
	struct config_pair pairs[CONFIG_N_KEYS];
	char values[CONFIG_N_KEYS][CONFIG_LINE_MAX + 1];
};

/*
 * The peer's end of a link with Provision = yes, as domain self publishes
 * it: Peer self, the other Role, the same Mode, MTU and XenStorePath, the
 * rings swapped, PeerAddress as its Address and Address as its PeerAddress
 * (pair by pair, each with the pair's prefix), PeerInterface as its
 * Interface and PeerRoutes as its Routes. Keys without a value are left out.
 */
void config_provision(const struct link_config *cfg, unsigned int self,
		      struct config_published *out);

/*
 * A link from XenStore: dir (the LINK directory) gives the link name, its
 * last component, and names each node in messages:
 *
 *   /local/domain/5/device/vchan-tun/guest1/mtu: MTU = '70000': expected a number from 68 to 65535
 *
 * Keys are option names; those of the provisioning daemon (Provision,
 * PeerInterface, PeerRoutes) are refused, as is a value longer than
 * CONFIG_LINE_MAX. Parses, then finishes; provisioned_by is the caller's.
 */
int config_parse_pairs(const char *dir, const struct config_pair *pairs, size_t n,
		       struct link_config *out, struct config_error *err);

/*
 * Two links that cannot run in one daemon: the same interface name, a local
 * address, or a XenStorePath where they would meet. The message names b's
 * key where b has it, and a. 0 when they can.
 */
int config_link_clash(const struct link_config *a, const struct link_config *b,
		      struct config_error *err);

/*
 * The XenStore path of a link without XenStorePath:
 * /local/domain/<server>/data/vchan-tun/<client>/<name>.
 * Returns 0, or -1 if len is too small.
 */
int config_default_xs_path(const struct link_config *cfg, unsigned int server_domid,
			   unsigned int client_domid, char *buf, size_t len);

/*
 * Grants the server pays for this link's rings, as vchan/ring.h lays them
 * out: the control page, and the pages of each ring of 4K or more.
 */
unsigned int config_grant_cost(const struct link_config *cfg);

/*
 * The same link name and settings for the daemon (where they were written
 * does not count): its SIGHUP leaves such a link alone. Every key counts
 * but Hook and Bridge, which only the watcher reads; config_watch_equal()
 * compares those too.
 */
bool config_equal(const struct link_config *a, const struct link_config *b);
bool config_watch_equal(const struct link_config *a, const struct link_config *b);

/* The same address, whatever the prefix. */
bool config_same_addr(const struct config_addr *a, const struct config_addr *b);

/*
 * The keys (bit 1 << enum config_key) whose settings differ between two
 * configurations of a link, the watcher's included. config_restart_keys()
 * leaves out those a running link takes in place (MTU, Address, PeerAddress,
 * Routes, AllowedSources, Persistent, Watched, Hook, Bridge, and Provision,
 * PeerInterface and PeerRoutes, which change only what is published): what
 * is left needs a new device (Peer, Role, Mode, Interface, the rings,
 * XenStorePath).
 */
unsigned int config_changed_keys(const struct link_config *a, const struct link_config *b);
unsigned int config_restart_keys(const struct link_config *a, const struct link_config *b);

/*
 * A domain name as Peer takes it: 1 to CONFIG_NAME_MAX letters, digits, '.',
 * '_' and '-', not all digits (that would be a domid), not starting with '-'.
 */
bool config_valid_domain_name(const char *s);

/* A domain id as XenStore spells it: decimal digits only, 0 to CONFIG_DOMID_MAX. 0 or -1. */
int config_parse_domid(const char *s, unsigned int *domid);

const char *config_key_name(enum config_key key);
const char *config_role_name(enum config_role role);
const char *config_mode_name(enum config_mode mode);

#endif
