/* qmp_frame.h - QMP wire framing: bytes in, complete JSON messages out, and what a message is.
 * Pure functions (no I/O, no global state), used by qmp.c and driven directly by the unit
 * tests and the libFuzzer harness.
 *
 * QEMU writes each message as one line of compact JSON ended by "\r\n", and never puts a raw
 * newline inside a message (JSON strings escape it). So a message is one line holding exactly
 * one JSON object; blank lines are skipped; anything else on a line is a protocol error. */
#ifndef CAIRN_QMP_FRAME_H
#define CAIRN_QMP_FRAME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum qmp_frame_status {
	QMP_FRAME_MESSAGE,    /* *msg holds a message; drop *consumed bytes */
	QMP_FRAME_INCOMPLETE, /* no complete line yet; drop *consumed (blank) bytes, read more */
	QMP_FRAME_INVALID,    /* not QMP: why[] says what; the stream cannot be resynchronised */
};

/* Framing state carried between calls over the same stream. */
struct qmp_frame {
	size_t max;      /* longest line accepted, newline excluded (QMP_RECV_MAX in qmp.c) */
	size_t scanned;  /* bytes at the buffer start already searched for a newline (a hint that
			  * keeps a long line arriving in small reads linear; 0 is always right) */
};

/* Looks for one message at the start of BUF (LEN bytes). Sets *consumed always and *msg (a new
 * reference to a JSON object) only for QMP_FRAME_MESSAGE; fills WHY (WHY_LEN bytes) for
 * QMP_FRAME_INVALID. */
enum qmp_frame_status qmp_frame_next(struct qmp_frame *frame, const char *buf, size_t len,
				     size_t *consumed, json_t **msg, char *why, size_t why_len);

enum qmp_message_kind {
	QMP_MESSAGE_GREETING, /* {"QMP": {...}} */
	QMP_MESSAGE_RETURN,   /* {"return": ..., "id": ...} */
	QMP_MESSAGE_ERROR,    /* {"error": {"class": s (not empty), "desc": s}, "id": ...} */
	QMP_MESSAGE_EVENT,    /* {"event": s, "data": {...}, "timestamp": {...}} */
	QMP_MESSAGE_INVALID,  /* none of these, or a member of the wrong type */
};

enum qmp_message_kind qmp_message_kind(const json_t *msg);

/* The "id" of a reply: 1 with *id set when it is a non-negative integer, 0 when there is none,
 * -1 when it is something else (never one of ours). */
int qmp_message_id(const json_t *msg, uint64_t *id);

#endif
