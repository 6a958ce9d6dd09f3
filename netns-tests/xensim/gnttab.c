// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stand-in libxengnttab.so.1: sharing pages with another simulated domain
 * (gntshr, as Linux gntalloc) and mapping pages another domain shared
 * (gnttab, as Linux gntdev).
 *
 * Every domain's pages live in one memfd owned by xensim-hv; the page of
 * grant reference r sits at (r - HV_FIRST_GREF) pages into it. A mapping is
 * a reserved range with each granted page mapped over it, so both sides
 * share the very same memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xengnttab.h>

#include "hv_client.h"

struct region {
	struct region *next;
	void *addr;
	uint32_t count;
	uint32_t id;
};

/* xengnttab.h names one type for both handle kinds, as do we. */
struct xengntdev_handle {
	int sock;
	pthread_mutex_t lock;
	struct region *regions;
};

static int handle_init(struct xengntdev_handle *g, enum hv_kind kind)
{
	g->sock = hv_open(kind, NULL, 0);
	if (g->sock < 0)
		return -1;
	pthread_mutex_init(&g->lock, NULL);
	return 0;
}

static void handle_fini(struct xengntdev_handle *g)
{
	while (g->regions) {
		struct region *r = g->regions;

		g->regions = r->next;
		munmap(r->addr, (size_t)r->count * HV_PAGE_SIZE);
		free(r);
	}
	close(g->sock); /* xensim-hv revokes and notifies, as the drivers do on close */
	pthread_mutex_destroy(&g->lock);
}

static off_t frame_offset(uint32_t ref)
{
	return (off_t)(ref - HV_FIRST_GREF) * HV_PAGE_SIZE;
}

/*
 * Maps count pages into one contiguous range: page i is frame ref[i] of the
 * memfd fds[fd_of[i]]. Consecutive frames of one memfd go in one mmap.
 */
static void *map_frames(uint32_t count, const int *fds, const uint8_t *fd_of,
			const uint32_t *refs, int prot)
{
	size_t len = (size_t)count * HV_PAGE_SIZE;
	uint8_t *base;
	uint32_t i = 0;

	base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	while (i < count) {
		uint32_t run = 1;

		while (i + run < count && fd_of[i + run] == fd_of[i] &&
		       refs[i + run] == refs[i] + run)
			run++;
		if (mmap(base + (size_t)i * HV_PAGE_SIZE, (size_t)run * HV_PAGE_SIZE, prot,
			 MAP_SHARED | MAP_FIXED, fds[fd_of[i]], frame_offset(refs[i])) == MAP_FAILED) {
			int saved = errno;

			munmap(base, len);
			errno = saved;
			return NULL;
		}
		i += run;
	}
	return base;
}

static int remember(struct xengntdev_handle *g, void *addr, uint32_t count, uint32_t id)
{
	struct region *r = malloc(sizeof(*r));

	if (!r)
		return -1;
	r->addr = addr;
	r->count = count;
	r->id = id;
	pthread_mutex_lock(&g->lock);
	r->next = g->regions;
	g->regions = r;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static struct region *forget(struct xengntdev_handle *g, void *addr, uint32_t count)
{
	struct region *r = NULL;

	pthread_mutex_lock(&g->lock);
	for (struct region **rp = &g->regions; *rp; rp = &(*rp)->next) {
		if ((*rp)->addr == addr && (*rp)->count == count) {
			r = *rp;
			*rp = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&g->lock);
	return r;
}

/* Unmaps a region and tells xensim-hv, which sends its unmap notification. */
static int release(struct xengntdev_handle *g, uint32_t op, void *addr, uint32_t count)
{
	struct region *r = forget(g, addr, count);
	struct hv_id_req req = { .h.op = op };
	struct hv_hdr rep;
	ssize_t n;

	if (!r) {
		errno = EINVAL;
		return -1;
	}
	munmap(r->addr, (size_t)r->count * HV_PAGE_SIZE);
	req.id = r->id;
	free(r);
	pthread_mutex_lock(&g->lock);
	n = hv_call(g->sock, &req, sizeof(req), NULL, 0, &rep, sizeof(rep), NULL, 0, NULL);
	pthread_mutex_unlock(&g->lock);
	return n < 0 ? -1 : 0;
}

/* --- gnttab: mapping other domains' pages ----------------------------------- */

HV_EXPORT xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	xengnttab_handle *xgt = calloc(1, sizeof(*xgt));

	if (!xgt)
		return NULL;
	if (handle_init(xgt, HV_KIND_GNTTAB) < 0) {
		free(xgt);
		return NULL;
	}
	return xgt;
}

HV_EXPORT int xengnttab_close(xengnttab_handle *xgt)
{
	if (!xgt)
		return 0;
	handle_fini(xgt);
	free(xgt);
	return 0;
}

HV_EXPORT int xengnttab_fd(xengnttab_handle *xgt)
{
	return xgt->sock;
}

HV_EXPORT int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
	return 0;
}

