// SPDX-License-Identifier: GPL-2.0-only
/*
 * Link configuration: see config.h and vchan-tun.conf(5).
 *
 * One static function per key parses and checks its value and, on error,
 * writes one message through key_fail(), which knows whether the value came
 * from a file line or an option; the file parser and the command line both
 * go through config_set_key(). Checks that involve more than one key wait
 * for config_finish(), because keys may come in any order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "config.h"
#include "frame.h"
#include "util.h"

/* At most this much of a value is quoted back, so messages stay one line. */
#define QUOTE_MAX	128

/*
 * libxenvchan's control page: a 24-byte header, then one 4-byte grant
 * reference per ring page; rings under a page live in the control page
 * itself, one of 1K at offset 1024, one of 2K at offset 2048.
 */
#define CTRL_PAGE_SIZE	4096u
#define GRANTS_OFFSET	24u

/* The server writes these under the link's path: both must fit XenStore's limits. */
#define XS_LONGEST_KEY		"/event-channel"
#define XS_REL_PATH_MAX		2048	/* XENSTORE_REL_PATH_MAX, after /local/domain/N/ */
#define XS_PATH_CHARS		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@"

/* --- messages ----------------------------------------------------------------- */

struct msg {
	char *buf;
	size_t len;
	size_t used;
};

static void __attribute__((format(printf, 2, 0)))
msg_vadd(struct msg *m, const char *fmt, va_list ap)
{
	int n;

	if (m->used >= m->len)
		return;
	n = vsnprintf(m->buf + m->used, m->len - m->used, fmt, ap);
	if (n > 0)
		m->used += (size_t)n;
}

static void __attribute__((format(printf, 2, 3))) msg_add(struct msg *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vadd(m, fmt, ap);
	va_end(ap);
}

/*
 * 's', with anything that could break the line or the quotes escaped: the
 * value may be any bytes, and the message goes to a terminal or the journal.
 */
static void msg_quote(struct msg *m, const char *s)
{
	size_t i;

	msg_add(m, "'");
	for (i = 0; i < QUOTE_MAX && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\'' || c == '\\')
			msg_add(m, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			msg_add(m, "\\x%02x", c);
		else
			msg_add(m, "%c", c);
	}
	msg_add(m, s[i] ? "...'" : "'");
}

/* A path as it is, but for control characters, which could forge a second line. */
static void msg_path(struct msg *m, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			msg_add(m, "\\x%02x", c);
		else
			msg_add(m, "%c", c);
	}
}

static void msg_where(struct msg *m, const struct config_origin *where)
{
	if (!where->file)
		return;
	msg_path(m, where->file);
	if (where->line)
		msg_add(m, ":%u", where->line);
	msg_add(m, ": ");
}

static struct msg msg_start(struct config_error *err)
{
	struct msg m = { err->msg, sizeof(err->msg), 0 };

	err->msg[0] = '\0';
	return m;
}

/* A message about the file (line 0) or one of its lines, no key involved. */
static int __attribute__((format(printf, 3, 4)))
where_fail(struct config_error *err, const struct config_origin *where, const char *fmt, ...)
{
	struct msg m = msg_start(err);
	va_list ap;

	msg_where(&m, where);
	va_start(ap, fmt);
	msg_vadd(&m, fmt, ap);
	va_end(ap);
	return -1;
}

struct key_info {
	const char *name;	/* in files */
	const char *option;	/* on the command line */
	bool repeatable;
	int (*parse)(struct link_config *cfg, const char *value,
		     const struct config_origin *where, struct config_error *err);
};

static const struct key_info keys[CONFIG_N_KEYS];

/* "Key = 'value'" in a file, "--key 'value'" on the command line. */
static void msg_key_value(struct msg *m, const struct config_origin *where, enum config_key key,
			  const char *value)
{
	if (where->file)
		msg_add(m, "%s = ", keys[key].name);
	else
		msg_add(m, "--%s ", keys[key].option);
	msg_quote(m, value);
}

/* WHERE: Key = 'value': what was expected */
static int __attribute__((format(printf, 5, 6)))
key_fail(struct config_error *err, const struct config_origin *where, enum config_key key,
	 const char *value, const char *fmt, ...)
{
	struct msg m = msg_start(err);
	va_list ap;

	msg_where(&m, where);
	msg_key_value(&m, where, key, value);
	msg_add(&m, ": ");
	va_start(ap, fmt);
	msg_vadd(&m, fmt, ap);
	va_end(ap);
	return -1;
}

/* How a message names a key it is not about: "Interface" or "--interface". */
static const char *key_label(const struct config_origin *where, enum config_key key, char *buf,
			     size_t len)
{
	if (where->file)
		snprintf(buf, len, "%s", keys[key].name);
	else
		snprintf(buf, len, "--%s", keys[key].option);
	return buf;
}

/* --- small parsers ------------------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_digit(*s))
			return false;
	return true;
}

/* Decimal digits only (no sign, no space, no 0x): strtoul accepts all of those. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!all_digits(s))
		return -1;
	for (; *s; s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Bytes with an optional K or M suffix, e.g. "64K". */
static int parse_size(const char *s, uint32_t *out)
{
	char digits[16];
	size_t n = strspn(s, "0123456789");
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
	if (parse_uint(digits, CONFIG_RING_MAX >> shift, &v))
		return -1;
	*out = (uint32_t)(v << shift);
	return 0;
}

static bool is_power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

bool config_valid_domain_name(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > CONFIG_NAME_MAX || all_digits(s))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

