// SPDX-License-Identifier: GPL-2.0-only
/*
 * Link configuration: see config.h and vchan-tun.conf(5).
 *
 * One table, keys[], says of every key its names, the function that parses
 * and checks its value, the fields of struct link_config it sets, and what a
 * change to it means; the comparisons walk that table, so a key cannot escape
 * them. The file parser (config-file.c) and the command line both go through
 * config_set_key(); checks that involve more than one key wait for
 * config_finish(), because keys may come in any order.
 *
 * Messages are worded by config-msg.c (see config-internal.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "config.h"
#include "config-internal.h"
#include "frame.h"
#include "util.h"
#include "vchan/ring.h"

_Static_assert(CONFIG_RING_MIN == 1u << VCHAN_MIN_ORDER && CONFIG_RING_MAX == 1u << VCHAN_MAX_ORDER,
	       "ring sizes are the vchan orders");
_Static_assert(CONFIG_ROLE_SERVER == 1 && CONFIG_ROLE_CLIENT == 2 && CONFIG_MODE_TAP == 1,
	       "role_names[] and mode_names[] are in the order of the enums");
_Static_assert(CONFIG_N_KEYS < 32, "a bit per key, and NAME_SET, in an unsigned int");

#define DIGITS		"0123456789"
#define ALNUM		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS

/* The server writes these under the link's path: both must fit XenStore's limits. */
#define XS_LONGEST_KEY		"/event-channel"
#define XS_REL_PATH_MAX		2048	/* XENSTORE_REL_PATH_MAX, after /local/domain/N/ */
#define XS_PATH_CHARS		ALNUM "-/_@"

/* keys_set bit for --name, which has no key: the file name is the link name. */
#define NAME_SET	(1u << CONFIG_N_KEYS)

/* --- the key table ------------------------------------------------------------ */

enum field_kind {
	FIELD_NONE,
	FIELD_STRING,	/* char[] */
	FIELD_SCALAR,	/* a number, bool or enum of size bytes */
	FIELD_ADDRS,	/* struct config_addr[], its count a size_t at count */
	FIELD_NETS,	/* the same, networks: the prefix is part of each */
};

struct field {
	enum field_kind kind;
	size_t off;		/* in struct link_config */
	size_t size;		/* FIELD_SCALAR: bytes; FIELD_ADDRS, FIELD_NETS: the array's length */
	size_t count;		/* FIELD_ADDRS, FIELD_NETS: the count's offset */
};

enum {
	KEY_REPEATS	= 1 << 0,	/* may repeat, and takes a list */
	KEY_YES_NO	= 1 << 1,	/* the option's argument is optional: --persistent */
	KEY_WATCHER	= 1 << 2,	/* only the watcher reads it: no change for the daemon */
	KEY_IN_PLACE	= 1 << 3,	/* a running link takes a change of it: no restart */
	KEY_PROVISIONER	= 1 << 4,	/* the provisioning daemon's: never from XenStore */
};

struct key_info {
	const char *name;	/* in files */
	const char *option;	/* on the command line */
	unsigned int flags;
	int (*parse)(struct link_config *cfg, enum config_key key, const char *value,
		     const struct config_origin *where, struct config_error *err);
	struct field fields[3];	/* what the key sets: a change to any is a change */
};

static const struct key_info keys[CONFIG_N_KEYS];

#define MEMBER(m)	(((struct link_config *)0)->m)
/* m's offset, and a compile error unless m is of type t (the kernel's BUILD_BUG_ON_ZERO). */
#define OFFSET(m, t)	(offsetof(struct link_config, m) + \
			 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(MEMBER(m)), t) ? 1 : -1]))
#define STRING(m)	{ FIELD_STRING, OFFSET(m, char[sizeof(MEMBER(m))]), 0, 0 }
#define SCALAR(m, t)	{ FIELD_SCALAR, OFFSET(m, t), sizeof(t), 0 }
#define LIST(k, m, n)	{ k, OFFSET(m, struct config_addr[ARRAY_SIZE(MEMBER(m))]), \
			  ARRAY_SIZE(MEMBER(m)), OFFSET(n, size_t) }

static void *member(struct link_config *cfg, const struct field *f)
{
	return (char *)cfg + f->off;
}

/* --- small parsers ------------------------------------------------------------- */

/* Digits, and a '-' before them: what is meant as a domain id, whatever its range. */
static bool looks_numeric(const char *s)
{
	s += *s == '-';
	return *s && !s[strspn(s, DIGITS)];
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -1;
}

/* Bytes with an optional K or M suffix, e.g. "64K". */
static int parse_size(const char *s, uint32_t *out)
{
	char digits[16];
	size_t n = strspn(s, DIGITS);
	unsigned long v, shift = 0;

	if (!n || n >= sizeof(digits))
		return -1;
	if (s[n] == 'K' || s[n] == 'k')
		shift = 10;
	else if (s[n] == 'M' || s[n] == 'm')
		shift = 20;
	else if (s[n])
		return -1;
	if (shift && s[n + 1])
		return -1;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (parse_decimal(digits, 0, CONFIG_RING_MAX >> shift, &v))
		return -1;
	*out = (uint32_t)(v << shift);
	return 0;
}

