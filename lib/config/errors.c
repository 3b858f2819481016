/* errors.c - the error list of a decode: each error keeps its line, document, kind, path and
 * message, and the formatted line "NAME:LINE: document N (KIND): PATH: MESSAGE". At most
 * CONFIG_ERRORS_MAX are kept; the rest are counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "schema.h"

static void error_free(struct config_error *error)
{
	free(error->kind);
	free(error->path);
	free(error->message);
	free(error->text);
}

void config_errors_reset(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->count; i++)
		error_free(&errs->items[i]);
	errs->count = 0;
	errs->dropped = 0;
}

void config_errors_free(struct config_errors *errs)
{
	config_errors_reset(errs);
	free(errs->items);
	memset(errs, 0, sizeof *errs);
}

/* Replaces line breaks and control characters, so that one error is one line. */
static void one_line(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static char *format_text(const char *name, unsigned line, unsigned document, const char *kind,
			 const char *path, const char *message)
{
	char where[32] = "", doc[128] = "";
	char *text;

	if (line)
		snprintf(where, sizeof where, ":%u", line);
	if (document && kind)
		snprintf(doc, sizeof doc, " document %u (%.64s):", document, kind);
	else if (document)
		snprintf(doc, sizeof doc, " document %u:", document);
	if (asprintf(&text, "%s%s:%s%s%s%s %s", name, where, doc, path ? " " : "", path ? path : "",
		     path ? ":" : "", message) < 0)
		return NULL;
	return text;
}

void config_errors_add(struct config_errors *errs, const char *name, unsigned line,
		       unsigned document, const char *kind, const char *path, const char *message)
{
	struct config_error *error;

	if (errs->count >= CONFIG_ERRORS_MAX) {
		errs->dropped++;
		return;
	}
	if (errs->count == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 16;
		struct config_error *items = realloc(errs->items, cap * sizeof *items);
		if (!items) {
			errs->dropped++;
			return;
		}
		errs->items = items;
		errs->cap = cap;
	}
	error = &errs->items[errs->count];
	memset(error, 0, sizeof *error);
	error->line = line;
	error->document = document;
	error->kind = kind ? strdup(kind) : NULL;
	error->path = path ? strdup(path) : NULL;
	error->message = strdup(message);
	one_line(error->kind);
	one_line(error->path);
	one_line(error->message);
	error->text = format_text(name, line, document, error->kind, error->path, error->message);
	if (!error->message || !error->text || (kind && !error->kind) || (path && !error->path)) {
		error_free(error);
		errs->dropped++;
		return;
	}
	errs->count++;
}

bool config_errors_full(const struct config_errors *errs)
{
	return errs->count >= CONFIG_ERRORS_MAX;
}

void config_errors_drop(struct config_errors *errs, size_t n)
{
	errs->dropped += n;
}

/* Stable by line: errors come out in schema order and some checks run last. */
void config_errors_sort(struct config_errors *errs)
{
	for (size_t i = 1; i < errs->count; i++) {
		struct config_error moving = errs->items[i];
		size_t j = i;
		while (j > 0 && errs->items[j - 1].line > moving.line) {
			errs->items[j] = errs->items[j - 1];
			j--;
		}
		errs->items[j] = moving;
	}
}

void config_errors_print(FILE *stream, const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->count; i++)
		fprintf(stream, "%s\n", errs->items[i].text);
	if (errs->dropped)
		fprintf(stream, "... and %zu more error%s\n", errs->dropped,
			errs->dropped == 1 ? "" : "s");
}

void config_quote(char *buf, size_t size, const char *s, size_t len)
{
	const size_t shown = 64;   /* bytes; then to the end of a UTF-8 sequence */
	size_t o = 0, i;

	if (size < 16)
		return;
	buf[o++] = '"';
	for (i = 0; i < len && o + 12 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i >= shown && (c & 0xc0) != 0x80)
			break;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}
