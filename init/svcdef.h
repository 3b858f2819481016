/* svcdef.h - service definition files (NAME.service): the data model and a pure parser.
 * Errors are collected as "FILE:LINE: reason" lines; every error in a file is reported. */
#ifndef CAIRN_SVCDEF_H
#define CAIRN_SVCDEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SVCDEF_NAME_MAX 63       /* longest service name */
#define SVCDEF_LINE_MAX 4096     /* longest line in a definition file */
#define SVCDEF_FILE_MAX 65536    /* largest definition file */
#define SVCDEF_ERRORS_MAX 32     /* errors kept per file */

enum svcdef_ready {
	SVCDEF_READY_NONE,
	SVCDEF_READY_NOTIFY,   /* write "\n" to fd 3 */
	SVCDEF_READY_SOCKET,   /* a unix socket at ready_path accepts */
	SVCDEF_READY_TCP,      /* ready_host:ready_port accepts */
	SVCDEF_READY_EXEC,     /* ready_argv exits 0 */
};

enum svcdef_restart {
	SVCDEF_RESTART_ALWAYS,
	SVCDEF_RESTART_ON_FAILURE,
	SVCDEF_RESTART_NEVER,
	SVCDEF_RESTART_ONESHOT,
};

struct svcdef {
	char name[SVCDEF_NAME_MAX + 1];
	char **argv;               /* command, NULL-terminated */
	char *user;                /* NULL: root. "root", a user name, or UID[:GID] */
	char *directory;           /* NULL: "/" */
	char **env;                /* KEY=VALUE strings, NULL-terminated */
	size_t env_count;
	char **needs;              /* service names, NULL-terminated */
	size_t needs_count;
	enum svcdef_ready ready;
	char *ready_path;          /* socket: path; tcp: host */
	uint16_t ready_port;       /* tcp */
	char **ready_argv;         /* exec: command, NULL-terminated */
	enum svcdef_restart restart;
	uint32_t restart_delay_ms;
	uint32_t restart_delay_max_ms;
	char **stop_argv;          /* stop_command: run before stop_signal, NULL: none */
	int stop_signal;
	uint32_t stop_timeout_ms;
	uint64_t memory_max;       /* bytes, 0: no limit */
	uint32_t cpu_max_percent;  /* 0: no limit */
	bool has_capabilities;
	uint64_t capabilities;     /* bounding set to keep, bit per CAP_* */
	bool no_new_privs;         /* PR_SET_NO_NEW_PRIVS before exec */
	bool console;              /* copy output lines to the console */
};

struct svcdef_errors {
	char *text;                /* "FILE:LINE: reason\n" lines, NUL-terminated */
	size_t len, cap;
	unsigned count;
};

/* Parses definition TEXT of LEN bytes read from PATH; the service name is PATH's base name
 * without ".service". On success (0) DEF holds the definition; on error (-1) DEF is freed and
 * ERRORS holds one line per problem. ERRORS must be zeroed or reset by the caller. */
int svcdef_parse(const char *path, const char *text, size_t len, struct svcdef *def,
		 struct svcdef_errors *errors);
void svcdef_free(struct svcdef *def);
void svcdef_errors_reset(struct svcdef_errors *errors);
void svcdef_errors_free(struct svcdef_errors *errors);

/* Service names: 1..63 of [A-Za-z0-9_.@-], not starting with '.' or '-'. */
bool svcdef_name_valid(const char *name, size_t len);
/* Splits shell-like words ('...' and "..." quoting, backslash escapes outside single
 * quotes, no expansion) into a NULL-terminated array. -1 and *reason on error. */
int svcdef_split_words(const char *text, char ***words, size_t *count, const char **reason);
void svcdef_free_words(char **words);
const char *svcdef_restart_name(enum svcdef_restart restart);
const char *svcdef_ready_name(enum svcdef_ready ready);

#endif