/*
 * Not all digits, which is a domid; nor starting with '-', which reads as a
 * negative domid here and as an option where a hook passes the name on.
 */
bool config_valid_domain_name(const char *s)
{
	size_t len = strlen(s);

	return len && len <= CONFIG_NAME_MAX && s[0] != '-' && strspn(s, DIGITS) < len &&
	       strspn(s, ALNUM "._-") == len;
}

/* A link name is a XenStore path component in the default path: no '.'. */
bool valid_link_name(const char *s)
{
	size_t len = strlen(s);

	return len && len <= CONFIG_NAME_MAX && strspn(s, ALNUM "_-") == len;
}

/* --- one function per key ------------------------------------------------------ */

static int parse_peer(struct link_config *cfg, enum config_key key, const char *value,
		      const struct config_origin *where, struct config_error *err)
{
	unsigned long domid;

	if (!parse_decimal(value, 0, CONFIG_DOMID_MAX, &domid)) {
		cfg->peer_is_name = false;
		cfg->peer_domid = (unsigned int)domid;
		snprintf(cfg->peer, sizeof(cfg->peer), "%u", cfg->peer_domid);
		return 0;
	}
	if (looks_numeric(value))
		return key_fail(err, where, key, value,
				"expected a domain id from 0 to %u, or a domain name",
				CONFIG_DOMID_MAX);
	if (!config_valid_domain_name(value))
		return key_fail(err, where, key, value,
				"expected a domain id from 0 to %u, or a domain name of 1 to %u "
				"letters, digits, '.', '_' and '-'",
				CONFIG_DOMID_MAX, CONFIG_NAME_MAX);
	cfg->peer_is_name = true;
	cfg->peer_domid = 0;
	snprintf(cfg->peer, sizeof(cfg->peer), "%s", value);
	return 0;
}

static const char *const role_names[] = { "unset", "server", "client" };
static const char *const mode_names[] = { "tun", "tap" };

/* Role and Mode: one of the two names of the enum's values (Role's "unset" is none). */
static int parse_enum(struct link_config *cfg, enum config_key key, const char *value,
		      const struct config_origin *where, struct config_error *err)
{
	const char *const *names = key == CONFIG_KEY_ROLE ? role_names + 1 : mode_names;

	for (int i = 0; i < 2; i++) {
		if (strcasecmp(value, names[i]))
			continue;
		if (key == CONFIG_KEY_ROLE)
			cfg->role = (enum config_role)(i + 1);
		else
			cfg->mode = (enum config_mode)i;
		return 0;
	}
	return key_fail(err, where, key, value, "expected '%s' or '%s'", names[0], names[1]);
}

/*
 * Interface and Bridge: the kernel's dev_valid_name(), plus '%' (TUNSETIFF
 * would take the name as a template and pick a number) and anything outside
 * printable ASCII.
 */
static int parse_ifname(struct link_config *cfg, enum config_key key, const char *value,
			const struct config_origin *where, struct config_error *err)
{
	const char *p;

	if (!*value)
		return key_fail(err, where, key, value, "expected an interface name");
	if (strlen(value) > CONFIG_IFNAME_MAX)
		return key_fail(err, where, key, value, "longer than %u characters",
				CONFIG_IFNAME_MAX);
	if (!strcmp(value, ".") || !strcmp(value, ".."))
		return key_fail(err, where, key, value, "'.' and '..' are not interface names");
	for (p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c > '~' || c == '/' || c == ':' || c == '%')
			return key_fail(err, where, key, value,
					"an interface name may not contain whitespace, control "
					"characters, '/', ':' or '%%'");
	}
	memcpy(member(cfg, &keys[key].fields[0]), value, strlen(value) + 1);
	return 0;
}

static int parse_mtu(struct link_config *cfg, enum config_key key, const char *value,
		     const struct config_origin *where, struct config_error *err)
{
	unsigned long mtu;

	if (parse_decimal(value, CONFIG_MTU_MIN, CONFIG_MTU_MAX, &mtu))
		return key_fail(err, where, key, value, "expected a number from %u to %u",
				CONFIG_MTU_MIN, CONFIG_MTU_MAX);
	cfg->mtu = (unsigned int)mtu;
	return 0;
}

/* One list element: an address and an optional /prefix. */
static int parse_one_addr(const char *text, enum config_key key,
			  const struct config_origin *where, struct config_addr *a,
			  struct config_error *err)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix;

	memset(a, 0, sizeof(*a));
	a->line = where->line;
	snprintf(a->text, sizeof(a->text), "%s", text);
	a->family = memchr(text, ':', len) ? AF_INET6 : AF_INET;
	a->prefix = a->family == AF_INET6 ? 128 : 32;
	if (len >= sizeof(buf))
		goto bad_addr;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(a->family, buf, &a->addr) != 1)
		goto bad_addr;
	if (!slash)
		return 0;
	if (parse_decimal(slash + 1, 0, a->prefix, &prefix))
		return key_fail(err, where, key, text, "expected a prefix length from 0 to %u",
				a->prefix);
	a->prefix = (unsigned int)prefix;
	a->prefix_set = true;
	return 0;