/* A link name is a XenStore path component in the default path: no '.'. */
static bool valid_link_name(const char *s, size_t len)
{
	size_t i;

	if (!len || len > CONFIG_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

#define LINK_NAME_EXPECTED "expected 1 to 64 letters, digits, '-' and '_'"

/* --- one function per key ------------------------------------------------------ */

static int parse_peer(struct link_config *cfg, const char *value,
		      const struct config_origin *where, struct config_error *err)
{
	unsigned long domid;

	if (all_digits(value)) {
		if (parse_uint(value, CONFIG_DOMID_MAX, &domid))
			return key_fail(err, where, CONFIG_KEY_PEER, value,
					"expected a domain id from 0 to %u, or a domain name",
					CONFIG_DOMID_MAX);
		cfg->peer_is_name = false;
		cfg->peer_domid = (unsigned int)domid;
		snprintf(cfg->peer, sizeof(cfg->peer), "%u", cfg->peer_domid);
		return 0;
	}
	if (!config_valid_domain_name(value))
		return key_fail(err, where, CONFIG_KEY_PEER, value,
				"expected a domain id from 0 to %u, or a domain name of 1 to %u "
				"letters, digits, '.', '_' and '-'",
				CONFIG_DOMID_MAX, CONFIG_NAME_MAX);
	cfg->peer_is_name = true;
	cfg->peer_domid = 0;
	snprintf(cfg->peer, sizeof(cfg->peer), "%s", value);
	return 0;
}

static int parse_role(struct link_config *cfg, const char *value,
		      const struct config_origin *where, struct config_error *err)
{
	if (!strcasecmp(value, "server"))
		cfg->role = CONFIG_ROLE_SERVER;
	else if (!strcasecmp(value, "client"))
		cfg->role = CONFIG_ROLE_CLIENT;
	else
		return key_fail(err, where, CONFIG_KEY_ROLE, value,
				"expected 'server' or 'client'");
	return 0;
}

static int parse_mode(struct link_config *cfg, const char *value,
		      const struct config_origin *where, struct config_error *err)
{
	if (!strcasecmp(value, "tun"))
		cfg->mode = CONFIG_MODE_TUN;
	else if (!strcasecmp(value, "tap"))
		cfg->mode = CONFIG_MODE_TAP;
	else
		return key_fail(err, where, CONFIG_KEY_MODE, value, "expected 'tun' or 'tap'");
	return 0;
}

/*
 * The kernel's dev_valid_name(), plus: '%' (TUNSETIFF would take the name
 * as a template and pick a number) and anything outside printable ASCII.
 */
static int check_ifname(const char *value, enum config_key key,
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
	return 0;
}

static int parse_interface(struct link_config *cfg, const char *value,
			   const struct config_origin *where, struct config_error *err)
{
	if (check_ifname(value, CONFIG_KEY_INTERFACE, where, err))
		return -1;
	snprintf(cfg->ifname, sizeof(cfg->ifname), "%s", value);
	return 0;
}

static int parse_mtu(struct link_config *cfg, const char *value,
		     const struct config_origin *where, struct config_error *err)
{
	unsigned long mtu;

	if (parse_uint(value, CONFIG_MTU_MAX, &mtu) || mtu < CONFIG_MTU_MIN)
		return key_fail(err, where, CONFIG_KEY_MTU, value,
				"expected a number from %u to %u", CONFIG_MTU_MIN, CONFIG_MTU_MAX);
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
	unsigned int max;
	unsigned long prefix;

	memset(a, 0, sizeof(*a));
	a->line = where->line;
	snprintf(a->text, sizeof(a->text), "%s", text);
	a->family = memchr(text, ':', len) ? AF_INET6 : AF_INET;
	max = a->family == AF_INET6 ? 128 : 32;
	if (len >= sizeof(buf))
		goto bad_addr;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(a->family, buf, &a->addr) != 1)
		goto bad_addr;
	a->prefix = max;
	if (!slash)
		return 0;
	if (parse_uint(slash + 1, max, &prefix))
		return key_fail(err, where, key, text, "expected a prefix length from 0 to %u",
				max);
	a->prefix = (unsigned int)prefix;
	a->prefix_set = true;
	return 0;

bad_addr:
	return key_fail(err, where, key, text,
			"expected an IPv4 or IPv6 address with an optional /prefix");
}

static bool same_addr(const struct config_addr *a, const struct config_addr *b)
{
	size_t len = a->family == AF_INET6 ? sizeof(a->addr.v6) : sizeof(a->addr.v4);

	return a->family == b->family && !memcmp(&a->addr, &b->addr, len);
}

/* A comma-separated list, appended to list[*n] (at most max); the key may repeat. */
static int parse_addr_list(const char *value, enum config_key key,
			   const struct config_origin *where, struct config_addr *list, size_t *n,
			   size_t max, struct config_error *err)
{
	bool nets = key == CONFIG_KEY_ROUTES || key == CONFIG_KEY_ALLOWED_SOURCES;
	const char *what = nets ? "networks" : "addresses";
	const char *one = nets ? "network" : "address";
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
		if (len >= sizeof(elem))
			len = sizeof(elem) - 1;
		memcpy(elem, p, len);
		while (len && is_blank(elem[len - 1]))
			len--;
		elem[len] = '\0';
		/* An empty value is no address: parse_one_addr() says what one is. */
		if (!len && *value)
			return key_fail(err, where, key, value,
					"expected a comma-separated list of %s, found an "
					"empty element", what);
		if (*n == max)
			return key_fail(err, where, key, elem, "more than %zu %s", max, what);
		if (parse_one_addr(elem, key, where, &list[*n], err))
			return -1;
		for (i = 0; i < *n; i++) {
			/* a network is its prefix too: 10.0.0.0/8 and 10.0.0.0/16 differ */
			if (!same_addr(&list[i], &list[*n]) ||
			    (nets && list[i].prefix != list[*n].prefix))
				continue;
			if (where->file)
				return key_fail(err, where, key, elem,
						"%s already given on line %u", one, list[i].line);
			return key_fail(err, where, key, elem, "%s given twice", one);
		}
		(*n)++;
		p += strcspn(p, ",");
		if (!*p)
			return 0;
		p++;
	}
}

static int parse_address(struct link_config *cfg, const char *value,
			 const struct config_origin *where, struct config_error *err)
{
	return parse_addr_list(value, CONFIG_KEY_ADDRESS, where, cfg->addrs, &cfg->n_addrs,
			       CONFIG_MAX_ADDRS, err);
}