static void *map_refs(xengnttab_handle *xgt, uint32_t count, const uint32_t *domids,
		      uint32_t domid_stride, const uint32_t *refs, int prot,
		      uint32_t notify_offset, evtchn_port_t notify_port)
{
	struct hv_map_req *req;
	struct hv_map_rep rep;
	int fds[HV_MAX_MAP_DOMS], nfds = 0, saved;
	uint8_t *fd_of = NULL;
	void *addr = NULL;
	ssize_t n;

	if (count == 0 || count > HV_MAX_BATCH || !(prot & PROT_READ)) {
		errno = EINVAL;
		return NULL;
	}
	req = calloc(1, sizeof(*req) + count * sizeof(req->refs[0]));
	fd_of = calloc(count, 1);
	if (!req || !fd_of)
		goto out;
	req->h.op = HV_OP_MAP;
	req->count = count;
	req->writable = (prot & PROT_WRITE) != 0;
	req->notify_offset = (int32_t)notify_offset;
	req->notify_port = (int32_t)notify_port;
	for (uint32_t i = 0; i < count; i++) {
		req->refs[i].domid = domids[i * domid_stride];
		req->refs[i].ref = refs[i];
	}
	pthread_mutex_lock(&xgt->lock);
	n = hv_call(xgt->sock, req, sizeof(*req) + count * sizeof(req->refs[0]), NULL, 0, &rep,
		    sizeof(rep), fds, HV_MAX_MAP_DOMS, &nfds);
	pthread_mutex_unlock(&xgt->lock);
	if (n < 0)
		goto out;
	if ((uint32_t)nfds != rep.ndoms) {
		errno = EPROTO;
		goto out_release;
	}
	for (uint32_t i = 0; i < count; i++)
		for (uint32_t k = 0; k < rep.ndoms; k++)
			if (rep.doms[k] == req->refs[i].domid)
				fd_of[i] = (uint8_t)k;
	addr = map_frames(count, fds, fd_of, refs, prot & (PROT_READ | PROT_WRITE));
	if (!addr)
		goto out_release;
	if (remember(xgt, addr, count, rep.id) < 0) {
		munmap(addr, (size_t)count * HV_PAGE_SIZE);
		addr = NULL;
		goto out_release;
	}
	goto out;
out_release:
	saved = errno;
	{
		struct hv_id_req unmap = { .h.op = HV_OP_UNMAP, .id = rep.id };
		struct hv_hdr urep;

		pthread_mutex_lock(&xgt->lock);
		hv_call(xgt->sock, &unmap, sizeof(unmap), NULL, 0, &urep, sizeof(urep), NULL, 0,
			NULL);
		pthread_mutex_unlock(&xgt->lock);
	}
	errno = saved;
out:
	saved = errno;
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	free(req);
	free(fd_of);
	errno = saved;
	return addr;
}

HV_EXPORT void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref,
					int prot)
{
	return map_refs(xgt, 1, &domid, 0, &ref, prot, (uint32_t)-1, (evtchn_port_t)-1);
}

HV_EXPORT void *xengnttab_map_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t *domids,
					 uint32_t *refs, int prot)
{
	return map_refs(xgt, count, domids, 1, refs, prot, (uint32_t)-1, (evtchn_port_t)-1);
}

HV_EXPORT void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count,
						uint32_t domid, uint32_t *refs, int prot)
{
	return map_refs(xgt, count, &domid, 0, refs, prot, (uint32_t)-1, (evtchn_port_t)-1);
}

HV_EXPORT void *xengnttab_map_grant_ref_notify(xengnttab_handle *xgt, uint32_t domid,
					       uint32_t ref, int prot, uint32_t notify_offset,
					       evtchn_port_t notify_port)
{
	return map_refs(xgt, 1, &domid, 0, &ref, prot, notify_offset, notify_port);
}

HV_EXPORT int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
	return release(xgt, HV_OP_UNMAP, start_address, count);
}

HV_EXPORT int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
				   xengnttab_grant_copy_segment_t *segs)
{
	errno = ENOSYS;
	return -1;
}

