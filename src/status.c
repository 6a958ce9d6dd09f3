// SPDX-License-Identifier: GPL-2.0-only
/* Status as text and as JSON, from a link's snapshot: see status.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "util.h"

#define ERROR_TEXT_MAX	2048

static void time_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void status_text_begin(struct strbuf *sb, unsigned int domid, size_t n_links)
{
	sb_printf(sb, "domain %u, %zu link%s\n", domid, n_links, n_links == 1 ? "" : "s");
}

void status_text(struct strbuf *sb, const struct link_status *st)
{
	const struct link_config *cfg = st->cfg;
	char since[32], err_at[32], rd[24], wr[24], feat[64], error[ERROR_TEXT_MAX];

	time_text(st->since, since, sizeof(since));
	sb_printf(sb, "%s: %s since %s (%" PRId64 " s)", cfg->name, st->state, since,
		  st->since_s);
	if (st->reason)
		sb_printf(sb, ": %s; %s", printable(st->reason, error, sizeof(error)),
			  st->until_reload ? "retried on reload" : "retrying by itself");
	sb_printf(sb, "\n");
	/* the device as the kernel has it: what ip(8) shows */
	sb_printf(sb, "  interface %s (%s, mtu %u%s), %s of domain ", st->dev_name,
		  config_mode_name(cfg->mode), st->dev_mtu,
		  st->dev_ifindex && !st->dev_admin_up ? ", administratively down" : "",
		  config_role_name(cfg->role));
	if (st->peer_known)
		sb_printf(sb, "%u", st->peer_domid);
	else
		sb_printf(sb, "?");
	if (st->peer_name[0])
		sb_printf(sb, " (%s)", st->peer_name);
	if (cfg->provisioned)
		sb_printf(sb, ", provisioned by domain %u", cfg->provisioned_by);
	if (cfg->provision && st->provision_path[0])
		sb_printf(sb, "\n  provisioned at %s, %s", st->provision_path,
			  st->provision_taken ? "taken" : "not taken yet");
	else if (cfg->provision)
		sb_printf(sb, "\n  provisioned once the peer is known");
	sb_printf(sb, "\n  channel %s, rings read %s write %s", st->xs_path[0] ? st->xs_path : "-",
		  st->ring_read ? size_text(st->ring_read, rd, sizeof(rd)) : "?",
		  st->ring_write ? size_text(st->ring_write, wr, sizeof(wr)) : "?");
	if (st->agreed)
		sb_printf(sb, ", agreed mtu %u, max payload %u, offloads %s", st->lim.mtu,
			  st->lim.max_payload,
			  frame_features_text(st->lim.features, feat, sizeof(feat)));
	sb_printf(sb, "\n  tx %" PRIu64 " packets %" PRIu64 " bytes, dropped: %" PRIu64
		  " oversize, %" PRIu64 " offload, ",
		  st->st.tx_packets, st->st.tx_bytes, st->st.tx_oversize, st->st.tx_offload);
	if (st->no_room >= 0)
		sb_printf(sb, "%lld no room\n", st->no_room);
	else
		sb_printf(sb, "? no room\n");
	sb_printf(sb, "  rx %" PRIu64 " packets %" PRIu64 " bytes, dropped: %" PRIu64
		  " malformed, %" PRIu64 " spoofed, %" PRIu64 " tun write, %" PRIu64
		  " device down\n",
		  st->st.rx_packets, st->st.rx_bytes, st->st.rx_malformed, st->st.rx_spoofed,
		  st->st.rx_tun_errors, st->st.rx_device_down);
	sb_printf(sb, "  connects %" PRIu64 ", reconnects %" PRIu64 ", last error: ",
		  st->connects, st->reconnects);
	if (st->last_error[0]) {
		time_text(st->last_error_at, err_at, sizeof(err_at));
		sb_printf(sb, "%s (at %s)\n", printable(st->last_error, error, sizeof(error)),
			  err_at);
	} else {
		sb_printf(sb, "none\n");
	}
}

void status_json_begin(struct strbuf *sb, unsigned int domid)
{
	sb_printf(sb, "{\"schema\":%d,\"version\":", STATUS_JSON_SCHEMA);
	sb_json_string(sb, vchan_tun_version);
	sb_printf(sb, ",\"domid\":%u,\"links\":[", domid);
}

void status_json_end(struct strbuf *sb)
{
	sb_printf(sb, "]}\n");
}

static void json_uint_or_null(struct strbuf *sb, const char *key, bool known, uint64_t v)
{
	if (known)
		sb_printf(sb, "\"%s\":%" PRIu64, key, v);
	else
		sb_printf(sb, "\"%s\":null", key);
}

