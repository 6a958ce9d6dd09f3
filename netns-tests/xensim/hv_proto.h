/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The messages between xensim's stand-in Xen libraries and xensim-hv, the
 * process that plays the hypervisor.
 *
 * Every stand-in handle (an evtchn, gnttab or gntshr handle, or a control
 * connection) is one SOCK_SEQPACKET connection to DIR/hv.sock, as every real
 * handle is one open file of a Xen driver: when the process dies, the
 * connection closes and xensim-hv does what the kernel drivers do on close
 * (unbind ports, revoke grants, send unmap notifications).
 *
 * The hot path never goes through xensim-hv: an event is a bit in the
 * receiving handle's shared page plus, at most, one eventfd write.
 */
#ifndef XENSIM_HV_PROTO_H
#define XENSIM_HV_PROTO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define HV_SOCKET	 "hv.sock"
#define HV_PAGE_SIZE	 4096u
#define HV_MAX_PORTS	 4096u /* the 2-level event channel ABI of a 64-bit guest */
#define HV_FIRST_GREF	 8u    /* Xen reserves the first grant references */
#define HV_MAX_DOMID	 0x7ff0u /* DOMID_FIRST_RESERVED */
#define HV_DEFAULT_LIMIT 1024u /* Linux gntalloc's default `limit` */
#define HV_MAX_BATCH	 1024u /* grant references in one share or map request */
#define HV_MAX_MAP_DOMS	 8u    /* distinct granting domains in one map request */
#define HV_MAX_MSG	 (16u * 1024u)

enum hv_kind {
	HV_KIND_CTRL = 1,
	HV_KIND_EVTCHN,
	HV_KIND_GNTTAB,
	HV_KIND_GNTSHR,
};

enum hv_op {
	HV_OP_HELLO = 1,
	HV_OP_BIND_UNBOUND,
	HV_OP_BIND_INTERDOMAIN,
	HV_OP_UNBIND,
	HV_OP_RESOLVE,
	HV_OP_SHARE,
	HV_OP_UNSHARE,
	HV_OP_MAP,
	HV_OP_UNMAP,
	HV_OP_DOMAIN_CREATE,
	HV_OP_DOMAIN_DESTROY,
	HV_OP_DOMAIN_LIST,
};

struct hv_hdr {
	uint32_t op;
	int32_t err; /* in replies: 0 or a positive errno */
};

/* First message of every connection. An evtchn handle passes two fds with it:
 * the memfd of its struct hv_evtchn_page and its eventfd. */
struct hv_hello {
	struct hv_hdr h;
	uint32_t kind;
	uint32_t domid;
};

/* BIND_UNBOUND: domid = remote domain. BIND_INTERDOMAIN: domid, port = remote
 * end. UNBIND and RESOLVE: port = local port. */
struct hv_port_req {
	struct hv_hdr h;
	uint32_t domid;
	uint32_t port;
};

/* The reply to RESOLVE carries the peer handle's page memfd and eventfd. */
struct hv_port_rep {
	struct hv_hdr h;
	uint32_t port;
	uint32_t peer_port;
};

/* SHARE: the reply carries the sharing domain's memory memfd; the page of
 * grant reference r lies at (r - HV_FIRST_GREF) * HV_PAGE_SIZE in it. */
struct hv_share_req {
	struct hv_hdr h;
	uint32_t domid;
	uint32_t count;
	uint32_t writable;
	int32_t notify_offset; /* -1: none */
	int32_t notify_port;   /* -1: none */
};

struct hv_share_rep {
	struct hv_hdr h;
	uint32_t id;
	uint32_t count;
	uint32_t refs[];
};

struct hv_id_req {
	struct hv_hdr h;
	uint32_t id;
};

struct hv_map_ref {
	uint32_t domid;
	uint32_t ref;
};

struct hv_map_req {
	struct hv_hdr h;
	uint32_t count;
	uint32_t writable;
	int32_t notify_offset;
	int32_t notify_port;
	struct hv_map_ref refs[];
};

/* The reply carries one memory memfd per distinct granting domain, in the
 * order of doms[]. */
struct hv_map_rep {
	struct hv_hdr h;
	uint32_t id;
	uint32_t ndoms;
	uint32_t doms[HV_MAX_MAP_DOMS];
};

struct hv_domain_req {
	struct hv_hdr h;
	uint32_t domid;
	uint32_t gntalloc_limit; /* 0: the daemon's default */
};

struct hv_domain_list_rep {
	struct hv_hdr h;
	uint32_t count;
	uint32_t domids[];
};

/*
 * Shared between one evtchn handle, xensim-hv and every process that sends to
 * one of the handle's ports. Only xensim-hv writes peer[]; senders set pending
 * bits and ring the eventfd; only the handle clears pending bits.
 */
struct hv_evtchn_page {
	/* 1 while a wake-up is queued on the handle's eventfd: senders that find
	 * it set skip the write. */
	_Atomic uint32_t doorbell;
	uint32_t reserved;
	_Atomic uint64_t pending[HV_MAX_PORTS / 64];
	/*
	 * An event sent while its port was already pending, before the handle
	 * took it: Linux's evtchn driver would have delivered the first one at
	 * once (masking the port) and kept this one pending until the unmask,
	 * so the handle takes the port pending again when it takes it.
	 */
	_Atomic uint64_t again[HV_MAX_PORTS / 64];
	/* For each interdomain port of the handle: HV_PEER() of the remote end,
	 * 0 when not (or no longer) connected. The generation changes on every
	 * bind, so a sender notices a rebind and resolves the peer again. */
	_Atomic uint64_t peer[HV_MAX_PORTS];
};

/*
 * Raises port on a handle's page, for the library's senders and xensim-hv's
 * alike: true when the bit was newly set and the handle must be woken;
 * false when it was pending already, which marks it to be pending again
 * once taken (again[] above).
 */
static inline bool hv_evtchn_raise(struct hv_evtchn_page *page, uint32_t port)
{
	uint64_t bit = 1ull << (port % 64);

	if (!(atomic_fetch_or(&page->pending[port / 64], bit) & bit))
		return true;
	atomic_fetch_or(&page->again[port / 64], bit);
	return false;
}

#define HV_PEER(dom, port, gen) \
	(((uint64_t)(gen) << 32) | ((uint64_t)(dom) << 16) | (uint64_t)(port))
#define HV_PEER_DOM(v)	((uint16_t)((v) >> 16))
#define HV_PEER_PORT(v) ((uint16_t)(v))

#endif
