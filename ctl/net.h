/* net.h - cairnctl's side of the node API: which nodes a command talks to (the cairnconfig's
 * context and -n), the TLS credentials, and HTTPS requests with libcurl, run on every node in
 * parallel (curl multi) with retries, whole or as a stream of lines.
 *
 * A request's outcome for one node is a struct net_result; a failed one carries one line of
 * reason (connection refused, a TLS problem, "HTTP 403: ..."), which the command prints as
 * "cairnctl: NODE: REASON". */
#ifndef CAIRN_CTL_NET_H
#define CAIRN_CTL_NET_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ctl.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0-dev"
#endif
#define NET_USER_AGENT "cairnctl/" CAIRN_VERSION

#define NET_RETRIES_DEFAULT 6             /* further attempts after a refused connection (~16 s) */
#define NET_TIMEOUT_DEFAULT_MS 30000      /* one attempt of a request that is not a stream */
#define NET_BACKOFF_FIRST_MS 250          /* doubles on each retry */
#define NET_CLOSED_RETRIES 4          /* at most, after the node closed before the request */
#define NET_CLOSED_BACKOFF_FIRST_MS 100   /* doubles on each of those */
#define NET_BODY_MAX (64u * 1024 * 1024)  /* the largest reply, or line of a stream */

/* The network options every network command takes (besides the global ones). */
struct net_options {
	int retries;         /* --retries N */
	long timeout_ms;     /* --request-timeout DURATION: one attempt; streams: connecting */
	bool insecure;       /* apply-config --insecure: maintenance mode */
};

#define NET_OPT_RETRIES 1100
#define NET_OPT_REQUEST_TIMEOUT 1101
#define NET_LONG_OPTIONS \
	{ "retries", required_argument, NULL, NET_OPT_RETRIES }, \
	{ "request-timeout", required_argument, NULL, NET_OPT_REQUEST_TIMEOUT }

/* The defaults. */
void net_options_init(struct net_options *options);
/* Handles NET_OPT_* codes; anything else goes to ctl_global_option(). Same returns. */
int net_option(struct ctl_globals *globals, struct net_options *options, int c,
	       const char *arg, char **argv);
/* Parses argv for a command that takes only the global and network options. Same returns;
 * an unexpected argument is a usage error. */
int net_parse_plain(struct ctl_globals *globals, struct net_options *options, int argc,
		    char **argv);
/* "90s", "5m", "1h", "500ms", or a plain number of seconds, into milliseconds, at most
 * NET_DURATION_MAX_MS. -1: invalid. */
#define NET_DURATION_MAX_MS (24L * 3600 * 1000)
long net_parse_duration(const char *text);

/* One node a command talks to. */
struct net_node {
	char *name;   /* as shown: the cairnconfig's node name, or the address given */
	char *url;    /* "https://HOST:PORT", no trailing slash */
};

/* The nodes and credentials of one command. */
struct net_target {
	const char *command;      /* for error lines */
	struct net_node *nodes;
	size_t count;
	bool insecure;
	int ca_fd, cert_fd, key_fd;          /* memfds holding the PEMs; -1 when unused */
	char ca_path[32], cert_path[32], key_path[32];   /* "/proc/self/fd/N" */
};

/* Resolves the nodes (-n, else the context's first endpoint) and loads the credentials of
 * the cairnconfig's current context. With OPTIONS->insecure, the cairnconfig is optional
 * (only -n names are looked up in it) and -n is required. 0, or an exit code after printing
 * why. */
int net_target_open(struct net_target *target, struct ctl_globals *globals,
		    const struct net_options *options, const char *command);
void net_target_close(struct net_target *target);

/* The outcome of a request on one node. */
struct net_result {
	long status;       /* the HTTP status; 0 when no reply came */
	char *body;        /* the reply (NUL-terminated); for a stream, only an error reply */
	size_t len;
	json_t *json;      /* the body parsed as JSON, when it is */
	char *error;       /* NULL on success (2xx); else one line of reason */
	json_t *details;   /* an error reply's "details" (strings), or NULL */
	bool reported;     /* the failure was printed already (a stream's, as it happened) */
};

/* Called with each complete line of a 2xx streamed reply from TARGET's node number NODE
 * (the line without its '\n', NUL-terminated). */
struct net_target;
typedef void net_line_fn(void *context, const struct net_target *target, size_t node,
			 const char *line, size_t len);

struct net_request {
	const char *method;       /* "GET" or "POST" */
	const char *path;         /* "/v1/...", with its query */
	const char *body;         /* POST body, or NULL */
	size_t body_len;
	const char *content_type; /* the body's; NULL: "application/yaml" */
	net_line_fn *on_line;     /* non-NULL: a stream; lines go there as they arrive */
	void *context;
};

/* Runs REQUEST on every node of TARGET at once; RESULTS has TARGET->count entries. Refused
 * connections are retried with exponential backoff, and so are connections the node closed
 * before any byte of the request was written (at most NET_CLOSED_RETRIES times, announced on
 * stderr), and time-outs too when nothing was sent yet or the request is a GET; 4xx and 5xx
 * replies are not retried, nor a request whose bytes went out, nor a stream that has
 * delivered lines. A stream's failure is reported at once (the others may go on for ever).
 * Returns the number of nodes that failed. */
size_t net_run(struct net_target *target, const struct net_options *options,
	       const struct net_request *request, struct net_result *results);
void net_results_free(struct net_result *results, size_t count);

/* What every request to a node shares, set on EASY: URL, https only, no proxy, no signals,
 * the user agent, ERRBUF (CURL_ERROR_SIZE) for curl's messages, TLS 1.3, and the target's
 * CA and client certificate (or, for an insecure target, no checks); connecting may take
 * CONNECT_TIMEOUT_MS (at most 10 s). 0, or -1 when out of memory. Used by net_run() and by
 * the console's connect-only transfer (console.c). */
int net_easy_setup(CURL *easy, const struct net_target *target, const char *url,
		   long connect_timeout_ms, char *errbuf);
/* One line of reason (malloc()ed) for a transfer on EASY that ended with CODE after
 * ATTEMPTS attempts of TIMEOUT_MS each ("cannot connect: ...", "TLS: ..."). */
char *net_transport_reason(CURL *easy, CURLcode code, const char *errbuf, long timeout_ms,
			   int attempts);

/* Prints "cairnctl: NODE: ERROR[: DETAIL; DETAIL...]" for every failed result not reported
 * yet. Returns CTL_EXIT_FAIL when any failed, else CTL_EXIT_OK. */
int net_report_failures(const struct net_target *target, struct net_result *results);

/* Prints what the nodes said (stdout); may turn a failure into printed lines and clear
 * its details. Called once, even when every node failed. */
typedef void net_render_fn(struct ctl_globals *globals, const struct net_target *target,
			   struct net_result *results, void *context);

/* The whole of a network command after its options: opens the target, runs REQUEST, calls
 * RENDER (may be NULL for streams), reports the failures. Returns the exit code. */
int net_command(struct ctl_globals *globals, const struct net_options *options,
		const char *command, const struct net_request *request, net_render_fn *render,
		void *context);

#endif