bad_addr:
	return key_fail(err, where, key, text,
			"expected an IPv4 or IPv6 address with an optional /prefix");
}

bool config_same_addr(const struct config_addr *a, const struct config_addr *b)
{
	size_t len = a->family == AF_INET6 ? sizeof(a->addr.v6) : sizeof(a->addr.v4);

	return a->family == b->family && !memcmp(&a->addr, &b->addr, len);
}

/* The prefix's network: the address with every bit past the prefix cleared. */
static void network_of(const struct config_addr *a, struct config_addr *net)
{
	unsigned char *b = (unsigned char *)&net->addr;
	unsigned int bytes = a->family == AF_INET6 ? 16 : 4;

	*net = *a;
	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int first = i * 8;

		if (first >= a->prefix)
			b[i] = 0;
		else if (a->prefix - first < 8)
			b[i] &= (unsigned char)(0xff00u >> (a->prefix - first));
	}
}

/*
 * Networks, as ip-route(8) takes them: with host bits set the kernel refuses
 * a route, and a filter would not mean what it says.
 */
static int check_networks(const struct config_addr *list, size_t n, enum config_key key,
			  const struct config_origin *where, struct config_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char text[INET6_ADDRSTRLEN];
		struct config_addr net;

		network_of(&list[i], &net);
		if (config_same_addr(&list[i], &net))
			continue;
		inet_ntop(net.family, &net.addr, text, sizeof(text));
		return key_fail(err, where, key, list[i].text,
				"host bits set: expected a network, such as %s/%u", text,
				list[i].prefix);
	}
	return 0;
}

/*
 * Address, PeerAddress, Routes, AllowedSources: a comma-separated list,
 * appended to the key's; the key may repeat.
 */
static int parse_list(struct link_config *cfg, enum config_key key, const char *value,
		      const struct config_origin *where, struct config_error *err)
{
	const struct field *f = &keys[key].fields[0];
	bool nets = f->kind == FIELD_NETS;
	const char *what = nets ? "networks" : "addresses";
	struct config_addr *list = member(cfg, f);
	size_t *n = (size_t *)((char *)cfg + f->count), first = *n;
	const char *p = value;

	for (;;) {
		char elem[CONFIG_LINE_MAX + 1];
		size_t len = strcspn(p, ",");
		size_t i;

		/* Each element without the blanks around it. */
		while (len && is_blank(*p)) {
			p++;
			len--;
		}
		len = min_size(len, sizeof(elem) - 1);
		memcpy(elem, p, len);
		while (len && is_blank(elem[len - 1]))
			len--;
		elem[len] = '\0';
		/* An empty value is no address: parse_one_addr() says what one is. */
		if (!len && *value)
			return key_fail(err, where, key, value,
					"expected a comma-separated list of %s, found an "
					"empty element", what);
		if (*n == f->size)
			return key_fail(err, where, key, elem, "more than %zu %s", f->size, what);
		if (parse_one_addr(elem, key, where, &list[*n], err))
			return -1;
		for (i = 0; i < *n; i++) {
			/* a network is its prefix too: 10.0.0.0/8 and 10.0.0.0/16 differ */
			if (!config_same_addr(&list[i], &list[*n]) ||
			    (nets && list[i].prefix != list[*n].prefix))
				continue;
			if (where->file && list[i].line)
				return key_fail(err, where, key, elem, "%s already given on line %u",
						nets ? "network" : "address", list[i].line);
			return key_fail(err, where, key, elem, "%s given twice",
					nets ? "network" : "address");
		}
		(*n)++;
		p += strcspn(p, ",");
		if (!*p)
			break;
		p++;
	}
	return nets ? check_networks(list + first, *n - first, key, where, err) : 0;
}

static int parse_ring(struct link_config *cfg, enum config_key key, const char *value,
		      const struct config_origin *where, struct config_error *err)
{
	uint32_t size;

	if (parse_size(value, &size) || size < CONFIG_RING_MIN || (size & (size - 1)))
		return key_fail(err, where, key, value,
				"expected a power of two from 1K to 1M bytes, such as 64K");
	memcpy(member(cfg, &keys[key].fields[0]), &size, sizeof(size));
	return 0;
}

/* Length of a leading "/local/domain/<digits>/", which XenStore does not count. */
static size_t xs_local_prefix_len(const char *path)
{
	static const char base[] = "/local/domain/";
	size_t n;

	if (strncmp(path, base, sizeof(base) - 1))
		return 0;
	n = strspn(path + sizeof(base) - 1, DIGITS);
	if (!n || path[sizeof(base) - 1 + n] != '/')
		return 0;
	return sizeof(base) + n;
}

/*
 * As xenstored checks a path, leaving room for the keys the server writes
 * under it. Its length limit applies to what follows /local/domain/N/ (C
 * xenstored exempts dom0, but the server may be any domain).
 */
