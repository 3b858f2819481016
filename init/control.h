/* control.h - the control protocol: request parsing (pure) and verb names.
 * request: VERB [ARG]\n; response: "ok N\n" + N lines, or "error MESSAGE\n". */
#ifndef CAIRN_CONTROL_H
#define CAIRN_CONTROL_H

#include <stddef.h>

#define CONTROL_REQUEST_MAX 512        /* longest request line, without the newline */
#define CONTROL_LOG_LINES_DEFAULT 100
#define CONTROL_LOG_LINES_MAX 100000

enum control_verb {
	CONTROL_LIST,
	CONTROL_STATUS,
	CONTROL_START,
	CONTROL_STOP,
	CONTROL_RESTART,
	CONTROL_RESCAN,
	CONTROL_LOGS,
	CONTROL_REBOOT,
	CONTROL_POWEROFF,
	CONTROL_KILL,       /* SIGKILL to the service's process, as a crash: its restart policy applies */
};

struct control_request {
	enum control_verb verb;
	char name[64];          /* service name for status/start/stop/restart/logs */
	unsigned lines;         /* logs: line count */
};

/* Parses one request LINE of LEN bytes (no newline; a trailing '\r' is ignored).
 * Returns 0, or -1 with *error set to a static one-line message. */
int control_parse_request(const char *line, size_t len, struct control_request *req,
			  const char **error);
const char *control_verb_name(enum control_verb verb);

#endif
