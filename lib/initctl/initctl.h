/* initctl.h - the one client of PID 1's control socket (init/control.h): one request line
 * "VERB [ARG]\n", one reply "ok N\n" and N lines, or "error MESSAGE\n". Bounded in time (a
 * deadline per request) and size (INITCTL_REPLY_MAX bytes, INITCTL_LINES_MAX lines); no global
 * state, safe from any thread. Used by cairnd's handlers, the service-definition helpers of
 * the controllers and the VM controller.
 *
 * The reply parsers are pure: initctl_parse_reply() for the framing, initctl_parse_service()
 * for one line of the `list` reply ("NAME STATE PID RESTARTS"). */
#ifndef CAIRN_INITCTL_H
#define CAIRN_INITCTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define INITCTL_TIMEOUT_MS 5000            /* initctl_request()'s deadline */
#define INITCTL_LINES_MAX 4096             /* most reply lines accepted */
#define INITCTL_REPLY_MAX (1024 * 1024)    /* longest reply accepted, bytes */
#define INITCTL_NAME_MAX 63                /* PID 1's service name limit */

/* One request REQUEST (without the newline) to the socket SOCKET_PATH, waiting at most
 * TIMEOUT_MS for the whole reply. 0: *LINES holds the reply's lines (a JSON array of strings,
 * the caller decrefs); -1: no valid reply, *ERROR names the socket and the reason, errno is
 * set (ETIMEDOUT, ECONNRESET, EPROTO, or connect()'s); -2: PID 1 replied "error MESSAGE",
 * *ERROR is MESSAGE. The caller free()s *ERROR (NULL on success). */
int initctl_request_timeout(const char *socket_path, const char *request, int timeout_ms,
			    json_t **lines, char **error);
/* The same with INITCTL_TIMEOUT_MS. */
int initctl_request(const char *socket_path, const char *request, json_t **lines, char **error);

/* Parses a reply BUF of LEN bytes. 1: complete, *LINES set; 0: incomplete; -1: malformed;
 * -2: an "error MESSAGE" reply. *ERROR is set on -1 and -2 (the caller free()s it). */
int initctl_parse_reply(const char *buf, size_t len, json_t **lines, char **error);

/* One line of the `list` reply. */
struct initctl_service {
	char name[INITCTL_NAME_MAX + 1];
	char state[16];          /* stopped, starting, running, ready, stopping, backoff, failed, ... */
	long pid;                /* 0: none ("-") */
	unsigned restarts;
};
/* Parses LINE ("NAME STATE PID RESTARTS") into *OUT. 0, or -1 when it is malformed. */
int initctl_parse_service(const char *line, struct initctl_service *out);
/* The `list` reply LINES as [{"name", "state", "pid" (null: none), "restarts"}]; NULL when a
 * line is malformed. */
json_t *initctl_services_json(const json_t *lines);

#endif