static int parse_xs_path(struct link_config *cfg, enum config_key key, const char *value,
			 const struct config_origin *where, struct config_error *err)
{
	const size_t room = XS_REL_PATH_MAX - (sizeof(XS_LONGEST_KEY) - 1);
	size_t len = strlen(value), local = xs_local_prefix_len(value);

	if (value[0] != '/')
		return key_fail(err, where, key, value, "expected an absolute XenStore path");
	if (strspn(value, XS_PATH_CHARS) < len)
		return key_fail(err, where, key, value,
				"a XenStore path may contain only letters, digits and '-', "
				"'/', '_', '@'");
	if (strstr(value, "//"))
		return key_fail(err, where, key, value, "empty path component ('//')");
	if (value[len - 1] == '/')
		return key_fail(err, where, key, value,
				"expected a path that does not end in '/'");
	if (len - local > room)
		return key_fail(err, where, key, value,
				"%s %zu characters%s, so PATH%s would exceed XenStore's limit "
				"of %u",
				local ? "more than" : "longer than", room,
				local ? " after /local/domain/N/" : "", XS_LONGEST_KEY,
				XS_REL_PATH_MAX);
	memcpy(cfg->xs_path, value, len + 1);
	return 0;
}

static int parse_yes_no(struct link_config *cfg, enum config_key key, const char *value,
			const struct config_origin *where, struct config_error *err)
{
	if (parse_bool(value, member(cfg, &keys[key].fields[0])))
		return key_fail(err, where, key, value,
				"expected yes or no (also true/false, on/off, 1/0)");
	return 0;
}

/* Run without a shell, so any absolute path will do, but it ends up in log lines. */
static int parse_hook(struct link_config *cfg, enum config_key key, const char *value,
		      const struct config_origin *where, struct config_error *err)
{
	size_t len = strlen(value);

	if (!strcasecmp(value, "none")) {
		cfg->no_hook = true;
		cfg->hook[0] = '\0';
		return 0;
	}
	if (value[0] != '/')
		return key_fail(err, where, key, value,
				"expected the absolute path of a program, or 'none'");
	if (len > CONFIG_HOOK_MAX)
		return key_fail(err, where, key, value, "longer than %u characters",
				CONFIG_HOOK_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return key_fail(err, where, key, value,
					"a path may not contain control characters");
	cfg->no_hook = false;
	memcpy(cfg->hook, value, len + 1);
	return 0;
}

/*
 * In the order of enum config_key. A key's fields are all it sets; those of
 * KEY_WATCHER keys count for config_watch_equal() alone, the others for
 * config_equal() too (Routes and AllowedSources feed the daemon's source
 * filter).
 */
static const struct key_info keys[CONFIG_N_KEYS] = {
	[CONFIG_KEY_PEER] = { "Peer", "peer", 0, parse_peer,
		{ STRING(peer), SCALAR(peer_is_name, bool), SCALAR(peer_domid, unsigned int) } },
	[CONFIG_KEY_ROLE] = { "Role", "role", 0, parse_enum,
		{ SCALAR(role, enum config_role) } },
	[CONFIG_KEY_MODE] = { "Mode", "mode", 0, parse_enum,
		{ SCALAR(mode, enum config_mode) } },
	[CONFIG_KEY_INTERFACE] = { "Interface", "interface", 0, parse_ifname,
		{ STRING(ifname) } },
	[CONFIG_KEY_MTU] = { "MTU", "mtu", KEY_IN_PLACE, parse_mtu,
		{ SCALAR(mtu, unsigned int) } },
	[CONFIG_KEY_ADDRESS] = { "Address", "address", KEY_REPEATS | KEY_IN_PLACE, parse_list,
		{ LIST(FIELD_ADDRS, addrs, n_addrs) } },
	[CONFIG_KEY_PEER_ADDRESS] = { "PeerAddress", "peer-address",
		KEY_REPEATS | KEY_IN_PLACE,
		parse_list, { LIST(FIELD_ADDRS, peer_addrs, n_peer_addrs) } },
	[CONFIG_KEY_READ_RING] = { "ReadRing", "read-ring", 0, parse_ring,
		{ SCALAR(read_ring, uint32_t) } },
	[CONFIG_KEY_WRITE_RING] = { "WriteRing", "write-ring", 0, parse_ring,
		{ SCALAR(write_ring, uint32_t) } },
	[CONFIG_KEY_XENSTORE_PATH] = { "XenStorePath", "xenstore-path", 0, parse_xs_path,
		{ STRING(xs_path) } },
	[CONFIG_KEY_PERSISTENT] = { "Persistent", "persistent", KEY_YES_NO | KEY_IN_PLACE, parse_yes_no,
		{ SCALAR(persistent, bool) } },
	[CONFIG_KEY_WATCHED] = { "Watched", "watched", KEY_YES_NO | KEY_IN_PLACE, parse_yes_no,
		{ SCALAR(watched, bool) } },
	[CONFIG_KEY_HOOK] = { "Hook", "hook", KEY_WATCHER | KEY_IN_PLACE, parse_hook,
		{ STRING(hook), SCALAR(no_hook, bool) } },
	[CONFIG_KEY_BRIDGE] = { "Bridge", "bridge", KEY_WATCHER | KEY_IN_PLACE, parse_ifname,
		{ STRING(bridge) } },
	[CONFIG_KEY_ROUTES] = { "Routes", "routes", KEY_REPEATS | KEY_IN_PLACE, parse_list,
		{ LIST(FIELD_NETS, routes, n_routes) } },
	[CONFIG_KEY_ALLOWED_SOURCES] = { "AllowedSources", "allowed-sources",
		KEY_REPEATS | KEY_IN_PLACE, parse_list, { LIST(FIELD_NETS, sources, n_sources) } },
	/* what is published changes without a restart: the peer takes it as a reload */
	[CONFIG_KEY_PROVISION] = { "Provision", "provision",
		KEY_YES_NO | KEY_IN_PLACE | KEY_PROVISIONER, parse_yes_no,
		{ SCALAR(provision, bool) } },
	[CONFIG_KEY_PEER_INTERFACE] = { "PeerInterface", "peer-interface",
		KEY_IN_PLACE | KEY_PROVISIONER, parse_ifname, { STRING(peer_ifname) } },
	[CONFIG_KEY_PEER_ROUTES] = { "PeerRoutes", "peer-routes",
		KEY_REPEATS | KEY_IN_PLACE | KEY_PROVISIONER, parse_list,
		{ LIST(FIELD_NETS, peer_routes, n_peer_routes) } },
};

/* --- keys and options ---------------------------------------------------------- */

int config_parse_domid(const char *s, unsigned int *domid)
{
	unsigned long v;

	if (parse_decimal(s, 0, CONFIG_DOMID_MAX, &v))
		return -1;
	*domid = (unsigned int)v;
	return 0;
}

const char *config_key_name(enum config_key key)
{
	return (unsigned int)key < CONFIG_N_KEYS ? keys[key].name : "?";
}

const char *config_key_option(enum config_key key)
{
	return (unsigned int)key < CONFIG_N_KEYS ? keys[key].option : "?";
}

const char *config_role_name(enum config_role role)
{
	return (unsigned int)role < ARRAY_SIZE(role_names) ? role_names[role] : "unset";
}

const char *config_mode_name(enum config_mode mode)
{
	return mode_names[mode == CONFIG_MODE_TAP];
}

void config_init(struct link_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "%s", CONFIG_CMDLINE_NAME);
	cfg->role = CONFIG_ROLE_UNSET;
	cfg->mode = CONFIG_MODE_TUN;
	cfg->mtu = CONFIG_MTU_DEFAULT;
	cfg->read_ring = CONFIG_RING_DEFAULT;
	cfg->write_ring = CONFIG_RING_DEFAULT;
}