static int parse_peer_address(struct link_config *cfg, const char *value,
			      const struct config_origin *where, struct config_error *err)
{
	return parse_addr_list(value, CONFIG_KEY_PEER_ADDRESS, where, cfg->peer_addrs,
			       &cfg->n_peer_addrs, CONFIG_MAX_ADDRS, err);
}

static int parse_ring(const char *value, enum config_key key,
		      const struct config_origin *where, uint32_t *out, struct config_error *err)
{
	uint32_t size;

	if (parse_size(value, &size) || !is_power_of_two(size) || size < CONFIG_RING_MIN)
		return key_fail(err, where, key, value,
				"expected a power of two from 1K to 1M bytes, such as 64K");
	*out = size;
	return 0;
}

static int parse_read_ring(struct link_config *cfg, const char *value,
			   const struct config_origin *where, struct config_error *err)
{
	return parse_ring(value, CONFIG_KEY_READ_RING, where, &cfg->read_ring, err);
}

static int parse_write_ring(struct link_config *cfg, const char *value,
			    const struct config_origin *where, struct config_error *err)
{
	return parse_ring(value, CONFIG_KEY_WRITE_RING, where, &cfg->write_ring, err);
}

/* Length of a leading "/local/domain/<digits>/", which XenStore does not count. */
static size_t xs_local_prefix_len(const char *path)
{
	static const char base[] = "/local/domain/";
	size_t n;

	if (strncmp(path, base, sizeof(base) - 1))
		return 0;
	n = strspn(path + sizeof(base) - 1, "0123456789");
	if (!n || path[sizeof(base) - 1 + n] != '/')
		return 0;
	return sizeof(base) + n;
}

/*
 * As xenstored checks a path, leaving room for the keys the server writes
 * under it. Its length limit applies to what follows /local/domain/N/ (C
 * xenstored exempts dom0, but the server may be any domain).
 */
static int parse_xs_path(struct link_config *cfg, const char *value,
			 const struct config_origin *where, struct config_error *err)
{
	const size_t room = XS_REL_PATH_MAX - (sizeof(XS_LONGEST_KEY) - 1);
	size_t len = strlen(value), local = xs_local_prefix_len(value);

	if (value[0] != '/')
		return key_fail(err, where, CONFIG_KEY_XENSTORE_PATH, value,
				"expected an absolute XenStore path");
	if (strspn(value, XS_PATH_CHARS) < len)
		return key_fail(err, where, CONFIG_KEY_XENSTORE_PATH, value,
				"a XenStore path may contain only letters, digits and '-', "
				"'/', '_', '@'");
	if (strstr(value, "//"))
		return key_fail(err, where, CONFIG_KEY_XENSTORE_PATH, value,
				"empty path component ('//')");
	if (value[len - 1] == '/')
		return key_fail(err, where, CONFIG_KEY_XENSTORE_PATH, value,
				"expected a path that does not end in '/'");
	if (len - local > room)
		return key_fail(err, where, CONFIG_KEY_XENSTORE_PATH, value,
				"%s %zu characters%s, so PATH%s would exceed XenStore's limit "
				"of %u",
				local ? "more than" : "longer than", room,
				local ? " after /local/domain/N/" : "", XS_LONGEST_KEY,
				XS_REL_PATH_MAX);
	memcpy(cfg->xs_path, value, len + 1);
	return 0;
}

static int parse_bool_key(bool *out, enum config_key key, const char *value,
			  const struct config_origin *where, struct config_error *err)
{
	if (parse_bool(value, out))
		return key_fail(err, where, key, value,
				"expected yes or no (also true/false, on/off, 1/0)");
	return 0;
}

static int parse_persistent(struct link_config *cfg, const char *value,
			    const struct config_origin *where, struct config_error *err)
{
	return parse_bool_key(&cfg->persistent, CONFIG_KEY_PERSISTENT, value, where, err);
}

static int parse_watched(struct link_config *cfg, const char *value,
			 const struct config_origin *where, struct config_error *err)
{
	return parse_bool_key(&cfg->watched, CONFIG_KEY_WATCHED, value, where, err);
}

