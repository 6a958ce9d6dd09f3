/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One error type for the modules below the programs (the device, tun,
 * netlink, XenStore, hooks, the loop, the control socket): one line that
 * names what failed and the values involved, ready for the log, and the
 * errno behind it (0 when there is none). The ring has its own of the same
 * shape (vchan_error), the configuration one that names file and line.
 */
#ifndef VCHAN_TUN_ERROR_H
#define VCHAN_TUN_ERROR_H

#include <stdbool.h>

#define ERROR_MSG_MAX	640

struct error {
	char msg[ERROR_MSG_MAX];
	int err;
	/*
	 * Trying again cannot mend it: the machine or the configuration must
	 * change first (no TUN/TAP driver, no CAP_NET_ADMIN, a name taken).
	 * Set by the module that knows, after error_set, which clears it.
	 */
	bool lasting;
};

/*
 * Fills *e: errno_value (0 for none) and the message, not lasting. Returns -errno_value,
 * or -1 when it is 0, for `return error_set(...)`.
 */
int error_set(struct error *e, int errno_value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Marks *e, filled by error_set, lasting, and appends " (HINT)" when the
 * message alone would not say what to do. Returns as error_set did.
 */
int error_lasting(struct error *e, const char *hint);

#endif