int config_set_key(struct link_config *cfg, const char *key, const char *value,
		   const struct config_origin *where, struct config_error *err)
{
	static const struct config_origin cmdline = { NULL, 0 };
	char q[TEXT_MAX];
	unsigned int k;

	if (!where)
		where = &cmdline;
	for (k = 0; k < CONFIG_N_KEYS; k++)
		if (!strcasecmp(key, keys[k].name))
			break;
	if (k == CONFIG_N_KEYS)
		return where_fail(err, where, "unknown key %s in [Link]", quoted(key, q));
	return config_set_key_index(cfg, (enum config_key)k, value, where, err);
}

int config_set_key_index(struct link_config *cfg, enum config_key k, const char *value,
			 const struct config_origin *where, struct config_error *err)
{
	if (!(keys[k].flags & KEY_REPEATS) && (cfg->keys_set & 1u << k)) {
		if (where->file)
			return where_fail(err, where, "duplicate key '%s' in [Link] (first on line %u)",
					  keys[k].name, cfg->key_line[k]);
		return where_fail(err, where, "--%s given twice", keys[k].option);
	}
	if (keys[k].parse(cfg, k, value, where, err))
		return -1;
	if (!(cfg->keys_set & 1u << k))
		cfg->key_line[k] = where->line;
	cfg->keys_set |= 1u << k;
	return 0;
}

unsigned int config_provisioner_keys(void)
{
	unsigned int mask = 0;

	for (unsigned int k = 0; k < CONFIG_N_KEYS; k++)
		if (keys[k].flags & KEY_PROVISIONER)
			mask |= 1u << k;
	return mask;
}

void config_long_options(struct option opts[CONFIG_N_OPTIONS])
{
	unsigned int k;

	for (k = 0; k < CONFIG_N_KEYS; k++) {
		opts[k].name = keys[k].option;
		opts[k].has_arg = keys[k].flags & KEY_YES_NO ? optional_argument : required_argument;
		opts[k].flag = NULL;
		opts[k].val = CONFIG_OPTION_VAL;
	}
	opts[k].name = "name";
	opts[k].has_arg = required_argument;
	opts[k].flag = NULL;
	opts[k].val = CONFIG_OPTION_VAL;
}

