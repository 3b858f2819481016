/* svcdef.c - parser for service definition files (see svcdef.h and README). */
#include "svcdef.h"
#include "units.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- words ---- */

void svcdef_free_words(char **words)
{
	if (!words)
		return;
	for (char **w = words; *w; w++)
		free(*w);
	free(words);
}

int svcdef_split_words(const char *text, char ***words_out, size_t *count_out, const char **reason)
{
	size_t n = 0, cap = 4, tlen = strlen(text);
	char **words = calloc(cap, sizeof *words);
	char *buf = malloc(tlen + 1);
	const char *p = text;

	if (!words || !buf)
		goto nomem;
	for (;;) {
		size_t blen = 0;
		char quote = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (*p && (quote || (*p != ' ' && *p != '\t'))) {
			if (quote == '\'' && *p == '\'') {
				quote = 0;
			} else if (quote == '"' && *p == '"') {
				quote = 0;
			} else if (!quote && (*p == '\'' || *p == '"')) {
				quote = *p;
			} else if (quote != '\'' && *p == '\\') {
				if (!p[1]) {
					*reason = "backslash at end of value";
					goto fail;
				}
				buf[blen++] = *++p;
			} else {
				buf[blen++] = *p;
			}
			p++;
		}
		if (quote) {
			*reason = quote == '\'' ? "unterminated single quote" : "unterminated double quote";
			goto fail;
		}
		if (n + 2 > cap) {
			char **grown = realloc(words, 2 * cap * sizeof *words);
			if (!grown)
				goto nomem;
			words = grown;
			cap *= 2;
		}
		words[n] = malloc(blen + 1);
		if (!words[n])
			goto nomem;
		memcpy(words[n], buf, blen);
		words[n][blen] = '\0';
		words[++n] = NULL;
	}
	free(buf);
	*words_out = words;
	if (count_out)
		*count_out = n;
	return 0;
nomem:
	*reason = "out of memory";
fail:
	free(buf);
	svcdef_free_words(words);
	return -1;
}

bool svcdef_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > SVCDEF_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '.' && c != '@' && c != '-')
			return false;
	}
	return true;
}

/* ---- errors ---- */

void svcdef_errors_reset(struct svcdef_errors *errors)
{
	errors->len = 0;
	errors->count = 0;
	if (errors->text)
		errors->text[0] = '\0';
}

void svcdef_errors_free(struct svcdef_errors *errors)
{
	free(errors->text);
	memset(errors, 0, sizeof *errors);
}

static void add_error(struct svcdef_errors *errors, const char *path, unsigned line,
		      const char *fmt, ...)
{
	char msg[512];
	int n;
	va_list ap;

	errors->count++;
	if (errors->count > SVCDEF_ERRORS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)   /* one error, one line */
		if (*c == '\n' || *c == '\r' || (unsigned char)*c < 0x20)
			*c = '?';
	n = snprintf(NULL, 0, "%s:%u: %s\n", path, line, msg);
	if (n < 0)
		return;
	if (errors->len + (size_t)n + 1 > errors->cap) {
		size_t cap = (errors->len + (size_t)n + 1) * 2;
		char *grown = realloc(errors->text, cap);
		if (!grown)
			return;
		errors->text = grown;
		errors->cap = cap;
	}
	snprintf(errors->text + errors->len, (size_t)n + 1, "%s:%u: %s\n", path, line, msg);
	errors->len += (size_t)n;
}

/* ---- keys ---- */

/* A key handler stores VALUE into DEF or returns a reason. Buffers in *msg are static. */
typedef const char *key_handler(struct svcdef *def, const char *value, char *msg, size_t msglen);

static const char *set_string(char **slot, const char *value)
{
	free(*slot);
	*slot = strdup(value);
	return *slot ? NULL : "out of memory";
}

/* A command line into *SLOT: words, the first an absolute path. WHAT names the key. */
static const char *set_command(char ***slot, const char *value, const char *what, char *msg,
			       size_t msglen)
{
	const char *reason;
	size_t n;
	char **argv;
	if (svcdef_split_words(value, &argv, &n, &reason) < 0)
		return reason;
	if (n == 0 || argv[0][0] != '/') {
		svcdef_free_words(argv);
		snprintf(msg, msglen, n == 0 ? "empty %s" : "%s must start with an absolute path", what);
		return msg;
	}
	svcdef_free_words(*slot);
	*slot = argv;
	return NULL;
}

static const char *key_command(struct svcdef *def, const char *value, char *msg, size_t msglen)
{
	return set_command(&def->argv, value, "command", msg, msglen);
}

static const char *key_stop_command(struct svcdef *def, const char *value, char *msg, size_t msglen)
{
	return set_command(&def->stop_argv, value, "stop_command", msg, msglen);
}

