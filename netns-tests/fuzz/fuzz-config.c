// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for config.c. The first byte picks the way in: a file's
 * contents through config_parse_buffer() (the buffer is the input itself,
 * not NUL-terminated, so ASan sees any read past its end); a command
 * line, "name\nvalue\n..." pairs through config_set_option() and then
 * config_finish(); or a provisioned link as a guest reads it from XenStore,
 * the same pairs through config_parse_pairs().
 *
 * Checked: no crash, leak or sanitizer report; an error is one non-empty
 * line; a success is a configuration the daemon can use as it is (every
 * field inside the documented limits); one from XenStore has none of the
 * provisioner's keys; and what a success provisions (config_provision())
 * parses as the guest's end.
 *
 *   build/fuzz/fuzz-config -max_total_time=30   a bounded run (make fuzz-smoke: all)
 *   build/fuzz/fuzz-config CORPUS     an open-ended one
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "invariant: %s: %s\n", what, detail);
	abort();
}

static void check_error(const struct config_error *err)
{
	size_t len = strnlen(err->msg, sizeof(err->msg));

	if (len == sizeof(err->msg))
		fail("error message not terminated", "");
	if (!len)
		fail("error without a message", "");
	if (strchr(err->msg, '\n'))
		fail("error message of more than one line", err->msg);
}

static bool power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

static void check_addrs(const struct config_addr *a, size_t n, size_t max)
{
	size_t i;

	if (n > max)
		fail("too many addresses", "");
	for (i = 0; i < n; i++) {
		if (a[i].family != AF_INET && a[i].family != AF_INET6)
			fail("address family", a[i].text);
		if (a[i].prefix > (a[i].family == AF_INET ? 32u : 128u))
			fail("prefix length", a[i].text);
	}
}