/* Run without a shell, so any absolute path will do, but it ends up in log lines. */
static int parse_hook(struct link_config *cfg, const char *value,
		      const struct config_origin *where, struct config_error *err)
{
	size_t len = strlen(value);

	if (!strcasecmp(value, "none")) {
		cfg->no_hook = true;
		cfg->hook[0] = '\0';
		return 0;
	}
	if (value[0] != '/')
		return key_fail(err, where, CONFIG_KEY_HOOK, value,
				"expected the absolute path of a program, or 'none'");
	if (len > CONFIG_HOOK_MAX)
		return key_fail(err, where, CONFIG_KEY_HOOK, value, "longer than %u characters",
				CONFIG_HOOK_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return key_fail(err, where, CONFIG_KEY_HOOK, value,
					"a path may not contain control characters");
	cfg->no_hook = false;
	memcpy(cfg->hook, value, len + 1);
	return 0;
}

static int parse_bridge(struct link_config *cfg, const char *value,
			const struct config_origin *where, struct config_error *err)
{
	if (check_ifname(value, CONFIG_KEY_BRIDGE, where, err))
		return -1;
	snprintf(cfg->bridge, sizeof(cfg->bridge), "%s", value);
	return 0;
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
static int parse_networks(const char *value, enum config_key key,
			  const struct config_origin *where, struct config_addr *list, size_t *n,
			  size_t max, struct config_error *err)
{
	size_t first = *n;

	if (parse_addr_list(value, key, where, list, n, max, err))
		return -1;
	for (size_t i = first; i < *n; i++) {
		const struct config_addr *r = &list[i];
		char text[INET6_ADDRSTRLEN];
		struct config_addr net;

		network_of(r, &net);
		if (same_addr(r, &net))
			continue;
		inet_ntop(net.family, &net.addr, text, sizeof(text));
		return key_fail(err, where, key, r->text,
				"host bits set: expected a network, such as %s/%u", text,
				r->prefix);
	}
	return 0;
}

static int parse_routes(struct link_config *cfg, const char *value,
			const struct config_origin *where, struct config_error *err)
{
	return parse_networks(value, CONFIG_KEY_ROUTES, where, cfg->routes, &cfg->n_routes,
			      CONFIG_MAX_ROUTES, err);
}

static int parse_allowed_sources(struct link_config *cfg, const char *value,
				 const struct config_origin *where, struct config_error *err)
{
	return parse_networks(value, CONFIG_KEY_ALLOWED_SOURCES, where, cfg->sources,
			      &cfg->n_sources, CONFIG_MAX_SOURCES, err);
}

static const struct key_info keys[CONFIG_N_KEYS] = {
	[CONFIG_KEY_PEER]		= { "Peer", "peer", false, parse_peer },
	[CONFIG_KEY_ROLE]		= { "Role", "role", false, parse_role },
	[CONFIG_KEY_MODE]		= { "Mode", "mode", false, parse_mode },
	[CONFIG_KEY_INTERFACE]		= { "Interface", "interface", false, parse_interface },
	[CONFIG_KEY_MTU]		= { "MTU", "mtu", false, parse_mtu },
	[CONFIG_KEY_ADDRESS]		= { "Address", "address", true, parse_address },
	[CONFIG_KEY_PEER_ADDRESS]	= { "PeerAddress", "peer-address", true, parse_peer_address },
	[CONFIG_KEY_READ_RING]		= { "ReadRing", "read-ring", false, parse_read_ring },
	[CONFIG_KEY_WRITE_RING]		= { "WriteRing", "write-ring", false, parse_write_ring },
	[CONFIG_KEY_XENSTORE_PATH]	= { "XenStorePath", "xenstore-path", false, parse_xs_path },
	[CONFIG_KEY_PERSISTENT]		= { "Persistent", "persistent", false, parse_persistent },
	[CONFIG_KEY_WATCHED]		= { "Watched", "watched", false, parse_watched },
	[CONFIG_KEY_HOOK]		= { "Hook", "hook", false, parse_hook },
	[CONFIG_KEY_BRIDGE]		= { "Bridge", "bridge", false, parse_bridge },
	[CONFIG_KEY_ROUTES]		= { "Routes", "routes", true, parse_routes },
	[CONFIG_KEY_ALLOWED_SOURCES]	= { "AllowedSources", "allowed-sources", true,
					    parse_allowed_sources },
};

/* --- keys and options ---------------------------------------------------------- */

/* keys_set bit for --name, which has no key: the file name is the link name. */
#define NAME_SET	(1u << CONFIG_N_KEYS)

int config_parse_domid(const char *s, unsigned int *domid)
{
	unsigned long v;

	if (parse_uint(s, CONFIG_DOMID_MAX, &v))
		return -1;
	*domid = (unsigned int)v;
	return 0;
}

const char *config_key_name(enum config_key key)
{
	return (unsigned int)key < CONFIG_N_KEYS ? keys[key].name : "?";
}

const char *config_role_name(enum config_role role)
{
	switch (role) {
	case CONFIG_ROLE_SERVER:
		return "server";
	case CONFIG_ROLE_CLIENT:
		return "client";
	default:
		return "unset";
	}
}

const char *config_mode_name(enum config_mode mode)
{
	return mode == CONFIG_MODE_TAP ? "tap" : "tun";
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

static const struct config_origin cmdline = { NULL, 0 };

int config_set_key(struct link_config *cfg, const char *key, const char *value,
		   const struct config_origin *where, struct config_error *err)
{
	unsigned int k;

	if (!where)
		where = &cmdline;

	for (k = 0; k < CONFIG_N_KEYS; k++)
		if (!strcasecmp(key, keys[k].name))
			break;
	if (k == CONFIG_N_KEYS) {
		struct msg m = msg_start(err);

		msg_where(&m, where);
		msg_add(&m, "unknown key ");
		msg_quote(&m, key);
		msg_add(&m, " in [Link]");
		return -1;
	}
	if (!keys[k].repeatable && (cfg->keys_set & 1u << k)) {
		if (where->file)
			return where_fail(err, where, "duplicate key '%s' in [Link] (first on line %u)",
					  keys[k].name, cfg->key_line[k]);
		return where_fail(err, where, "--%s given twice", keys[k].option);
	}
	if (keys[k].parse(cfg, value, where, err))
		return -1;
	if (!(cfg->keys_set & 1u << k))
		cfg->key_line[k] = where->line;
	cfg->keys_set |= 1u << k;
	return 0;
}

/* On the command line, a yes/no key without a value means yes: --persistent. */
static bool is_yes_no(unsigned int key)
{
	return key == CONFIG_KEY_PERSISTENT || key == CONFIG_KEY_WATCHED;
}

void config_long_options(struct option opts[CONFIG_N_OPTIONS])
{
	unsigned int k;

	for (k = 0; k < CONFIG_N_KEYS; k++) {
		opts[k].name = keys[k].option;
		opts[k].has_arg = is_yes_no(k) ? optional_argument : required_argument;
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
	struct msg m;

	if (cfg->keys_set & NAME_SET) {
		m = msg_start(err);
		msg_add(&m, "--name given twice");
		return -1;
	}
	if (!valid_link_name(value, strlen(value))) {
		m = msg_start(err);
		msg_add(&m, "--name ");
		msg_quote(&m, value);
		msg_add(&m, ": " LINK_NAME_EXPECTED);
		return -1;
	}
	snprintf(cfg->name, sizeof(cfg->name), "%s", value);
	cfg->keys_set |= NAME_SET;
	return 0;
}

int config_set_option(struct link_config *cfg, const char *name, const char *value,
		      struct config_error *err)
{
	unsigned int k;
	struct msg m;

	if (!strncmp(name, "--", 2))
		name += 2;
	if (!strcmp(name, "name"))
		return set_name_option(cfg, value ? value : "", err);
	for (k = 0; k < CONFIG_N_KEYS; k++)
		if (!strcmp(name, keys[k].option))
			break;
	if (k == CONFIG_N_KEYS) {
		char opt[CONFIG_NAME_MAX];

		snprintf(opt, sizeof(opt), "--%s", name);
		m = msg_start(err);
		msg_add(&m, "unknown option ");
		msg_quote(&m, opt);
		return -1;
	}
	if (!value && is_yes_no(k))
		value = "yes";
	if (!value) {
		m = msg_start(err);
		msg_add(&m, "--%s needs a value", keys[k].option);
		return -1;
	}
	return config_set_key(cfg, keys[k].name, value, NULL, err);
}

/* --- cross-key checks ----------------------------------------------------------- */

/* Where cfg got a key: its line in the file, or the command line. */
static struct config_origin key_origin(const struct link_config *cfg, unsigned int line)
{
	struct config_origin o = { cfg->source[0] ? cfg->source : NULL, line };

	return o;
}

/* "Key = 'value' on line N" or "--key 'value'": the other key of a conflict. */
static void msg_other_key(struct msg *m, const struct link_config *cfg, enum config_key key,
			  const char *value, unsigned int line)
{
	struct config_origin o = key_origin(cfg, line);

	msg_key_value(m, &o, key, value);
	if (o.file)
		msg_add(m, " on line %u", line);
}

static int missing_key(const struct link_config *cfg, enum config_key key, const char *expected,
		       struct config_error *err)
{
	struct config_origin o = key_origin(cfg, 0);
	char label[32];

	return where_fail(err, &o, "missing %s: expected %s",
			  key_label(&o, key, label, sizeof(label)), expected);
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
				name, CONFIG_IFNAME_MAX,
				key_label(&o, CONFIG_KEY_INTERFACE, label, sizeof(label)));
	snprintf(cfg->ifname, sizeof(cfg->ifname), "%s", name);
	return 0;
}

static int finish_peer_addrs(struct link_config *cfg, struct config_error *err)
{
	size_t i, j;

	for (i = 0; i < cfg->n_peer_addrs; i++) {
		const struct config_addr *pa = &cfg->peer_addrs[i];
		struct config_origin o = key_origin(cfg, pa->line);
		size_t nth = 0, n_family = 0;
		struct msg m;

		if (cfg->mode == CONFIG_MODE_TAP) {
			m = msg_start(err);
			msg_where(&m, &o);
			msg_key_value(&m, &o, CONFIG_KEY_PEER_ADDRESS, pa->text);
			msg_add(&m, ": not allowed with ");
			msg_other_key(&m, cfg, CONFIG_KEY_MODE, "tap",
				      cfg->key_line[CONFIG_KEY_MODE]);
			msg_add(&m, ": a TAP link has no point-to-point peer");
			return -1;
		}
		for (j = 0; j < i; j++)
			if (cfg->peer_addrs[j].family == pa->family)
				nth++;
		for (j = 0; j < cfg->n_addrs; j++) {
			if (cfg->addrs[j].family != pa->family)
				continue;
			if (same_addr(&cfg->addrs[j], pa)) {
				m = msg_start(err);
				msg_where(&m, &o);
				msg_key_value(&m, &o, CONFIG_KEY_PEER_ADDRESS, pa->text);
				msg_add(&m, ": the same address as ");
				msg_other_key(&m, cfg, CONFIG_KEY_ADDRESS, cfg->addrs[j].text,
					      cfg->addrs[j].line);
				return -1;
			}
			n_family++;
		}
		if (nth >= n_family)
			return key_fail(err, &o, CONFIG_KEY_PEER_ADDRESS, pa->text,
					"%s peer address %zu has no %s Address %zu to belong to",
					pa->family == AF_INET6 ? "IPv6" : "IPv4", nth + 1,
					pa->family == AF_INET6 ? "IPv6" : "IPv4", nth + 1);
	}
	return 0;
}

static const struct config_addr *first_ipv6(const struct link_config *cfg, enum config_key *key)
{
	size_t i;

	*key = CONFIG_KEY_ADDRESS;
	for (i = 0; i < cfg->n_addrs; i++)
		if (cfg->addrs[i].family == AF_INET6)
			return &cfg->addrs[i];
	*key = CONFIG_KEY_PEER_ADDRESS;
	for (i = 0; i < cfg->n_peer_addrs; i++)
		if (cfg->peer_addrs[i].family == AF_INET6)
			return &cfg->peer_addrs[i];
	*key = CONFIG_KEY_ROUTES;
	for (i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].family == AF_INET6)
			return &cfg->routes[i];
	return NULL;
}

static int finish_mtu(const struct link_config *cfg, struct config_error *err)
{
	struct config_origin o = key_origin(cfg, cfg->key_line[CONFIG_KEY_MTU]);
	const struct config_addr *v6;
	enum config_key key;
	char mtu[16];
	struct msg m;

	if (cfg->mtu >= CONFIG_MTU_IPV6_MIN)
		return 0;
	v6 = first_ipv6(cfg, &key);
	if (!v6)
		return 0;
	snprintf(mtu, sizeof(mtu), "%u", cfg->mtu);
	m = msg_start(err);
	msg_where(&m, &o);
	msg_key_value(&m, &o, CONFIG_KEY_MTU, mtu);
	msg_add(&m, ": IPv6 needs at least %u, and there is ", CONFIG_MTU_IPV6_MIN);
	msg_other_key(&m, cfg, key, v6->text, v6->line);
	return -1;
}

static unsigned int ring_pages(uint32_t size)
{
	return size < CTRL_PAGE_SIZE ? 0 : size / CTRL_PAGE_SIZE;
}

/* Offset of an in-page ring in the control page; CTRL_PAGE_SIZE for a ring of pages. */
static unsigned int ring_offset(uint32_t size)
{
	return size < CTRL_PAGE_SIZE ? size : CTRL_PAGE_SIZE;
}

/*
 * libxenvchan's layout, which a compatible peer expects: rings under 4K
 * share the control page, at offset 1024 (1K) and 2048 (2K), so there can
 * be one of each size, and the grant list must end before them.
 */
static int finish_rings(const struct link_config *cfg, struct config_error *err)
{
	struct config_origin o = key_origin(cfg, cfg->key_line[CONFIG_KEY_READ_RING]);
	uint32_t r = cfg->read_ring, w = cfg->write_ring;
	unsigned int end = GRANTS_OFFSET + 4 * (ring_pages(r) + ring_pages(w));
	unsigned int limit = ring_offset(r) < ring_offset(w) ? ring_offset(r) : ring_offset(w);
	char rs[16], ws[16];
	struct msg m;

	if (r < CTRL_PAGE_SIZE && r == w) {
		m = msg_start(err);
		msg_where(&m, &o);
		msg_key_value(&m, &o, CONFIG_KEY_READ_RING, size_text(r, rs, sizeof(rs)));
		msg_add(&m, " and ");
		msg_other_key(&m, cfg, CONFIG_KEY_WRITE_RING, size_text(w, ws, sizeof(ws)),
			      cfg->key_line[CONFIG_KEY_WRITE_RING]);
		msg_add(&m, ": rings under 4K share the control page, where there is room "
			    "for one of 1K and one of 2K");
		return -1;
	}
	if (end <= limit)
		return 0;
	m = msg_start(err);
	msg_where(&m, &o);
	msg_key_value(&m, &o, CONFIG_KEY_READ_RING, size_text(r, rs, sizeof(rs)));
	msg_add(&m, " and ");
	msg_other_key(&m, cfg, CONFIG_KEY_WRITE_RING, size_text(w, ws, sizeof(ws)),
		      cfg->key_line[CONFIG_KEY_WRITE_RING]);
	msg_add(&m, ": the grant list of the 1M ring overlaps the 1K ring in the control page; "
		    "make the small one 2K or the large one at most 512K");
	return -1;
}

/* --- configuration checks ------------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3)))
config_err(struct config_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* "MTU = '9000' on line 3", "--mtu '9000'", with "(the default)" when not written. */
static void describe_key(const struct link_config *cfg, enum config_key key, const char *option,
			 const char *value, char *buf, size_t len)
{
	bool set = cfg->keys_set & 1u << key;

	if (cfg->source[0] && set)
		snprintf(buf, len, "%s = '%s' on line %u", config_key_name(key), value,
			 cfg->key_line[key]);
	else if (cfg->source[0])
		snprintf(buf, len, "%s = '%s' (the default)", config_key_name(key), value);
	else
		snprintf(buf, len, "--%s '%s'%s", option, value, set ? "" : " (the default)");
}

static int check_ring_fit(const struct link_config *cfg, enum config_key key, uint32_t ring,
			  struct config_error *err)
{
	uint8_t mode = cfg->mode == CONFIG_MODE_TAP ? FRAME_MODE_TAP : FRAME_MODE_TUN;
	uint32_t packet = frame_payload_max(mode, cfg->mtu, 0);
	size_t frame = frame_total(packet), need = CONFIG_RING_MIN;
	size_t overhead = mode == FRAME_MODE_TAP ? FRAME_ETH_OVERHEAD : 0;
	char mtu_text[16], ring_text[24], need_text[24], mtu_key[96], ring_key[96];
	const char *where = cfg->source[0] ? cfg->source : NULL;
	const char *option = key == CONFIG_KEY_READ_RING ? "read-ring" : "write-ring";

	if (frame <= ring)
		return 0;
	while (need < frame)
		need *= 2;
	snprintf(mtu_text, sizeof(mtu_text), "%u", cfg->mtu);
	describe_key(cfg, CONFIG_KEY_MTU, "mtu", mtu_text, mtu_key, sizeof(mtu_key));
	describe_key(cfg, key, option, size_text(ring, ring_text, sizeof(ring_text)), ring_key,
		     sizeof(ring_key));
	config_err(err,
		 "%s%s%s does not fit %s: a frame of %zu bytes (a %" PRIu32 "-byte %s and the "
		 "%u-byte header) needs a ring of at least %s, or an MTU of at most %zu",
		 where ? where : "", where ? ": " : "", mtu_key, ring_key, frame, packet,
		 mode == FRAME_MODE_TAP ? "Ethernet frame" : "packet", FRAME_HDR_LEN,
		 size_text(need, need_text, sizeof(need_text)), frame_room(ring) - overhead);
	return -1;
}

/* The server offers the rings: a frame of its MTU must fit them (the client takes what it gets). */
static int finish_ring_fit(const struct link_config *cfg, struct config_error *err)
{
	/* the client takes the server's rings, whatever its own file says */
	if (cfg->role != CONFIG_ROLE_SERVER)
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
	struct msg m;

	if (!cfg->bridge[0])
		return 0;
	if (cfg->mode != CONFIG_MODE_TAP) {
		m = msg_start(err);
		msg_where(&m, &o);
		msg_key_value(&m, &o, CONFIG_KEY_BRIDGE, cfg->bridge);
		msg_add(&m, ": a TUN device cannot join a bridge: set %s",
			key_label(&o, CONFIG_KEY_MODE, label, sizeof(label)));
		msg_add(&m, o.file ? " = tap" : " tap");
		return -1;
	}
	if (strcmp(cfg->bridge, cfg->ifname))
		return 0;
	return key_fail(err, &o, CONFIG_KEY_BRIDGE, cfg->bridge,
			"the link's own interface cannot be its bridge");
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
	    finish_rings(cfg, err) || finish_ring_fit(cfg, err) || finish_bridge(cfg, err))
		return -1;
	return 0;
}

/* --- files ---------------------------------------------------------------------- */

static char *trim(char *s)
{
	char *end;

	while (is_blank(*s))
		s++;
	end = s + strlen(s);
	while (end > s && (is_blank(end[-1]) || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

static int parse_section(const char *s, const struct config_origin *where,
			 unsigned int *section_line, struct config_error *err)
{
	const char *name = s + 1, *end = s + strlen(s) - 1;
	struct msg m;

	if (*end != ']') {
		m = msg_start(err);
		msg_where(&m, where);
		msg_add(&m, "malformed section header ");
		msg_quote(&m, s);
		msg_add(&m, ": expected [Link]");
		return -1;
	}
	while (name < end && is_blank(*name))
		name++;
	while (end > name && is_blank(end[-1]))
		end--;
	if (end - name != 4 || strncasecmp(name, "Link", 4)) {
		m = msg_start(err);
		msg_where(&m, where);
		msg_add(&m, "unknown section ");
		msg_quote(&m, s);
		msg_add(&m, ": expected [Link]");
		return -1;
	}
	if (*section_line)
		return where_fail(err, where,
				  "second [Link] section (first on line %u): one link per file",
				  *section_line);
	*section_line = where->line;
	return 0;
}

/* One line, without its newline and NUL-free. */
static int parse_line(struct link_config *cfg, char *line, const struct config_origin *where,
		      unsigned int *section_line, struct config_error *err)
{
	char *s, *eq, *key;
	struct msg m;

	line[strcspn(line, "#;")] = '\0';
	s = trim(line);
	if (!*s)
		return 0;
	if (*s == '[')
		return parse_section(s, where, section_line, err);
	eq = strchr(s, '=');
	if (!eq || eq == s) {
		m = msg_start(err);
		msg_where(&m, where);
		msg_add(&m, "expected 'Key = Value', '[Link]' or a comment, found ");
		msg_quote(&m, s);
		return -1;
	}
	*eq = '\0';
	key = trim(s);
	if (!*section_line) {
		m = msg_start(err);
		msg_where(&m, where);
		msg_add(&m, "key ");
		msg_quote(&m, key);
		msg_add(&m, " before the [Link] section");
		return -1;
	}
	return config_set_key(cfg, key, trim(eq + 1), where, err);
}

/* The link name: the file's name without .conf. */
static int name_from_path(struct link_config *cfg, const char *path, struct config_error *err)
{
	const struct config_origin where = { path, 0 };
	const char *base = strrchr(path, '/');
	size_t len;
	struct msg m;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".conf"))
		len -= 5;
	if (!valid_link_name(base, len)) {
		char name[CONFIG_SOURCE_MAX];

		snprintf(name, sizeof(name), "%.*s", (int)len, base);
		m = msg_start(err);
		msg_where(&m, &where);
		msg_add(&m, "link name ");
		msg_quote(&m, name);
		msg_add(&m, " (the file name without .conf): " LINK_NAME_EXPECTED);
		return -1;
	}
	memcpy(cfg->name, base, len);
	cfg->name[len] = '\0';
	return 0;
}

int config_parse_buffer(const char *path, const char *buf, size_t len, struct link_config *out,
			struct config_error *err)
{
	struct config_origin where = { path, 0 };
	const char *p = buf, *end = buf + len;
	unsigned int section_line = 0;

	config_init(out);
	if (strlen(path) >= sizeof(out->source))
		return where_fail(err, &where, "path longer than %u characters",
				  CONFIG_SOURCE_MAX - 1);
	snprintf(out->source, sizeof(out->source), "%s", path);
	if (name_from_path(out, path, err))
		return -1;
	if (len > CONFIG_FILE_MAX)
		return where_fail(err, &where, "larger than %u bytes", CONFIG_FILE_MAX);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char line[CONFIG_LINE_MAX + 1];

		where.line++;
		if (n > CONFIG_LINE_MAX)
			return where_fail(err, &where, "line longer than %u bytes",
					  CONFIG_LINE_MAX);
		if (memchr(p, '\0', n))
			return where_fail(err, &where, "NUL byte in line");
		memcpy(line, p, n);
		line[n] = '\0';
		if (parse_line(out, line, &where, &section_line, err))
			return -1;
		p = nl ? nl + 1 : end;
	}
	if (!section_line) {
		where.line = 0;
		return where_fail(err, &where, "no [Link] section");
	}
	return config_finish(out, err);
}

int config_parse_file(const char *path, struct link_config *out, struct config_error *err)
{
	const struct config_origin where = { path, 0 };
	size_t len = 0;
	char *buf = NULL;
	struct stat st;
	int fd, ret = -1;

	/* Not blocking: a FIFO named *.conf must not hang the daemon. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return where_fail(err, &where, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st)) {
		where_fail(err, &where, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		where_fail(err, &where, "not a regular file");
		goto out;
	}
	/* One byte more than allowed, to tell a full-size file from a larger one. */
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		where_fail(err, &where, "cannot read: %s", strerror(ENOMEM));
		goto out;
	}
	while (len < CONFIG_FILE_MAX + 1) {
		ssize_t n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			where_fail(err, &where, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	ret = config_parse_buffer(path, buf, len, out, err);
out:
	free(buf);
	close(fd);
	return ret;
}

/* --- directories ------------------------------------------------------------------ */

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_conf_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".conf");
}