static const char *key_user(struct svcdef *def, const char *value, char *msg, size_t msglen)
{
	const char *p = value;
	(void)msg; (void)msglen;
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == ':' && isdigit((unsigned char)p[1]))
			for (p++; isdigit((unsigned char)*p);)
				p++;
		if (*p || p - value > 21)
			return "invalid user (expected root, a user name or UID[:GID])";
	} else {
		if (!(islower((unsigned char)*p) || *p == '_'))
			return "invalid user (expected root, a user name or UID[:GID])";
		for (; *p; p++)
			if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' ||
			      *p == '-') || p - value >= 32)
				return "invalid user (expected root, a user name or UID[:GID])";
	}
	return set_string(&def->user, value);
}

static const char *key_directory(struct svcdef *def, const char *value, char *msg, size_t msglen)
{
	(void)msg; (void)msglen;
	if (value[0] != '/')
		return "directory must be an absolute path";
	return set_string(&def->directory, value);
}

static const char *append(char ***list, size_t *count, const char *value)
{
	char **grown = realloc(*list, (*count + 2) * sizeof **list);
	if (!grown)
		return "out of memory";
	*list = grown;
	grown[*count] = strdup(value);
	if (!grown[*count])
		return "out of memory";
	grown[++*count] = NULL;
	return NULL;
}

static const char *key_env(struct svcdef *def, const char *value, char *msg, size_t msglen)
{
	const char *eq = strchr(value, '=');
	(void)msg; (void)msglen;
	if (!eq || eq == value)
		return "invalid env (expected KEY=VALUE)";
	for (const char *p = value; p < eq; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_') || isdigit((unsigned char)value[0]))
			return "invalid env (KEY must be letters, digits and _)";
	return append(&def->env, &def->env_count, value);
}

static const char *key_needs(struct svcdef *def, const char *value, char *msg, size_t msglen)
{
	const char *p = value;

	while (*p) {
		size_t n;
		char name[SVCDEF_NAME_MAX + 1];
		const char *reason;

		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (n == 0)
			break;
		if (!svcdef_name_valid(p, n)) {
			snprintf(msg, msglen, "invalid service name in needs: '%.*s'", (int)(n > 64 ? 64 : n), p);
			return msg;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (strcmp(name, def->name) == 0)
			return "a service cannot need itself";
		if ((reason = append(&def->needs, &def->needs_count, name)))
			return reason;
		p += n;
	}
	return NULL;
}

static const char *key_ready(struct svcdef *def, const char *value, char *msg, size_t msglen)
{
	const char *reason;
	(void)msg; (void)msglen;
	if (strcmp(value, "none") == 0) {
		def->ready = SVCDEF_READY_NONE;
	} else if (strcmp(value, "notify") == 0) {
		def->ready = SVCDEF_READY_NOTIFY;
	} else if (strncmp(value, "socket:", 7) == 0) {
		if (value[7] != '/' || strlen(value + 7) >= 108)
			return "invalid ready socket (expected socket:/absolute/path, under 108 bytes)";
		def->ready = SVCDEF_READY_SOCKET;
		return set_string(&def->ready_path, value + 7);
	} else if (strncmp(value, "tcp:", 4) == 0) {
		const char *colon = strrchr(value + 4, ':');
		char *end;
		unsigned long port;
		if (!colon || colon == value + 4 || colon - (value + 4) > 255)
			return "invalid ready tcp (expected tcp:HOST:PORT)";
		port = strtoul(colon + 1, &end, 10);
		if (!isdigit((unsigned char)colon[1]) || *end || port == 0 || port > 65535)
			return "invalid ready tcp port (expected 1..65535)";
		def->ready = SVCDEF_READY_TCP;
		def->ready_port = (uint16_t)port;
		free(def->ready_path);
		def->ready_path = strndup(value + 4, (size_t)(colon - (value + 4)));
		if (def->ready_path && def->ready_path[0] == '[') { /* [v6]:port */
			size_t l = strlen(def->ready_path);
			if (l < 3 || def->ready_path[l - 1] != ']')
				return "invalid ready tcp host";
			memmove(def->ready_path, def->ready_path + 1, l - 2);
			def->ready_path[l - 2] = '\0';
		}
		return def->ready_path ? NULL : "out of memory";
	} else if (strncmp(value, "exec:", 5) == 0) {
		svcdef_free_words(def->ready_argv);
		def->ready_argv = NULL;
		if (svcdef_split_words(value + 5, &def->ready_argv, NULL, &reason) < 0)
			return reason;
		if (!def->ready_argv[0] || def->ready_argv[0][0] != '/')
			return "invalid ready exec (expected exec:/absolute/path [ARGS])";
		def->ready = SVCDEF_READY_EXEC;
	} else {
		return "invalid ready (expected none, notify, socket:PATH, tcp:HOST:PORT or exec:COMMAND)";
	}
	return NULL;
}

static const char *key_restart(struct svcdef *def, const char *value, char *msg, size_t msglen)
{
	(void)msg; (void)msglen;
	for (int r = SVCDEF_RESTART_ALWAYS; r <= SVCDEF_RESTART_ONESHOT; r++)
		if (strcmp(value, svcdef_restart_name((enum svcdef_restart)r)) == 0) {
			def->restart = (enum svcdef_restart)r;
			return NULL;
		}
	return "invalid restart (expected always, on-failure, never or oneshot)";
}

#define DURATION_REASON "invalid duration (expected Nms, Ns or Nm, at most 24 h)"

static const char *key_restart_delay(struct svcdef *def, const char *value, char *m, size_t l)
{
	(void)m; (void)l;
	return units_parse_duration_ms(value, &def->restart_delay_ms) ? DURATION_REASON : NULL;
}

static const char *key_restart_delay_max(struct svcdef *def, const char *value, char *m, size_t l)
{
	(void)m; (void)l;
	return units_parse_duration_ms(value, &def->restart_delay_max_ms) ? DURATION_REASON : NULL;
}

static const char *key_stop_timeout(struct svcdef *def, const char *value, char *m, size_t l)
{
	(void)m; (void)l;
	return units_parse_duration_ms(value, &def->stop_timeout_ms) ? DURATION_REASON : NULL;
}

static const char *key_stop_signal(struct svcdef *def, const char *value, char *m, size_t l)
{
	(void)m; (void)l;
	def->stop_signal = units_signal_from_name(value);
	return def->stop_signal < 0 ? "invalid stop_signal (expected a name like TERM or a number)" : NULL;
}

static const char *key_memory_max(struct svcdef *def, const char *value, char *m, size_t l)
{
	(void)m; (void)l;
	return units_parse_size(value, &def->memory_max) ? "invalid size (expected N, NK, NM, NG or NT)" : NULL;
}

static const char *key_cpu_max(struct svcdef *def, const char *value, char *m, size_t l)
{
	(void)m; (void)l;
	return units_parse_percent(value, &def->cpu_max_percent) ? "invalid cpu_max (expected N% with N >= 1)" : NULL;
}

static const char *key_capabilities(struct svcdef *def, const char *value, char *msg, size_t msglen)
{
	const char *p = value;

	def->has_capabilities = true;
	while (*p) {
		char name[64];
		size_t n;
		int cap;

		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (n == 0)
			break;
		snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), p);
		cap = n < 63 ? units_capability_from_name(name) : -1;
		if (cap < 0) {
			snprintf(msg, msglen, "unknown capability '%s'", name);
			return msg;
		}
		def->capabilities |= 1ull << cap;
		p += n;
	}
	return NULL;
}

