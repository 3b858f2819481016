/* args.c - the pure parsers of request arguments: durations (try timeout), flags (dry_run,
 * follow, watch), line counts (tail) and service names; the byte buffer of streamed replies.
 * No I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

int duration_parse(const char *text, long long *ms)
{
	static const struct {
		const char *suffix;
		long long scale;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	unsigned long long value = 0;
	const char *p = text;

	if (!text || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		value = value * 10 + (unsigned long long)(*p - '0');
		if (value > 1000000000ULL)   /* far beyond any use; keeps the product in range */
			return -1;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(p, units[i].suffix) == 0) {
			*ms = (long long)value * units[i].scale;
			return 0;
		}
	return -1;
}

void duration_format(long long ms, char *buf, size_t size)
{
	if (ms > 0 && ms % 3600000 == 0)
		snprintf(buf, size, "%lldh", ms / 3600000);
	else if (ms > 0 && ms % 60000 == 0)
		snprintf(buf, size, "%lldm", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%llds", ms / 1000);
	else
		snprintf(buf, size, "%lldms", ms);
}

int flag_parse(const char *text, bool *out)
{
	*out = false;
	if (!text || strcmp(text, "0") == 0 || strcmp(text, "false") == 0)
		return 0;
	if (strcmp(text, "") == 0 || strcmp(text, "1") == 0 || strcmp(text, "true") == 0) {
		*out = true;
		return 0;
	}
	return -1;
}

int count_parse(const char *text, long min, long max, long default_value, long *out)
{
	char *end;
	long value;

	if (!text) {
		*out = default_value;
		return 0;
	}
	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	value = strtol(text, &end, 10);
	if (*end || errno || value < min || value > max)
		return -1;
	*out = value;
	return 0;
}

bool service_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > API_SERVICE_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") ==
	       len;
}

int buf_append(struct api_buf *buf, const void *data, size_t len)
{
	if (len > 64 * 1024 * 1024 - buf->len)
		return -1;
	if (buf->len + len + 1 > buf->cap) {
		size_t cap = buf->cap ? buf->cap : 4096;
		char *grown;

		while (cap < buf->len + len + 1)
			cap *= 2;
		grown = realloc(buf->data, cap);
		if (!grown)
			return -1;
		buf->data = grown;
		buf->cap = cap;
	}
	if (len)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 0;
}

void buf_free(struct api_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}
