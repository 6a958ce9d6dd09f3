// SPDX-License-Identifier: MIT
/*
 * xenstored-lite: live update (see state.h).
 *
 * The file is text but for the values, which go as counted bytes:
 *
 *   xenstored-lite-state 1
 *   quota NODES WATCHES TRANSACTIONS ENTRY_SIZE
 *   special @introduceDomain PERM...
 *   special @releaseDomain PERM...
 *   domain DOMID                      one per introduced domain but 0
 *   node PATH LEN PERM...             parents before children, in creation order,
 *   VALUE (LEN bytes) and a newline   so that DIRECTORY lists them as before
 *   end
 *
 * PERM is a permission as the wire has it ("n0", "r5"); paths have no blanks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

#include "domain.h"
#include "state.h"
#include "store.h"
#include "util.h"

#define STATE_MAGIC "xenstored-lite-state 1"

/* --- dumping ----------------------------------------------------------------- */

static void put_perms(FILE *f, const struct node_perms *perms)
{
	unsigned int len, off;
	char *wire = perms_format(perms, &len);

	for (off = 0; off < len; off += (unsigned int)strlen(wire + off) + 1)
		fprintf(f, " %s", wire + off);
	fputc('\n', f);
	free(wire);
}

static void put_node(const struct node *n, const char *path, void *arg)
{
	FILE *f = arg;

	fprintf(f, "node %s %u", path, n->len);
	put_perms(f, &n->perms);
	if (n->len)
		fwrite(n->value, 1, n->len, f);
	fputc('\n', f);
}

int state_dump(const char *path)
{
	char *tmp = xasprintf("%s.tmp", path);
	const struct domain *d;
	int err = 0;
	FILE *f = fopen(tmp, "we");

	if (!f) {
		err = errno;
		goto out;
	}
	fprintf(f, "%s\nquota %u %u %u %u\n", STATE_MAGIC, cfg.quota_nodes, cfg.quota_watches,
		cfg.quota_transactions, cfg.quota_entry_size);
	fprintf(f, "special @introduceDomain");
	put_perms(f, special_perms("@introduceDomain"));
	fprintf(f, "special @releaseDomain");
	put_perms(f, special_perms("@releaseDomain"));
	for (d = domain_first(); d; d = d->next)
		if (d->domid)
			fprintf(f, "domain %u\n", d->domid);
	tree_visit(store_main->root, "/", put_node, f);
	fprintf(f, "end\n");
	if (fflush(f) || fsync(fileno(f)))
		err = errno;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err)
		unlink(tmp);
out:
	free(tmp);
	return err;
}

/* --- restoring ----------------------------------------------------------------- */

struct reader {
	FILE *f;
	const char *path;
	unsigned int line;
	char *buf;
	size_t cap;
};

static int bad(const struct reader *r, const char *what)
{
	log_msg("%s:%u: %s", r->path, r->line, what);
	return -1;
}

/* The next line without its newline, in r->buf; NULL at the end. */
static char *next_line(struct reader *r)
{
	ssize_t n = getline(&r->buf, &r->cap, r->f);

	if (n <= 0)
		return NULL;
	r->line++;
	if (r->buf[n - 1] == '\n')
		r->buf[n - 1] = '\0';
	return r->buf;
}

/* Blank-separated wire permissions, NUL-separated in place for perms_parse(). */
static int get_perms(const struct reader *r, char *s, struct node_perms *out)
{
	unsigned int num = 0;
	char *p;

	if (!s || !*s)
		return bad(r, "no permissions");
	for (p = s; *p; p++) {
		if (*p != ' ')
			continue;
		*p = '\0';
		num++;
	}
	if (perms_parse(s, num + 1, out))
		return bad(r, "bad permissions");
	return 0;
}

static int get_uint(const struct reader *r, const char *s, unsigned long max, unsigned int *out)
{
	unsigned long v;

	if (!s || !parse_uint(s, max, &v))
		return bad(r, "bad number");
	*out = (unsigned int)v;
	return 0;
}