/* The *.conf names in dir, sorted. */
static int list_dir(const char *dir, char ***names, size_t *n, struct config_error *err)
{
	const struct config_origin where = { dir, 0 };
	char **list = NULL;
	size_t count = 0, i;
	struct dirent *de;
	DIR *d;

	*names = NULL;
	*n = 0;
	d = opendir(dir);
	if (!d)
		return where_fail(err, &where, "cannot open directory: %s", strerror(errno));
	list = calloc(CONFIG_MAX_LINKS, sizeof(*list));
	if (!list) {
		where_fail(err, &where, "cannot read directory: %s", strerror(ENOMEM));
		goto fail;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (!is_conf_name(de->d_name))
			continue;
		if (count == CONFIG_MAX_LINKS) {
			where_fail(err, &where, "more than %u .conf files", CONFIG_MAX_LINKS);
			goto fail;
		}
		list[count] = strdup(de->d_name);
		if (!list[count]) {
			where_fail(err, &where, "cannot read directory: %s", strerror(ENOMEM));
			goto fail;
		}
		count++;
	}
	if (errno) {
		where_fail(err, &where, "cannot read directory: %s", strerror(errno));
		goto fail;
	}
	closedir(d);
	qsort(list, count, sizeof(*list), compare_names);
	*names = list;
	*n = count;
	return 0;

fail:
	for (i = 0; i < count; i++)
		free(list[i]);
	free(list);
	closedir(d);
	return -1;
}