static int set_name_option(struct link_config *cfg, const char *value, struct config_error *err)
{
	char q[TEXT_MAX];

	if (cfg->keys_set & NAME_SET)
		return where_fail(err, NULL, "--name given twice");
	if (!valid_link_name(value))
		return where_fail(err, NULL, "--name %s: " LINK_NAME_EXPECTED, quoted(value, q));
	snprintf(cfg->name, sizeof(cfg->name), "%s", value);
	cfg->keys_set |= NAME_SET;
	return 0;
}

bool config_is_yes_no(const char *s)
{
	bool ignored;

	return !parse_bool(s, &ignored);
}

int config_set_option(struct link_config *cfg, const char *name, const char *value,
		      struct config_error *err)
{
	char opt[CONFIG_NAME_MAX], q[TEXT_MAX];
	unsigned int k;

	if (!strncmp(name, "--", 2))
		name += 2;
	if (!strcmp(name, "name"))
		return set_name_option(cfg, value ? value : "", err);
	for (k = 0; k < CONFIG_N_KEYS; k++)
		if (!strcmp(name, keys[k].option))
			break;
	if (k == CONFIG_N_KEYS) {
		snprintf(opt, sizeof(opt), "--%s", name);
		return where_fail(err, NULL, "unknown option %s", quoted(opt, q));
	}
	if (!value && (keys[k].flags & KEY_YES_NO))
		value = "yes";
	if (!value)
		return where_fail(err, NULL, "--%s needs a value", keys[k].option);
	return config_set_key(cfg, keys[k].name, value, NULL, err);
}

/* --- cross-key checks ----------------------------------------------------------- */

static int missing_key(const struct link_config *cfg, enum config_key key, const char *expected,
		       struct config_error *err)
{
	struct config_origin o = key_origin(cfg, 0);
	char label[32];

	return where_fail(err, &o, "missing %s: expected %s", key_label(&o, key, label),
			  expected);
}

static int finish_interface(struct link_config *cfg, struct config_error *err)
{
	struct config_origin o = key_origin(cfg, cfg->key_line[CONFIG_KEY_PEER]);
	char name[CONFIG_NAME_MAX + 8], label[32];

	if (cfg->keys_set & 1u << CONFIG_KEY_INTERFACE)
		return 0;
	snprintf(name, sizeof(name), cfg->peer_is_name ? "vchan-%s" : "vchan%s", cfg->peer);
	if (strlen(name) > CONFIG_IFNAME_MAX)
		return key_fail(err, &o, CONFIG_KEY_PEER, cfg->peer,
				"the default interface name '%s' is longer than %u characters: "
				"set %s",
				name, CONFIG_IFNAME_MAX, key_label(&o, CONFIG_KEY_INTERFACE, label));
	snprintf(cfg->ifname, sizeof(cfg->ifname), "%s", name);
	return 0;
}

static int finish_peer_addrs(const struct link_config *cfg, struct config_error *err)
{
	char other[TEXT_MAX];
	size_t i, j;

	for (i = 0; i < cfg->n_peer_addrs; i++) {
		const struct config_addr *pa = &cfg->peer_addrs[i];
		const char *family = pa->family == AF_INET6 ? "IPv6" : "IPv4";
		struct config_origin o = key_origin(cfg, pa->line);
		size_t nth = 0, n_family = 0;

		if (cfg->mode == CONFIG_MODE_TAP)
			return key_fail(err, &o, CONFIG_KEY_PEER_ADDRESS, pa->text,
					"not allowed with %s: a TAP link has no point-to-point peer",
					other_key(cfg, CONFIG_KEY_MODE, "tap",
						  cfg->key_line[CONFIG_KEY_MODE], other));
		for (j = 0; j < i; j++)
			nth += cfg->peer_addrs[j].family == pa->family;
		for (j = 0; j < cfg->n_addrs; j++) {
			const struct config_addr *a = &cfg->addrs[j];

			if (config_same_addr(a, pa))
				return key_fail(err, &o, CONFIG_KEY_PEER_ADDRESS, pa->text,
						"the same address as %s",
						other_key(cfg, CONFIG_KEY_ADDRESS, a->text, a->line,
							  other));
			n_family += a->family == pa->family;
		}
		if (nth >= n_family)
			return key_fail(err, &o, CONFIG_KEY_PEER_ADDRESS, pa->text,
					"%s peer address %zu has no %s Address %zu to belong to",
					family, nth + 1, family, nth + 1);
	}
	return 0;
}

static int finish_mtu(const struct link_config *cfg, struct config_error *err)
{
	const struct {
		enum config_key key;
		const struct config_addr *list;
		size_t n;
	} lists[] = {
		{ CONFIG_KEY_ADDRESS, cfg->addrs, cfg->n_addrs },
		{ CONFIG_KEY_PEER_ADDRESS, cfg->peer_addrs, cfg->n_peer_addrs },
		{ CONFIG_KEY_ROUTES, cfg->routes, cfg->n_routes },
		{ CONFIG_KEY_PEER_ROUTES, cfg->peer_routes, cfg->n_peer_routes },
	};
	struct config_origin o = key_origin(cfg, cfg->key_line[CONFIG_KEY_MTU]);
	char mtu[16], other[TEXT_MAX];

	if (cfg->mtu >= CONFIG_MTU_IPV6_MIN)
		return 0;
	snprintf(mtu, sizeof(mtu), "%u", cfg->mtu);
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		for (size_t j = 0; j < lists[i].n; j++) {
			const struct config_addr *v6 = &lists[i].list[j];

			if (v6->family == AF_INET6)
				return key_fail(err, &o, CONFIG_KEY_MTU, mtu,
						"IPv6 needs at least %u, and there is %s",
						CONFIG_MTU_IPV6_MIN,
						other_key(cfg, lists[i].key, v6->text, v6->line,
							  other));
		}
	}
	return 0;
}