static const char *set_yes_no(bool *slot, const char *value, const char *what, char *msg,
			      size_t msglen)
{
	if (strcmp(value, "yes") == 0)
		*slot = true;
	else if (strcmp(value, "no") == 0)
		*slot = false;
	else {
		snprintf(msg, msglen, "invalid %s (expected yes or no)", what);
		return msg;
	}
	return NULL;
}

static const char *key_console(struct svcdef *def, const char *value, char *m, size_t l)
{
	return set_yes_no(&def->console, value, "console", m, l);
}

static const char *key_no_new_privs(struct svcdef *def, const char *value, char *m, size_t l)
{
	return set_yes_no(&def->no_new_privs, value, "no_new_privs", m, l);
}

static const struct {
	const char *key;
	key_handler *handler;
	bool repeatable;
} key_table[] = {
	{ "command", key_command, false },
	{ "user", key_user, false },
	{ "directory", key_directory, false },
	{ "env", key_env, true },
	{ "needs", key_needs, true },
	{ "ready", key_ready, false },
	{ "restart", key_restart, false },
	{ "restart_delay", key_restart_delay, false },
	{ "restart_delay_max", key_restart_delay_max, false },
	{ "stop_signal", key_stop_signal, false },
	{ "stop_timeout", key_stop_timeout, false },
	{ "memory_max", key_memory_max, false },
	{ "cpu_max", key_cpu_max, false },
	{ "capabilities", key_capabilities, false },
	{ "console", key_console, false },
	{ "stop_command", key_stop_command, false },
	{ "no_new_privs", key_no_new_privs, false },
};
#define KEY_COUNT (sizeof key_table / sizeof key_table[0])

/* ---- file ---- */

void svcdef_free(struct svcdef *def)
{
	svcdef_free_words(def->argv);
	free(def->user);
	free(def->directory);
	svcdef_free_words(def->env);
	svcdef_free_words(def->needs);
	free(def->ready_path);
	svcdef_free_words(def->ready_argv);
	svcdef_free_words(def->stop_argv);
	memset(def, 0, sizeof *def);
}