/* "a,b,c" (frame_features_text's form; "none" for no name) as ["a","b","c"]. */
static void json_names(struct strbuf *sb, const char *list)
{
	const char *name = strcmp(list, "none") ? list : "";

	sb_printf(sb, "[");
	while (*name) {
		size_t n = strcspn(name, ",");

		sb_printf(sb, "%s\"%.*s\"", name == list ? "" : ",", (int)n, name);
		name += n + (name[n] == ',');
	}
	sb_printf(sb, "]");
}

/* ,"device":{...} as the kernel has it, or null while there is none. */
static void json_device(struct strbuf *sb, const struct link_status *st)
{
	if (!st->dev_ifindex) {
		sb_printf(sb, ",\"device\":null");
		return;
	}
	sb_printf(sb, ",\"device\":{\"name\":");
	sb_json_string(sb, st->dev_name);
	sb_printf(sb, ",\"ifindex\":%d,\"mtu\":%u,\"admin_up\":%s}", st->dev_ifindex,
		  st->dev_mtu, st->dev_admin_up ? "true" : "false");
}

void status_json(struct strbuf *sb, const struct link_status *st, bool first)
{
	const struct link_config *cfg = st->cfg;
	char feat[64];

	sb_printf(sb, "%s{\"name\":", first ? "" : ",");
	sb_json_string(sb, cfg->name);
	sb_printf(sb, ",\"interface\":");
	sb_json_string(sb, cfg->ifname);
	sb_printf(sb, ",\"state\":\"%s\",\"failure\":", st->state);
	if (st->reason) {
		sb_printf(sb, "{\"reason\":");
		sb_json_string(sb, st->reason);
		sb_printf(sb, ",\"retry\":\"%s\"}", st->until_reload ? "on_reload" : "automatic");
	} else {
		sb_printf(sb, "null");
	}
	sb_printf(sb, ",\"since\":%lld,\"role\":\"%s\",\"mode\":\"%s\",\"mtu\":%u,"
		  "\"peer\":{\"name\":",
		  (long long)st->since, config_role_name(cfg->role), config_mode_name(cfg->mode),
		  cfg->mtu);
	sb_json_string(sb, st->peer_name[0] ? st->peer_name : NULL);
	sb_printf(sb, ",");
	json_uint_or_null(sb, "domid", st->peer_known, st->peer_domid);
	sb_printf(sb, "},");
	json_uint_or_null(sb, "provisioned_by", cfg->provisioned, cfg->provisioned_by);
	sb_printf(sb, ",\"provision\":");
	if (cfg->provision) {
		sb_printf(sb, "{\"path\":");
		sb_json_string(sb, st->provision_path[0] ? st->provision_path : NULL);
		sb_printf(sb, ",\"taken\":%s}", st->provision_taken ? "true" : "false");
	} else {
		sb_printf(sb, "null");
	}
	sb_printf(sb, ",\"xenstore_path\":");
	sb_json_string(sb, st->xs_path[0] ? st->xs_path : NULL);
	sb_printf(sb, ",\"ring\":{");
	json_uint_or_null(sb, "read", st->ring_read, st->ring_read);
	sb_printf(sb, ",");
	json_uint_or_null(sb, "write", st->ring_write, st->ring_write);
	sb_printf(sb, "},\"agreed\":{");
	json_uint_or_null(sb, "mtu", st->agreed, st->lim.mtu);
	sb_printf(sb, ",");
	json_uint_or_null(sb, "max_payload", st->agreed, st->lim.max_payload);
	sb_printf(sb, ",\"offloads\":");
	if (st->agreed)
		json_names(sb, frame_features_text(st->lim.features, feat, sizeof(feat)));
	else
		sb_printf(sb, "null");
	sb_printf(sb, "},\"tx\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		  ",\"drops\":{\"oversize\":%" PRIu64 ",\"offload\":%" PRIu64 ",",
		  st->st.tx_packets, st->st.tx_bytes, st->st.tx_oversize, st->st.tx_offload);
	json_uint_or_null(sb, "no_room", st->no_room >= 0, (uint64_t)st->no_room);
	sb_printf(sb, "}},\"rx\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		  ",\"drops\":{\"malformed\":%" PRIu64 ",\"spoofed\":%" PRIu64
		  ",\"tun_write\":%" PRIu64 ",\"device_down\":%" PRIu64 "}}",
		  st->st.rx_packets, st->st.rx_bytes, st->st.rx_malformed, st->st.rx_spoofed,
		  st->st.rx_tun_errors, st->st.rx_device_down);
	sb_printf(sb, ",\"connects\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"last_error\":",
		  st->connects, st->reconnects);
	sb_json_string(sb, st->last_error[0] ? st->last_error : NULL);
	sb_printf(sb, ",");
	json_uint_or_null(sb, "last_error_at", st->last_error[0], (uint64_t)st->last_error_at);
	json_device(sb, st);
	sb_printf(sb, "}");
}