HV_EXPORT int xengnttab_dmabuf_exp_from_refs(xengnttab_handle *xgt, uint32_t domid,
					     uint32_t flags, uint32_t count, const uint32_t *refs,
					     uint32_t *fd)
{
	errno = ENOSYS;
	return -1;
}

HV_EXPORT int xengnttab_dmabuf_exp_wait_released(xengnttab_handle *xgt, uint32_t fd,
						 uint32_t wait_to_ms)
{
	errno = ENOSYS;
	return -1;
}

HV_EXPORT int xengnttab_dmabuf_imp_to_refs(xengnttab_handle *xgt, uint32_t domid, uint32_t fd,
					   uint32_t count, uint32_t *refs)
{
	errno = ENOSYS;
	return -1;
}

HV_EXPORT int xengnttab_dmabuf_imp_release(xengnttab_handle *xgt, uint32_t fd)
{
	errno = ENOSYS;
	return -1;
}

/* --- gntshr: sharing our pages ---------------------------------------------- */

HV_EXPORT xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	xengntshr_handle *xgs = calloc(1, sizeof(*xgs));

	if (!xgs)
		return NULL;
	if (handle_init(xgs, HV_KIND_GNTSHR) < 0) {
		free(xgs);
		return NULL;
	}
	return xgs;
}

HV_EXPORT int xengntshr_close(xengntshr_handle *xgs)
{
	if (!xgs)
		return 0;
	handle_fini(xgs);
	free(xgs);
	return 0;
}

HV_EXPORT int xengntshr_fd(xengntshr_handle *xgs)
{
	return xgs->sock;
}

static void *share(xengntshr_handle *xgs, uint32_t domid, int count, uint32_t *refs,
		   int writable, int32_t notify_offset, int32_t notify_port)
{
	struct hv_share_req req = {
		.h.op = HV_OP_SHARE,
		.domid = domid,
		.count = (uint32_t)count,
		.writable = writable != 0,
		.notify_offset = notify_offset,
		.notify_port = notify_port,
	};
	static _Thread_local _Alignas(8) uint8_t buf[sizeof(struct hv_share_rep) +
						    HV_MAX_BATCH * sizeof(uint32_t)];
	struct hv_share_rep *rep = (struct hv_share_rep *)buf;
	uint8_t *fd_of;
	void *addr = NULL;
	int fd = -1, nfds = 0, saved;
	ssize_t n;

	if (count <= 0 || (uint32_t)count > HV_MAX_BATCH) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&xgs->lock);
	n = hv_call(xgs->sock, &req, sizeof(req), NULL, 0, rep, sizeof(buf), &fd, 1, &nfds);
	pthread_mutex_unlock(&xgs->lock);
	if (n < 0)
		return NULL;
	fd_of = calloc((size_t)count, 1);
	if (nfds == 1 && rep->count == (uint32_t)count && fd_of)
		addr = map_frames(rep->count, &fd, fd_of, rep->refs, PROT_READ | PROT_WRITE);
	saved = errno;
	free(fd_of);
	if (nfds == 1)
		close(fd);
	if (!addr || remember(xgs, addr, rep->count, rep->id) < 0) {
		struct hv_id_req unshare = { .h.op = HV_OP_UNSHARE, .id = rep->id };
		struct hv_hdr urep;

		if (addr)
			munmap(addr, (size_t)count * HV_PAGE_SIZE);
		pthread_mutex_lock(&xgs->lock);
		hv_call(xgs->sock, &unshare, sizeof(unshare), NULL, 0, &urep, sizeof(urep), NULL,
			0, NULL);
		pthread_mutex_unlock(&xgs->lock);
		errno = saved ? saved : ENOMEM;
		return NULL;
	}
	memcpy(refs, rep->refs, (size_t)count * sizeof(*refs));
	return addr;
}

HV_EXPORT void *xengntshr_share_pages(xengntshr_handle *xgs, uint32_t domid, int count,
				      uint32_t *refs, int writable)
{
	return share(xgs, domid, count, refs, writable, -1, -1);
}

HV_EXPORT void *xengntshr_share_page_notify(xengntshr_handle *xgs, uint32_t domid,
					    uint32_t *ref, int writable, uint32_t notify_offset,
					    evtchn_port_t notify_port)
{
	return share(xgs, domid, 1, ref, writable, (int32_t)notify_offset, (int32_t)notify_port);
}

HV_EXPORT int xengntshr_unshare(xengntshr_handle *xgs, void *start_address, uint32_t count)
{
	return release(xgs, HV_OP_UNSHARE, start_address, count);
}
