/* harness.h - what the daemon-level unit tests share: a temp folder per test program,
 * files, shell commands, child processes that die with the test, free loopback ports, the
 * real PID 1 (init --host) and cairnd (cairnd-host), certificates made by certtool, and HTTPS
 * calls through curl. Every helper fails the running cmocka test with a message that names
 * what failed; none returns an error code the caller could forget to check, except where the
 * result is the point (a status, an exit code). */
#ifndef CAIRN_TEST_HARNESS_H
#define CAIRN_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* --- the temp folder ---------------------------------------------------------------------- */

/* Makes /tmp/cairn-TAG.XXXXXX (the test folder) with run/ and log/ in it. 0, or -1. */
int test_dir_make(const char *tag);
/* Removes the test folder and all it holds (set CAIRN_TEST_KEEP=1 to keep it). */
void test_dir_remove(void);
/* The test folder. */
const char *test_dir(void);
/* DIR/NAME; one of 16 rotating static buffers, so a call may take several. */
char *test_path(const char *name);

/* --- time, files, commands ------------------------------------------------------------- */

void sleep_ms(int ms);
long long now_ms(void);   /* CLOCK_MONOTONIC */
/* The whole file (malloc'd, NUL-terminated; *LEN its length when LEN), or NULL. */
char *file_text(const char *path, size_t *len);
/* Writes TEXT to PATH, or fails the test. */
void file_put(const char *path, const char *text);
/* Waits up to MS for the file PATH to contain NEEDLE. */
bool file_wait_for(const char *path, const char *needle, int ms);
/* /bin/sh -c COMMAND: its exit status (-1: it did not exit). */
int shell_status(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* The same, failing the test unless the status is 0. */
void shell(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* --- processes ---------------------------------------------------------------------------- */

/* Starts ARGV (NULL-terminated) with stdout and stderr appended to LOG (a path; NULL: the
 * test's own stderr), killed with SIGKILL if the test process dies. The pid, or fails. */
pid_t child_start(const char *const argv[], const char *log);
/* SIGTERM, up to TIMEOUT_MS for the child to exit, then SIGKILL. Its exit status, 128+signal,
 * or -1; *PID becomes 0 (nothing happens when it is 0 already). */
int child_stop(pid_t *pid, int timeout_ms);

/* --- loopback ports -------------------------------------------------------------------- */

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int port_free(void);
/* True when something accepts on 127.0.0.1:PORT. */
bool port_open(int port);
/* Waits up to MS for PORT to accept. */
bool port_wait(int port, int ms);

/* --- PID 1 and cairnd ------------------------------------------------------------------ */

/* init --host (INIT_HOST, else build/init-host) with its socket DIR/run/init.sock, the
 * definitions in DIR/SERVICES and logs in DIR/log, its stderr in DIR/init.log; waits for the
 * socket. The pid. */
pid_t init_start(const char *services);

struct cairnd {
	pid_t pid;
	int port;
	char listen[32];          /* "127.0.0.1:PORT" */
};
/* cairnd-host (CAIRND_HOST, else build/cairnd-host) listening on a free port, with --state
 * DIR/STATE, --run DIR/run, --log-dir DIR/log, --kmsg DIR/kmsg, --cmdline DIR/no-cmdline and
 * --sysfs DIR/sys, then EXTRA (NULL-terminated, may be NULL: e.g. "--no-controllers"); its
 * stderr appended to DIR/LOG. Waits for the port. */
void cairnd_start(struct cairnd *cairnd, const char *state, const char *log,
		  const char *const extra[]);
/* Stops it with SIGTERM: its exit status (0 when ASan found nothing). */
int cairnd_stop(struct cairnd *cairnd);

/* --- certificates (certtool) ---------------------------------------------------------- */

/* DIR/NAME.key and a self-signed CA DIR/NAME.pem. */
void cert_ca(const char *name);
/* DIR/NAME.key and DIR/NAME.pem signed by CA, from a certtool TEMPLATE. */
void cert_make(const char *name, const char *ca, const char *template_text);
/* A client certificate for role ORGANIZATION ("cairn:admin" ...) with the clientAuth purpose. */
void cert_client(const char *name, const char *ca, const char *organization);
/* A server certificate for 127.0.0.1. */
void cert_server(const char *name, const char *ca);
/* Appends "    KEY: |" and the PEM file DIR/FILE indented as a YAML block scalar. */
void pem_append(char *out, size_t size, const char *key, const char *file);

/* --- HTTPS calls (curl) ---------------------------------------------------------------- */

/* METHOD https://127.0.0.1:PORT/URL with curl: the HTTP status (0: no HTTP answer, such as a
 * refused handshake); the body is kept for https_body(). CLIENT: a certificate name in DIR
 * (the CA checked against DIR/ca.pem), "insecure" (no certificate, no CA check: maintenance
 * mode) or NULL (no certificate, CA checked). DATA_FILE: a body to send (a path in DIR), or
 * NULL. EXTRA: more curl words, or NULL. */
int https(int port, const char *method, const char *url, const char *client,
	  const char *data_file, const char *extra);
/* The last reply's body ("" when none) and curl's error text. */
const char *https_body(void);
const char *https_error(void);
/* The last reply's body as JSON, or fails the test. */
json_t *https_body_json(void);

#endif