static bool same_peer(const struct link_config *a, const struct link_config *b)
{
	return a->peer_is_name == b->peer_is_name && !strcmp(a->peer, b->peer);
}

/* "(dir/a.conf:4)", or "(dir/a.conf)" for a default. */
static void msg_other_file(struct msg *m, const struct link_config *other, enum config_key key)
{
	msg_add(m, "link '%s' (", other->name);
	msg_path(m, other->source);
	if (other->keys_set & 1u << key)
		msg_add(m, ":%u", other->key_line[key]);
	msg_add(m, ")");
}

static int check_interface_clash(const struct link_config *a, const struct link_config *b,
				 struct config_error *err)
{
	struct config_origin o = key_origin(b, b->key_line[CONFIG_KEY_INTERFACE]);
	struct msg m;

	if (strcmp(a->ifname, b->ifname))
		return 0;
	m = msg_start(err);
	msg_where(&m, &o);
	if (b->keys_set & 1u << CONFIG_KEY_INTERFACE)
		msg_key_value(&m, &o, CONFIG_KEY_INTERFACE, b->ifname);
	else
		msg_add(&m, "default interface name '%s'", b->ifname);
	msg_add(&m, ": already used by ");
	msg_other_file(&m, a, CONFIG_KEY_INTERFACE);
	return -1;
}

