/* runcmd.h - runs a helper program (modprobe, qemu-img, ip) without a shell, with a deadline
 * and its output collected: what cairnd's controllers (and the CNI plugin cairn-ovn, which also
 * gives input and a network namespace) need from a child process. */
#ifndef CAIRN_RUNCMD_H
#define CAIRN_RUNCMD_H

/* Runs ARGV (ARGV[0] an absolute path, no shell, no PATH search) with stdin /dev/null and an
 * empty signal mask; its stdout and stderr go into *OUT when OUT (malloc()ed, at most 64 KiB
 * kept, NUL-terminated). Waits at most TIMEOUT_MS, then kills it (SIGKILL). Returns the exit
 * status, 128+signal, or -1 with errno (ETIMEDOUT when it ran past the deadline). */
int run_command(char *const argv[], char **out, int timeout_ms);

/* What run_command_with() adds: INPUT (NULL: /dev/null) written to the program's stdin, then
 * closed (written before its output is read: keep it under a pipe's 64 KiB); NETNS_FD (-1:
 * this one) a network namespace the program runs in (setns() fails: status 126 and the reason
 * in *OUT); STDOUT_ONLY: stderr is not collected (it goes to this process's stderr), for a
 * program whose stdout is parsed. */
struct run_options {
	const char *input;
	int netns_fd;
	int stdout_only;
};

/* run_command() with OPTIONS. */
int run_command_with(char *const argv[], const struct run_options *options, char **out,
		     int timeout_ms);

#endif
