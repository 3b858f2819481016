/* qmp_frame.c - QMP wire framing and message classification (see qmp_frame.h). Pure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MSG_NOSIGNAL, SOCK_CLOEXEC with -std=c11 */
#endif
#include "qmp_frame.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* Parses one line (newline excluded) that must hold exactly one JSON object. */
static enum qmp_frame_status parse_line(const char *line, size_t len, json_t **msg,
					char *why, size_t why_len)
{
	json_error_t jerr;
	json_t *value = json_loadb(line, len, 0, &jerr);

	if (!value) {
		snprintf(why, why_len, "invalid JSON at byte %d of a %zu-byte message: %s",
			 jerr.position, len, jerr.text);
		return QMP_FRAME_INVALID;
	}
	if (!json_is_object(value)) {
		json_decref(value);
		snprintf(why, why_len, "message is not a JSON object");
		return QMP_FRAME_INVALID;
	}
	*msg = value;
	return QMP_FRAME_MESSAGE;
}

enum qmp_frame_status qmp_frame_next(struct qmp_frame *frame, const char *buf, size_t len,
				     size_t *consumed, json_t **msg, char *why, size_t why_len)
{
	size_t start = 0;

	*consumed = 0;
	if (frame->scanned > len)
		frame->scanned = 0;
	for (;;) {
		size_t from = start + frame->scanned;
		const char *nl = from < len ? memchr(buf + from, '\n', len - from) : NULL;

		if (!nl) {
			frame->scanned = len - start;
			*consumed = start;
			if (len - start > frame->max) {
				snprintf(why, why_len, "message longer than %zu bytes", frame->max);
				return QMP_FRAME_INVALID;
			}
			return QMP_FRAME_INCOMPLETE;
		}
		size_t line_len = (size_t)(nl - (buf + start));

		frame->scanned = 0;
		if (line_len > frame->max) {
			snprintf(why, why_len, "message longer than %zu bytes", frame->max);
			return QMP_FRAME_INVALID;
		}
		if (is_blank(buf + start, line_len)) {
			start += line_len + 1;
			continue;
		}
		*consumed = start + line_len + 1;
		return parse_line(buf + start, line_len, msg, why, why_len);
	}
}

static bool is_error_object(const json_t *error)
{
	const char *class = json_string_value(json_object_get(error, "class"));

	return json_is_object(error) && class && *class &&
	       json_is_string(json_object_get(error, "desc"));
}

static bool is_event(const json_t *msg)
{
	const json_t *data = json_object_get(msg, "data");

	return json_is_string(json_object_get(msg, "event")) && (!data || json_is_object(data));
}

enum qmp_message_kind qmp_message_kind(const json_t *msg)
{
	const json_t *value;

	if (!json_is_object(msg))
		return QMP_MESSAGE_INVALID;
	if ((value = json_object_get(msg, "QMP")))
		return json_is_object(value) ? QMP_MESSAGE_GREETING : QMP_MESSAGE_INVALID;
	if (json_object_get(msg, "return"))
		return QMP_MESSAGE_RETURN;
	if ((value = json_object_get(msg, "error")))
		return is_error_object(value) ? QMP_MESSAGE_ERROR : QMP_MESSAGE_INVALID;
	if (json_object_get(msg, "event"))
		return is_event(msg) ? QMP_MESSAGE_EVENT : QMP_MESSAGE_INVALID;
	return QMP_MESSAGE_INVALID;
}

int qmp_message_id(const json_t *msg, uint64_t *id)
{
	const json_t *value = json_object_get(msg, "id");

	if (!value)
		return 0;
	if (!json_is_integer(value) || json_integer_value(value) < 0)
		return -1;
	*id = (uint64_t)json_integer_value(value);
	return 1;
}