/* A network's address has no bit set past its prefix. */
static bool host_bits_clear(const struct config_addr *a)
{
	const unsigned char *b = (const unsigned char *)&a->addr;
	unsigned int bits = a->family == AF_INET6 ? 128 : 32;

	for (unsigned int i = a->prefix; i < bits; i++)
		if (b[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

static void check_watch_keys(const struct link_config *cfg)
{
	check_addrs(cfg->routes, cfg->n_routes, CONFIG_MAX_ROUTES);
	for (size_t i = 0; i < cfg->n_routes; i++)
		if (!host_bits_clear(&cfg->routes[i]))
			fail("route with host bits", cfg->routes[i].text);
	if (cfg->hook[0] && (cfg->hook[0] != '/' || cfg->no_hook))
		fail("hook", cfg->hook);
	if (cfg->bridge[0] && (cfg->mode != CONFIG_MODE_TAP || !strcmp(cfg->bridge, cfg->ifname) ||
			       strchr(cfg->bridge, '/')))
		fail("bridge", cfg->bridge);
}

static void check_config(const struct link_config *cfg)
{
	char xs[CONFIG_XS_PATH_MAX + 1];
	size_t len = strlen(cfg->ifname);

	if (!len || len > CONFIG_IFNAME_MAX || strchr(cfg->ifname, '/'))
		fail("interface name", cfg->ifname);
	if (!cfg->name[0] || strchr(cfg->name, '.') || strchr(cfg->name, '/'))
		fail("link name", cfg->name);
	if (!cfg->peer[0] || (!cfg->peer_is_name && cfg->peer_domid > CONFIG_DOMID_MAX))
		fail("peer", cfg->peer);
	if (cfg->role != CONFIG_ROLE_SERVER && cfg->role != CONFIG_ROLE_CLIENT)
		fail("role", config_role_name(cfg->role));
	if (cfg->mtu < CONFIG_MTU_MIN || cfg->mtu > CONFIG_MTU_MAX)
		fail("mtu", cfg->ifname);
	if (!power_of_two(cfg->read_ring) || !power_of_two(cfg->write_ring) ||
	    cfg->read_ring < CONFIG_RING_MIN || cfg->read_ring > CONFIG_RING_MAX ||
	    cfg->write_ring < CONFIG_RING_MIN || cfg->write_ring > CONFIG_RING_MAX)
		fail("ring sizes", cfg->ifname);
	if (config_grant_cost(cfg) > 1 + 2 * (CONFIG_RING_MAX / 4096))
		fail("grant cost", cfg->ifname);
	if (cfg->mode == CONFIG_MODE_TAP && cfg->n_peer_addrs)
		fail("peer address in tap mode", cfg->ifname);
	check_addrs(cfg->addrs, cfg->n_addrs, CONFIG_MAX_ADDRS);
	check_addrs(cfg->peer_addrs, cfg->n_peer_addrs, CONFIG_MAX_ADDRS);
	if (cfg->xs_path[0] && (cfg->xs_path[0] != '/' || strstr(cfg->xs_path, "//")))
		fail("xenstore path", cfg->xs_path);
	if (config_default_xs_path(cfg, CONFIG_DOMID_MAX, CONFIG_DOMID_MAX, xs, sizeof(xs)))
		fail("default xenstore path", cfg->name);
	if (!config_equal(cfg, cfg) || !config_watch_equal(cfg, cfg))
		fail("config_equal", cfg->ifname);
	check_watch_keys(cfg);
}

/* "name\nvalue\n" pairs; a name without a value line is given NULL. */
static int run_options(const uint8_t *data, size_t size, struct link_config *cfg,
		       struct config_error *err)
{
	char *text = malloc(size + 1), *p, *name, *value;
	int ret = -1;

	if (!text)
		return -1;
	memcpy(text, data, size);
	text[size] = '\0';
	config_init(cfg);
	for (p = text; *p;) {
		name = strsep(&p, "\n");
		value = p ? strsep(&p, "\n") : NULL;
		if (config_set_option(cfg, name, value, err))
			goto out;
		if (!p)
			break;
	}
	ret = config_finish(cfg, err);
out:
	free(text);
	return ret;
}

/* The same "name\nvalue\n" pairs as nodes of a provisioned link. */
static int run_pairs(const uint8_t *data, size_t size, struct link_config *cfg,
		     struct config_error *err)
{
	struct config_pair pairs[64];
	char *text = malloc(size + 1), *p;
	size_t n = 0;
	int ret;

	if (!text)
		return -1;
	memcpy(text, data, size);
	text[size] = '\0';
	for (p = text; *p && n < sizeof(pairs) / sizeof(pairs[0]);) {
		pairs[n].key = strsep(&p, "\n");
		pairs[n].value = p ? strsep(&p, "\n") : "";
		n++;
		if (!p)
			break;
	}
	ret = config_parse_pairs("/local/domain/5/device/vchan-tun/fuzz", pairs, n, cfg, err);
	free(text);
	if (!ret && (cfg->provision || cfg->peer_ifname[0] || cfg->n_peer_routes))
		fail("a provisioner's key from XenStore", cfg->ifname);
	return ret;
}

/* What cfg provisions is a link its peer can run. */
static void check_provision(const struct link_config *cfg)
{
	static struct config_published pub;
	static struct link_config peer;
	struct config_error err;

	if (!cfg->provision)
		return;
	config_provision(cfg, 0, &pub);
	if (config_parse_pairs("/local/domain/5/device/vchan-tun/fuzz", pub.pairs, pub.n, &peer,
			       &err))
		fail("the provisioned end does not parse", err.msg);
	check_config(&peer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct link_config cfg;
	struct config_error err;
	int ret;

	if (!size)
		return 0;
	memset(&err, 0xa5, sizeof(err));
	if (data[0] & 1)
		ret = run_options(data + 1, size - 1, &cfg, &err);
	else if (data[0] & 2)
		ret = run_pairs(data + 1, size - 1, &cfg, &err);
	else
		ret = config_parse_buffer("/etc/vchan-tun/fuzz.conf", (const char *)data + 1,
					  size - 1, &cfg, &err);
	if (ret) {
		check_error(&err);
		return 0;
	}
	check_config(&cfg);
	check_provision(&cfg);
	return 0;
}
