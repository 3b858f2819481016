/* common.c - small helpers the storage and volumes controllers share (storage.h, "Shared"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage.h"

char *storage_dup_or(const char *value, const char *fallback)
{
	char *copy = strdup(value ? value : fallback);

	if (!copy)
		abort();
	return copy;
}

const char *storage_said(const char *out)
{
	static char joined[1024];
	size_t n = 0;

	joined[0] = '\0';
	for (const char *read = out; read && *read;) {
		const char *end = strchr(read, '\n');
		size_t len = end ? (size_t)(end - read) : strlen(read);
		const char *line = read;
		read = end ? end + 1 : read + len;
		while (len > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			len--;
		}
		if (len == 0 || strncmp(line, "Run `", 5) == 0)
			continue;
		int w = snprintf(joined + n, sizeof joined - n, "%s%.*s", n ? "; " : "", (int)len, line);
		if (w < 0 || (size_t)w >= sizeof joined - n)
			break;
		n += (size_t)w;
	}
	return joined[0] ? joined : "no output";
}

void storage_dm_name(const char *vg, const char *lv, char *buf, size_t size)
{
	size_t n = 0;

	for (const char *part = vg; part; part = part == vg ? lv : NULL) {
		if (part == lv && n + 1 < size)
			buf[n++] = '-';
		for (const char *c = part; *c && n + 2 < size; c++) {
			buf[n++] = *c;
			if (*c == '-')
				buf[n++] = '-';
		}
	}
	buf[n] = '\0';
}