/*
 * A client's path is in the peer's part of XenStore, a server's in ours:
 * the same path clashes for the same peer, or for two servers.
 */
static int check_path_clash(const struct link_config *a, const struct link_config *b,
			    struct config_error *err)
{
	struct config_origin o = key_origin(b, b->key_line[CONFIG_KEY_XENSTORE_PATH]);
	bool servers = a->role == CONFIG_ROLE_SERVER && b->role == CONFIG_ROLE_SERVER;
	struct msg m;

	if (!a->xs_path[0] || strcmp(a->xs_path, b->xs_path) || !(servers || same_peer(a, b)))
		return 0;
	m = msg_start(err);
	msg_where(&m, &o);
	msg_key_value(&m, &o, CONFIG_KEY_XENSTORE_PATH, b->xs_path);
	msg_add(&m, ": already used by ");
	msg_other_file(&m, a, CONFIG_KEY_XENSTORE_PATH);
	msg_add(&m, servers ? ", also a server" : ", for the same peer");
	return -1;
}

int config_load_dir(const char *dir, struct link_config **links, size_t *n,
		    struct config_error *err)
{
	const struct config_origin where = { dir, 0 };
	struct link_config *list = NULL;
	char **names = NULL;
	size_t count = 0, i, j;
	int ret = -1;

