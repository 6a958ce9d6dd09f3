// SPDX-License-Identifier: GPL-2.0-only
/*
 * Links as XenStore carries them (see config.h, "Provisioning"): what the
 * provisioning daemon publishes of a link, and how the provisioned one reads
 * it back. Both ends speak in the key table's option names, and the reading
 * goes through config_set_key_index() and config_finish() as a file's lines
 * do, so a value from XenStore is checked exactly as one from a file, and
 * its error names the node it came from.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "config-internal.h"
#include "util.h"

/* --- what the provisioning daemon publishes ------------------------------------ */

/* The next value of out, for key; NULL when every key has one already (cannot happen). */
static char *add_pair(struct config_published *out, enum config_key key)
{
	char *value;

	if (out->n == ARRAY_SIZE(out->pairs))
		return NULL;
	value = out->values[out->n];
	value[0] = '\0';
	out->pairs[out->n].key = config_key_option(key);
	out->pairs[out->n].value = value;
	out->n++;
	return value;
}

static void __attribute__((format(printf, 3, 4)))
pair_printf(struct config_published *out, enum config_key key, const char *fmt, ...)
{
	char *value = add_pair(out, key);
	va_list ap;

	if (!value)
		return;
	va_start(ap, fmt);
	vsnprintf(value, CONFIG_LINE_MAX + 1, fmt, ap);
	va_end(ap);
}

/* ", 10.0.0.1/30" onto a list value: the address, and /prefix unless prefix < 0. */
static void list_add(char *value, const struct config_addr *a, int prefix)
{
	char text[INET6_ADDRSTRLEN];
	size_t used = strlen(value);

	inet_ntop(a->family, &a->addr, text, sizeof(text));
	snprintf(value + used, CONFIG_LINE_MAX + 1 - used, "%s%s", used ? "," : "", text);
	used = strlen(value);
	if (prefix >= 0)
		snprintf(value + used, CONFIG_LINE_MAX + 1 - used, "/%d", prefix);
}

/* The Address that the i-th PeerAddress is the peer of (config_finish() checked there is one). */
static const struct config_addr *pair_of(const struct link_config *cfg, size_t i)
{
	const struct config_addr *pa = &cfg->peer_addrs[i];
	size_t nth = 0;

	for (size_t j = 0; j < i; j++)
		nth += cfg->peer_addrs[j].family == pa->family;
	for (size_t j = 0; j < cfg->n_addrs; j++)
		if (cfg->addrs[j].family == pa->family && !nth--)
			return &cfg->addrs[j];
	return NULL;
}

/*
 * Each point-to-point pair seen from the other end: its PeerAddress becomes
 * the peer's Address, with the pair's prefix, and its Address the peer's
 * PeerAddress. An Address with no PeerAddress is ours alone.
 */
static void provision_addresses(const struct link_config *cfg, struct config_published *out)
{
	char *addrs, *peers;

	if (!cfg->n_peer_addrs)
		return;
	addrs = add_pair(out, CONFIG_KEY_ADDRESS);
	peers = add_pair(out, CONFIG_KEY_PEER_ADDRESS);
	if (!addrs || !peers)
		return;
	for (size_t i = 0; i < cfg->n_peer_addrs; i++) {
		const struct config_addr *pa = &cfg->peer_addrs[i], *a = pair_of(cfg, i);
		int prefix = -1;

		if (!a)
			continue;
		if (pa->prefix_set)
			prefix = (int)pa->prefix;
		else if (a->prefix_set)
			prefix = (int)a->prefix;
		list_add(addrs, pa, prefix);
		list_add(peers, a, -1);
	}
}

void config_provision(const struct link_config *cfg, unsigned int self,
		      struct config_published *out)
{
	char size[16];

	out->n = 0;
	pair_printf(out, CONFIG_KEY_PEER, "%u", self);
	pair_printf(out, CONFIG_KEY_ROLE, "%s",
		    config_role_name(cfg->role == CONFIG_ROLE_SERVER ? CONFIG_ROLE_CLIENT
								     : CONFIG_ROLE_SERVER));
	pair_printf(out, CONFIG_KEY_MODE, "%s", config_mode_name(cfg->mode));
	if (cfg->peer_ifname[0])
		pair_printf(out, CONFIG_KEY_INTERFACE, "%s", cfg->peer_ifname);
	pair_printf(out, CONFIG_KEY_MTU, "%u", cfg->mtu);
	provision_addresses(cfg, out);
	/* what we read, the peer writes */
	pair_printf(out, CONFIG_KEY_READ_RING, "%s", size_text(cfg->write_ring, size, sizeof(size)));
	pair_printf(out, CONFIG_KEY_WRITE_RING, "%s", size_text(cfg->read_ring, size, sizeof(size)));
	if (cfg->xs_path[0])
		pair_printf(out, CONFIG_KEY_XENSTORE_PATH, "%s", cfg->xs_path);
	if (cfg->n_peer_routes) {
		char *routes = add_pair(out, CONFIG_KEY_ROUTES);

		for (size_t i = 0; routes && i < cfg->n_peer_routes; i++)
			list_add(routes, &cfg->peer_routes[i], (int)cfg->peer_routes[i].prefix);
	}
}

/* --- what the provisioned daemon reads ------------------------------------------ */

static int find_option(const char *name, enum config_key *key)
{
	for (unsigned int k = 0; k < CONFIG_N_KEYS; k++) {
		if (strcmp(name, config_key_option((enum config_key)k)))
			continue;
		*key = (enum config_key)k;
		return 0;
	}
	return -1;
}

int config_parse_pairs(const char *dir, const struct config_pair *pairs, size_t n,
		       struct link_config *out, struct config_error *err)
{
	const struct config_origin at_dir = { dir, 0 };
	char node[CONFIG_SOURCE_MAX], q[TEXT_MAX], label[32];

	config_init(out);
	if (strlen(dir) >= sizeof(out->source))
		return where_fail(err, &at_dir, "path longer than %u characters",
				  CONFIG_SOURCE_MAX - 1);
	snprintf(out->source, sizeof(out->source), "%s", dir);
	if (link_name_from_path(out, dir, false, err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct config_origin where = { node, 0 };
		enum config_key key;

		/* cut to the buffer: a node this long is refused as an unknown key anyway */
		snprintf(node, sizeof(node), "%s/%s", dir, pairs[i].key);
		if (find_option(pairs[i].key, &key))
			return where_fail(err, &where, "unknown key %s", quoted(pairs[i].key, q));
		if (config_provisioner_keys() & 1u << key)
			return where_fail(err, &where,
					  "%s is for the daemon that provisions a link, not for the "
					  "provisioned one", key_label(&where, key, label));
		if (strlen(pairs[i].value) > CONFIG_LINE_MAX)
			return where_fail(err, &where, "%s: longer than %u bytes",
					  key_label(&where, key, label), CONFIG_LINE_MAX);
		if (config_set_key_index(out, key, pairs[i].value, &where, err))
			return -1;
	}
	return config_finish(out, err);
}