static void set_defaults(struct svcdef *def)
{
	memset(def, 0, sizeof *def);
	def->restart = SVCDEF_RESTART_ALWAYS;
	def->restart_delay_ms = 100;
	def->restart_delay_max_ms = 30000;
	def->stop_signal = 15;
	def->stop_timeout_ms = 10000;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);
	while (*s == ' ' || *s == '\t')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Parses one "key = value" line. */
static void parse_line(struct svcdef *def, char *line, const char *path, unsigned lineno,
		       unsigned *first_line, struct svcdef_errors *errors)
{
	char msg[160];
	char *eq = strchr(line, '='), *key, *value;
	const char *reason;
	size_t k;

	if (!eq) {
		add_error(errors, path, lineno, "expected 'key = value'");
		return;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	for (k = 0; k < KEY_COUNT; k++)
		if (strcmp(key, key_table[k].key) == 0)
			break;
	if (k == KEY_COUNT) {
		add_error(errors, path, lineno, "unknown key '%.64s'", key);
		return;
	}
	if (!*value) {
		add_error(errors, path, lineno, "empty value for '%s'", key);
		return;
	}
	if (first_line[k] && !key_table[k].repeatable) {
		add_error(errors, path, lineno, "duplicate key '%s' (first set on line %u)", key,
			  first_line[k]);
		return;
	}
	msg[0] = '\0';
	if ((reason = key_table[k].handler(def, value, msg, sizeof msg)))
		add_error(errors, path, lineno, "%s", reason);
	else if (!first_line[k])
		first_line[k] = lineno;   /* only a valid value counts as set */
}

int svcdef_parse(const char *path, const char *text, size_t len, struct svcdef *def,
		 struct svcdef_errors *errors)
{
	unsigned first_line[KEY_COUNT] = { 0 };
	const char *base = strrchr(path, '/');
	unsigned lineno = 0, before = errors->count;
	char *line = malloc(SVCDEF_LINE_MAX + 1);
	size_t namelen, pos = 0;

	set_defaults(def);
	base = base ? base + 1 : path;
	namelen = strlen(base);
	if (namelen < 8 || strcmp(base + namelen - 8, ".service") != 0 ||
	    !svcdef_name_valid(base, namelen - 8))
		add_error(errors, path, 0, "invalid file name (expected NAME.service, NAME of 1..63 "
			  "letters, digits, _ . @ -)");
	else
		snprintf(def->name, sizeof def->name, "%.*s", (int)(namelen - 8), base);
	if (!line) {
		add_error(errors, path, 0, "out of memory");
		goto out;
	}
	if (len > SVCDEF_FILE_MAX) {
		add_error(errors, path, 0, "file too large (over %d bytes)", SVCDEF_FILE_MAX);
		goto out;
	}
	while (pos < len) {
		size_t end = pos;
		char *content;

		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		if (end - pos > SVCDEF_LINE_MAX) {
			add_error(errors, path, lineno, "line too long (over %d bytes)", SVCDEF_LINE_MAX);
		} else if (memchr(text + pos, '\0', end - pos)) {
			add_error(errors, path, lineno, "NUL byte in line");
		} else {
			memcpy(line, text + pos, end - pos);
			line[end - pos] = '\0';
			content = trim(line);
			if (*content && *content != '#')
				parse_line(def, content, path, lineno, first_line, errors);
		}
		pos = end + 1;
	}
	if (!def->argv && errors->count == before)
		add_error(errors, path, lineno, "missing required key 'command'");
	if (def->restart_delay_ms > def->restart_delay_max_ms && errors->count == before)
		add_error(errors, path, first_line[7] ? first_line[7] : first_line[8],
			  "restart_delay is larger than restart_delay_max");
out:
	free(line);
	if (errors->count != before) {
		svcdef_free(def);
		return -1;
	}
	return 0;
}

const char *svcdef_restart_name(enum svcdef_restart restart)
{
	switch (restart) {
	case SVCDEF_RESTART_ALWAYS: return "always";
	case SVCDEF_RESTART_ON_FAILURE: return "on-failure";
	case SVCDEF_RESTART_NEVER: return "never";
	case SVCDEF_RESTART_ONESHOT: return "oneshot";
	}
	return "?";
}

const char *svcdef_ready_name(enum svcdef_ready ready)
{
	switch (ready) {
	case SVCDEF_READY_NONE: return "none";
	case SVCDEF_READY_NOTIFY: return "notify";
	case SVCDEF_READY_SOCKET: return "socket";
	case SVCDEF_READY_TCP: return "tcp";
	case SVCDEF_READY_EXEC: return "exec";
	}
	return "?";
}