/*
 * The rings as the server lays them out, by the rules of vchan/ring.c (and
 * libxenvchan): the left ring, which the client writes, is the server's read
 * ring. Sizes are powers of two from 1K to 1M, so their orders are 10 to 20.
 */
static int ring_layout(const struct link_config *cfg, struct vchan_layout *lay, char *why,
		       size_t len)
{
	bool server = cfg->role == CONFIG_ROLE_SERVER;
	uint32_t left = server ? cfg->read_ring : cfg->write_ring;
	uint32_t right = server ? cfg->write_ring : cfg->read_ring;

	return vchan_layout_make(lay, (unsigned int)__builtin_ctz(left),
				 (unsigned int)__builtin_ctz(right), why, len);
}

/*
 * A layout of such orders fails in one of two ways: two rings under 4K of
 * one size (in-page rings have one place for each), or a grant list that
 * reaches an in-page ring, which only the 256 grants of a 1M ring do, and
 * only to the 1K ring at offset 1024.
 */
static int finish_rings(const struct link_config *cfg, struct config_error *err)
{
	struct config_origin o = key_origin(cfg, cfg->key_line[CONFIG_KEY_READ_RING]);
	uint32_t r = cfg->read_ring, w = cfg->write_ring;
	char rs[16], ws[16], kv[TEXT_MAX], other[TEXT_MAX], why[160];
	struct vchan_layout lay;

	if (!ring_layout(cfg, &lay, why, sizeof(why)))
		return 0;
	return where_fail(err, &o, "%s and %s: %s",
			  key_value(&o, CONFIG_KEY_READ_RING, size_text(r, rs, sizeof(rs)), kv),
			  other_key(cfg, CONFIG_KEY_WRITE_RING, size_text(w, ws, sizeof(ws)),
				    cfg->key_line[CONFIG_KEY_WRITE_RING], other),
			  r == w ? "rings under 4K share the control page, where there is room "
				   "for one of 1K and one of 2K"
				 : "the grant list of the 1M ring overlaps the 1K ring in the "
				   "control page; make the small one 2K or the large one at most "
				   "512K");
}

static int check_ring_fit(const struct link_config *cfg, enum config_key key, uint32_t ring,
			  struct config_error *err)
{
	uint8_t mode = cfg->mode == CONFIG_MODE_TAP ? FRAME_MODE_TAP : FRAME_MODE_TUN;
	uint32_t packet = frame_payload_max(mode, cfg->mtu, 0);
	size_t frame = frame_total(packet), need = CONFIG_RING_MIN;
	size_t overhead = mode == FRAME_MODE_TAP ? FRAME_ETH_OVERHEAD : 0;
	struct config_origin o = key_origin(cfg, 0);
	char mtu[16], size[16], need_text[16], mtu_key[TEXT_MAX], ring_key[TEXT_MAX];

	if (frame <= ring)
		return 0;
	while (need < frame)
		need *= 2;
	snprintf(mtu, sizeof(mtu), "%u", cfg->mtu);
	return where_fail(err, &o,
			  "%s does not fit %s: a frame of %zu bytes (a %" PRIu32 "-byte %s and "
			  "the %u-byte header) needs a ring of at least %s, or an MTU of at most "
			  "%zu",
			  other_key(cfg, CONFIG_KEY_MTU, mtu, cfg->key_line[CONFIG_KEY_MTU], mtu_key),
			  other_key(cfg, key, size_text(ring, size, sizeof(size)),
				    cfg->key_line[key], ring_key),
			  frame, packet, mode == FRAME_MODE_TAP ? "Ethernet frame" : "packet",
			  FRAME_HDR_LEN, size_text(need, need_text, sizeof(need_text)),
			  frame_room(ring) - overhead);
}

/* The server offers the rings: a frame of its MTU must fit them. */
static int finish_ring_fit(const struct link_config *cfg, struct config_error *err)
{
	/*
	 * The client takes the server's rings, whatever its own file says;
	 * unless it provisions the server, which gets these.
	 */
	if (cfg->role != CONFIG_ROLE_SERVER && !cfg->provision)
		return 0;
	if (check_ring_fit(cfg, CONFIG_KEY_READ_RING, cfg->read_ring, err))
		return -1;
	return check_ring_fit(cfg, CONFIG_KEY_WRITE_RING, cfg->write_ring, err);
}