	*links = NULL;
	*n = 0;
	if (list_dir(dir, &names, &count, err))
		return -1;
	list = calloc(count ? count : 1, sizeof(*list));
	if (!list) {
		where_fail(err, &where, "cannot read directory: %s", strerror(ENOMEM));
		goto out;
	}
	for (i = 0; i < count; i++) {
		char path[CONFIG_SOURCE_MAX];
		size_t dlen = strlen(dir);
		const char *sep = dlen && dir[dlen - 1] == '/' ? "" : "/";

		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir, sep, names[i]) >=
		    sizeof(path)) {
			where_fail(err, &where, "path of %s longer than %u characters", names[i],
				   CONFIG_SOURCE_MAX - 1);
			goto out;
		}
		if (config_parse_file(path, &list[i], err))
			goto out;
		for (j = 0; j < i; j++)
			if (check_interface_clash(&list[j], &list[i], err) ||
			    check_path_clash(&list[j], &list[i], err))
				goto out;
	}
	*links = list;
	*n = count;
	list = NULL;
	ret = 0;
out:
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	free(list);
	return ret;
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
	return 1 + ring_pages(cfg->read_ring) + ring_pages(cfg->write_ring);
}

static bool same_addrs(const struct config_addr *a, const struct config_addr *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!same_addr(&a[i], &b[i]) || a[i].prefix != b[i].prefix ||
		    a[i].prefix_set != b[i].prefix_set)
			return false;
	return true;
}

bool config_equal(const struct link_config *a, const struct link_config *b)
{
	return !strcmp(a->name, b->name) && same_peer(a, b) && a->role == b->role &&
	       a->mode == b->mode && !strcmp(a->ifname, b->ifname) && a->mtu == b->mtu &&
	       a->n_addrs == b->n_addrs && same_addrs(a->addrs, b->addrs, a->n_addrs) &&
	       a->n_peer_addrs == b->n_peer_addrs &&
	       same_addrs(a->peer_addrs, b->peer_addrs, a->n_peer_addrs) &&
	       a->read_ring == b->read_ring && a->write_ring == b->write_ring &&
	       !strcmp(a->xs_path, b->xs_path) && a->persistent == b->persistent &&
	       a->watched == b->watched && a->n_sources == b->n_sources &&
	       same_addrs(a->sources, b->sources, a->n_sources) && a->n_routes == b->n_routes &&
	       same_addrs(a->routes, b->routes, a->n_routes);
}

bool config_watch_equal(const struct link_config *a, const struct link_config *b)
{
	return config_equal(a, b) && !strcmp(a->hook, b->hook) && a->no_hook == b->no_hook &&
	       !strcmp(a->bridge, b->bridge);
}