static int get_special(struct reader *r, char *args)
{
	char *name = strsep(&args, " ");
	struct node_perms *sp = special_perms(name), perms;

	if (!sp)
		return bad(r, "unknown special node");
	if (get_perms(r, args, &perms))
		return -1;
	perms_free(sp);
	*sp = perms;
	return 0;
}

static int get_quota(struct reader *r, char *args)
{
	unsigned int *q[] = { &cfg.quota_nodes, &cfg.quota_watches, &cfg.quota_transactions,
			      &cfg.quota_entry_size };

	for (size_t i = 0; i < ARRAY_SIZE(q); i++)
		if (get_uint(r, strsep(&args, " "), 1u << 24, q[i]))
			return -1;
	return 0;
}

static int get_node(struct reader *r, char *args)
{
	char *path = strsep(&args, " ");
	char *len_s = strsep(&args, " ");
	struct node_perms perms;
	unsigned int len;
	struct node *n;
	char *value;

	if (!path || path[0] != '/')
		return bad(r, "bad node path");
	if (get_uint(r, len_s, XENSTORE_PAYLOAD_MAX, &len) || get_perms(r, args, &perms))
		return -1;
	value = xmalloc(len + 1);
	if (fread(value, 1, len + 1, r->f) != len + 1 || value[len] != '\n') {
		free(value);
		perms_free(&perms);
		return bad(r, "value cut short");
	}
	r->line++;
	n = tree_find(store_main, path);
	if (!n)
		n = tree_create(store_main, path, -1);
	node_set_value(store_main, n, value, len);
	node_set_perms(store_main, n, &perms);
	perms_free(&perms);
	free(value);
	return 0;
}

static int get_domain(struct reader *r, char *args)
{
	unsigned int domid;

	if (get_uint(r, args, XSL_DOMID_FIRST_RESERVED - 1, &domid))
		return -1;
	return domain_introduce(domid) ? bad(r, "cannot introduce the domain again") : 0;
}

static int get_record(struct reader *r, char *line)
{
	char *kind = strsep(&line, " ");

	if (!strcmp(kind, "node"))
		return get_node(r, line);
	if (!strcmp(kind, "domain"))
		return get_domain(r, line);
	if (!strcmp(kind, "special"))
		return get_special(r, line);
	if (!strcmp(kind, "quota"))
		return get_quota(r, line);
	return bad(r, "unknown record");
}

int state_restore(const char *path)
{
	struct reader r = { .path = path };
	char *line;
	int ret = -1;

	r.f = fopen(path, "re");
	if (!r.f) {
		log_msg("cannot restore from %s: %s", path, strerror(errno));
		return -1;
	}
	line = next_line(&r);
	if (!line || strcmp(line, STATE_MAGIC)) {
		bad(&r, "not a xenstored-lite state file");
		goto out;
	}
	while ((line = next_line(&r))) {
		if (!strcmp(line, "end")) {
			ret = 0;
			break;
		}
		if (get_record(&r, line))
			goto out;
	}
	if (ret)
		bad(&r, "no end: the file is cut short");
out:
	free(r.buf);
	fclose(r.f);
	if (!ret) {
		unlink(path);
		log_msg("restored the store from %s", path);
	}
	return ret;
}

/* --- statistics ------------------------------------------------------------------- */

char *state_watch_stats(void)
{
	unsigned int conns = 0, watches = 0;
	const struct domain *d;
	char *out = xstrdup(""), *more;

	for (d = domain_first(); d; d = d->next) {
		conns += d->nconns;
		watches += d->nwatches;
		if (!d->nconns)
			continue;
		more = xasprintf("%sdomain %u connections %u watches %u\n", out, d->domid,
				 d->nconns, d->nwatches);
		free(out);
		out = more;
	}
	more = xasprintf("%stotal connections %u watches %u\n", out, conns, watches);
	free(out);
	return more;
}
