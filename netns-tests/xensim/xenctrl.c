// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stand-in libxenctrl.so.4.17: only what Xen's vchan-socket-proxy calls,
 * to learn whether its peer domain still exists.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenctrl.h>

#include "hv_client.h"

struct xc_interface_core {
	int sock;
};

HV_EXPORT xc_interface *xc_interface_open(xentoollog_logger *logger,
					  xentoollog_logger *dombuild_logger, unsigned open_flags)
{
	xc_interface *xch = calloc(1, sizeof(*xch));

	if (!xch)
		return NULL;
	xch->sock = hv_open(HV_KIND_CTRL, NULL, 0);
	if (xch->sock < 0) {
		free(xch);
		return NULL;
	}
	return xch;
}

HV_EXPORT int xc_interface_close(xc_interface *xch)
{
	if (!xch)
		return 0;
	close(xch->sock);
	free(xch);
	return 0;
}

/* As Xen 4.17's: fills info for up to max_doms existing domains from
 * first_domid on and returns how many; -1 with EPERM for unprivileged domains. */
HV_EXPORT int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
				xc_dominfo_t *info)
{
	static _Thread_local _Alignas(8) uint8_t buf[HV_MAX_MSG];
	struct hv_domain_list_rep *rep = (struct hv_domain_list_rep *)buf;
	struct hv_hdr req = { .op = HV_OP_DOMAIN_LIST };
	unsigned int n = 0;

	if (hv_call(xch->sock, &req, sizeof(req), NULL, 0, buf, sizeof(buf), NULL, 0, NULL) < 0)
		return -1;
	for (uint32_t i = 0; i < rep->count && n < max_doms; i++) {
		if (rep->domids[i] < first_domid)
			continue;
		memset(&info[n], 0, sizeof(info[n]));
		info[n].domid = rep->domids[i];
		info[n].running = 1;
		info[n].max_vcpu_id = 0;
		info[n].nr_online_vcpus = 1;
		n++;
	}
	return (int)n;
}
