/* cmdline.h - parser for the kernel command line (/proc/cmdline), cairn.* arguments.
 * Pure: no I/O. Unknown cairn.* arguments and bad values are reported as problems. */
#ifndef CAIRN_CMDLINE_H
#define CAIRN_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define CMDLINE_MAX 4096
#define CMDLINE_MAX_PROBLEMS 8

enum cmdline_rootfs {
	CMDLINE_ROOTFS_AUTO,
	CMDLINE_ROOTFS_RAM,
	CMDLINE_ROOTFS_ISO,
};

struct cmdline_problem {
	const char *argument; /* the whole argument, e.g. "cairn.rootfs=disk" */
	const char *reason;   /* static text, e.g. "unknown argument" */
};

struct cmdline {
	bool debug;                   /* cairn.debug */
	enum cmdline_rootfs rootfs;   /* cairn.rootfs=ram|iso|auto */
	const char *config_url;       /* cairn.config=URL, NULL when absent */
	const char *config_inline;    /* cairn.config.inline=B64, NULL when absent */
	int vm_accel;                 /* cairn.vm.accel=auto|kvm|tcg: -1 auto (probe), 1 kvm, 0 tcg */
	size_t problem_count;         /* may exceed CMDLINE_MAX_PROBLEMS; extra ones not kept */
	struct cmdline_problem problems[CMDLINE_MAX_PROBLEMS];
	char storage[CMDLINE_MAX];    /* the arguments, unquoted, NUL separated */
};

/* Parses TEXT (need not be NUL-terminated beyond LEN); input beyond CMDLINE_MAX-1 bytes is
 * ignored. Always succeeds; see problems. */
void cmdline_parse(const char *text, size_t len, struct cmdline *out);
const char *cmdline_rootfs_name(enum cmdline_rootfs rootfs);

#endif
