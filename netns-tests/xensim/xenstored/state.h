/* SPDX-License-Identifier: MIT */
/*
 * xenstored-lite: live update, as C xenstored's: the store (every node with
 * its value and permissions, the special nodes' permissions), the quotas and
 * the introduced domains go to a file, and a new xenstored-lite started with
 * --restore FILE takes up from there. Connections, their watches and open
 * transactions do not survive: clients reconnect.
 */
#ifndef XSL_STATE_H
#define XSL_STATE_H

/* The file in DIR that `xensim xenstored restart` has the state go through. */
#define STATE_FILE "xenstored.state"

/* Writes the state to path (through a temporary file and a rename); 0 or an errno. */
int state_dump(const char *path);

/* Loads what state_dump wrote into the fresh store, and removes the file; 0 or -1 (logged). */
int state_restore(const char *path);

/* "total N" and, per domain with connections, its connections and watches: malloc'd. */
char *state_watch_stats(void);

#endif
