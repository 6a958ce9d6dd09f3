// SPDX-License-Identifier: GPL-2.0-only
/*
 * Link configuration from files and directories: see config.h and
 * vchan-tun.conf(5).
 *
 * A file is read whole (at most CONFIG_FILE_MAX bytes) and cut into lines;
 * each "Key = Value" goes to config_set_key(), as an option does, and the
 * file's checks that involve more than one key to config_finish(). A
 * directory is its *.conf files in name order, each a link, and the checks
 * between links: no two may share an interface or a local address, nor a
 * XenStore path where they would meet (for the same peer, or two servers).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config-internal.h"

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
	char q[TEXT_MAX];

	if (*end != ']')
		return where_fail(err, where, "malformed section header %s: expected [Link]",
				  quoted(s, q));
	while (name < end && is_blank(*name))
		name++;
	while (end > name && is_blank(end[-1]))
		end--;
	if (end - name != 4 || strncasecmp(name, "Link", 4))
		return where_fail(err, where, "unknown section %s: expected [Link]", quoted(s, q));
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
	char *s, *eq, *key, q[TEXT_MAX];

	line[strcspn(line, "#;")] = '\0';
	s = trim(line);
	if (!*s)
		return 0;
	if (*s == '[')
		return parse_section(s, where, section_line, err);
	eq = strchr(s, '=');
	if (!eq || eq == s)
		return where_fail(err, where,
				  "expected 'Key = Value', '[Link]' or a comment, found %s",
				  quoted(s, q));
	*eq = '\0';
	key = trim(s);
	if (!*section_line)
		return where_fail(err, where, "key %s before the [Link] section", quoted(key, q));
	return config_set_key(cfg, key, trim(eq + 1), where, err);
}

int link_name_from_path(struct link_config *cfg, const char *path, bool conf,
			struct config_error *err)
{
	const struct config_origin where = { path, 0 };
	const char *base = strrchr(path, '/');
	char name[CONFIG_SOURCE_MAX], q[TEXT_MAX];
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (conf && len > 5 && !strcmp(base + len - 5, ".conf"))
		len -= 5;
	snprintf(name, sizeof(name), "%.*s", (int)len, base);
	if (!valid_link_name(name))
		return where_fail(err, &where, "link name %s%s: " LINK_NAME_EXPECTED,
				  quoted(name, q), conf ? " (the file name without .conf)" : "");
	memcpy(cfg->name, name, len + 1);
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
	if (link_name_from_path(out, path, true, err))
		return -1;
	if (len > CONFIG_FILE_MAX)
		return where_fail(err, &where, "larger than %u bytes", CONFIG_FILE_MAX);
	/* A UTF-8 byte-order mark, which some editors write, is not part of the first line. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		p += 3;

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

static int check_interface_clash(const struct link_config *a, const struct link_config *b,
				 struct config_error *err)
{
	struct config_origin o = key_origin(b, b->key_line[CONFIG_KEY_INTERFACE]);
	char what[TEXT_MAX], other[MSG_MAX];

	if (strcmp(a->ifname, b->ifname))
		return 0;
	if (b->keys_set & 1u << CONFIG_KEY_INTERFACE)
		key_value(&o, CONFIG_KEY_INTERFACE, b->ifname, what);
	else
		snprintf(what, sizeof(what), "default interface name '%s'", b->ifname);
	return where_fail(err, &o, "%s: already used by %s", what,
			  other_link(a, a->key_line[CONFIG_KEY_INTERFACE], other));
}

/*
 * Like an interface, a local address is one link's: the same one on two
 * devices is most likely a file copied and not edited, and which of them
 * answers for it would be the kernel's choice.
 */
static int check_address_clash(const struct link_config *a, const struct link_config *b,
			       struct config_error *err)
{
	char other[MSG_MAX];

	for (size_t i = 0; i < b->n_addrs; i++) {
		struct config_origin o = key_origin(b, b->addrs[i].line);

		for (size_t j = 0; j < a->n_addrs; j++)
			if (config_same_addr(&a->addrs[j], &b->addrs[i]))
				return key_fail(err, &o, CONFIG_KEY_ADDRESS, b->addrs[i].text,
						"already used by %s",
						other_link(a, a->addrs[j].line, other));
	}
	return 0;
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
	char other[MSG_MAX];

	if (!a->xs_path[0] || strcmp(a->xs_path, b->xs_path) || !(servers || same_peer(a, b)))
		return 0;
	return key_fail(err, &o, CONFIG_KEY_XENSTORE_PATH, b->xs_path, "already used by %s, %s",
			other_link(a, a->key_line[CONFIG_KEY_XENSTORE_PATH], other),
			servers ? "also a server" : "for the same peer");
}

int config_link_clash(const struct link_config *a, const struct link_config *b,
		      struct config_error *err)
{
	return check_interface_clash(a, b, err) || check_address_clash(a, b, err) ||
	       check_path_clash(a, b, err) ? -1 : 0;
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
			if (config_link_clash(&list[j], &list[i], err))
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
