/* control.c - the control protocol request parser. */
#include "control.h"
#include "svcdef.h"

#include <string.h>

static const struct {
	const char *name;
	enum control_verb verb;
	int args; /* 0: none, 1: a service name, 2: a service name and an optional count */
} verb_table[] = {
	{ "list", CONTROL_LIST, 0 },       { "status", CONTROL_STATUS, 1 },
	{ "start", CONTROL_START, 1 },     { "stop", CONTROL_STOP, 1 },
	{ "restart", CONTROL_RESTART, 1 }, { "rescan", CONTROL_RESCAN, 0 },
	{ "logs", CONTROL_LOGS, 2 },       { "reboot", CONTROL_REBOOT, 0 },
	{ "poweroff", CONTROL_POWEROFF, 0 }, { "kill", CONTROL_KILL, 1 },
};

/* Returns the next space-separated word of [*p, end) and its length. */
static const char *next_word(const char **p, const char *end, size_t *len)
{
	const char *start;

	while (*p < end && **p == ' ')
		(*p)++;
	start = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	*len = (size_t)(*p - start);
	return start;
}

int control_parse_request(const char *line, size_t len, struct control_request *req,
			  const char **error)
{
	const char *p = line, *end, *word;
	size_t wlen, v;

	memset(req, 0, sizeof *req);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	end = line + len;
	if (len > CONTROL_REQUEST_MAX) {
		*error = "request too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
			*error = "control character in request";
			return -1;
		}
	word = next_word(&p, end, &wlen);
	if (wlen == 0) {
		*error = "empty request";
		return -1;
	}
	for (v = 0; v < sizeof verb_table / sizeof verb_table[0]; v++)
		if (strlen(verb_table[v].name) == wlen && memcmp(verb_table[v].name, word, wlen) == 0)
			break;
	if (v == sizeof verb_table / sizeof verb_table[0]) {
		*error = "unknown command (expected list, status, start, stop, restart, rescan, "
			 "logs, reboot or poweroff)";
		return -1;
	}
	req->verb = verb_table[v].verb;
	req->lines = CONTROL_LOG_LINES_DEFAULT;
	if (verb_table[v].args >= 1) {
		word = next_word(&p, end, &wlen);
		if (wlen == 0) {
			*error = "missing service name";
			return -1;
		}
		if (!svcdef_name_valid(word, wlen)) {
			*error = "invalid service name";
			return -1;
		}
		memcpy(req->name, word, wlen);
		req->name[wlen] = '\0';
	}
	if (verb_table[v].args == 2) {
		word = next_word(&p, end, &wlen);
		if (wlen > 0) {
			unsigned long n = 0;
			for (size_t i = 0; i < wlen; i++) {
				if (word[i] < '0' || word[i] > '9' || n > CONTROL_LOG_LINES_MAX) {
					*error = "invalid line count";
					return -1;
				}
				n = n * 10 + (unsigned long)(word[i] - '0');
			}
			if (n == 0 || n > CONTROL_LOG_LINES_MAX) {
				*error = "invalid line count";
				return -1;
			}
			req->lines = (unsigned)n;
		}
	}
	next_word(&p, end, &wlen);
	if (wlen > 0) {
		*error = "unexpected argument";
		return -1;
	}
	return 0;
}

const char *control_verb_name(enum control_verb verb)
{
	for (size_t v = 0; v < sizeof verb_table / sizeof verb_table[0]; v++)
		if (verb_table[v].verb == verb)
			return verb_table[v].name;
	return "?";
}