/* Only an Ethernet device can be a bridge port, and not of itself. */
static int finish_bridge(const struct link_config *cfg, struct config_error *err)
{
	struct config_origin o = key_origin(cfg, cfg->key_line[CONFIG_KEY_BRIDGE]);
	char label[32];

	if (!cfg->bridge[0])
		return 0;
	if (cfg->mode != CONFIG_MODE_TAP)
		return key_fail(err, &o, CONFIG_KEY_BRIDGE, cfg->bridge,
				"a TUN device cannot join a bridge: set %s%s",
				key_label(&o, CONFIG_KEY_MODE, label), o.file ? " = tap" : " tap");
	if (strcmp(cfg->bridge, cfg->ifname))
		return 0;
	return key_fail(err, &o, CONFIG_KEY_BRIDGE, cfg->bridge,
			"the link's own interface cannot be its bridge");
}

/* What the peer is given makes sense only where something is published. */
static int finish_provision(const struct link_config *cfg, struct config_error *err)
{
	static const enum config_key given[] = { CONFIG_KEY_PEER_INTERFACE, CONFIG_KEY_PEER_ROUTES };
	char label[32];

	if (cfg->provision)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(given); i++) {
		struct config_origin o = key_origin(cfg, cfg->key_line[given[i]]);

		if (!(cfg->keys_set & 1u << given[i]))
			continue;
		return where_fail(err, &o, "%s is for the peer of a provisioned link: set %s",
				  key_label(&o, given[i], label),
				  o.file ? "Provision = yes" : "--provision");
	}
	return 0;
}

int config_finish(struct link_config *cfg, struct config_error *err)
{
	if (!(cfg->keys_set & 1u << CONFIG_KEY_PEER))
		return missing_key(cfg, CONFIG_KEY_PEER, "a domain id or a domain name", err);
	if (cfg->role == CONFIG_ROLE_UNSET)
		return missing_key(cfg, CONFIG_KEY_ROLE,
				   "'server' (offers the rings and pays their grants) or 'client'",
				   err);
	if (finish_interface(cfg, err) || finish_peer_addrs(cfg, err) || finish_mtu(cfg, err) ||
	    finish_rings(cfg, err) || finish_ring_fit(cfg, err) || finish_bridge(cfg, err) ||
	    finish_provision(cfg, err))
		return -1;
	return 0;
}

/* --- for the daemon ------------------------------------------------------------------ */

int config_default_xs_path(const struct link_config *cfg, unsigned int server_domid,
			   unsigned int client_domid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/local/domain/%u/data/vchan-tun/%u/%s", server_domid,
			 client_domid, cfg->name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

unsigned int config_grant_cost(const struct link_config *cfg)
{
	struct vchan_layout lay = { 0 };
	char why[160];

	/* config_finish() has checked the layout: a failure here leaves no pages counted */
	if (ring_layout(cfg, &lay, why, sizeof(why)))
		return 1;
	return 1 + lay.left_pages + lay.right_pages;
}

/* Addresses as the device gets them: where they were written does not count. */
static bool same_addrs(const struct config_addr *a, const struct config_addr *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!config_same_addr(&a[i], &b[i]) || a[i].prefix != b[i].prefix ||
		    a[i].prefix_set != b[i].prefix_set)
			return false;
	return true;
}

static bool same_field(const struct field *f, const struct link_config *a,
		       const struct link_config *b)
{
	const char *x = (const char *)a + f->off, *y = (const char *)b + f->off;
	size_t n;

	switch (f->kind) {
	case FIELD_STRING:
		return !strcmp(x, y);
	case FIELD_SCALAR:
		return !memcmp(x, y, f->size);
	case FIELD_ADDRS:
	case FIELD_NETS:
		memcpy(&n, (const char *)a + f->count, sizeof(n));
		return !memcmp((const char *)b + f->count, &n, sizeof(n)) &&
		       same_addrs((const void *)x, (const void *)y, n);
	case FIELD_NONE:
		break;
	}
	return true;
}

static bool same_key(enum config_key k, const struct link_config *a,
		     const struct link_config *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys[k].fields); i++)
		if (!same_field(&keys[k].fields[i], a, b))
			return false;
	return true;
}

unsigned int config_changed_keys(const struct link_config *a, const struct link_config *b)
{
	unsigned int changed = 0;

	for (unsigned int k = 0; k < CONFIG_N_KEYS; k++)
		if (!same_key(k, a, b))
			changed |= 1u << k;
	return changed;
}

unsigned int config_restart_keys(const struct link_config *a, const struct link_config *b)
{
	unsigned int changed = config_changed_keys(a, b);

	for (unsigned int k = 0; k < CONFIG_N_KEYS; k++)
		if (keys[k].flags & KEY_IN_PLACE)
			changed &= ~(1u << k);
	return changed;
}

bool config_equal(const struct link_config *a, const struct link_config *b)
{
	unsigned int changed = config_changed_keys(a, b);

	for (unsigned int k = 0; k < CONFIG_N_KEYS; k++)
		if (keys[k].flags & KEY_WATCHER)
			changed &= ~(1u << k);
	return !strcmp(a->name, b->name) && !changed;
}

bool config_watch_equal(const struct link_config *a, const struct link_config *b)
{
	return !strcmp(a->name, b->name) && !config_changed_keys(a, b);
}
