/* runcmd.h - runs a helper program (modprobe, qemu-img, ip) without a shell, with a deadline
 * and its output collected: what cairnd's controllers need from a child process. */
#ifndef CAIRN_RUNCMD_H
#define CAIRN_RUNCMD_H

/* Runs ARGV (ARGV[0] an absolute path, no shell, no PATH search) with stdin /dev/null and an
 * empty signal mask; its stdout and stderr go into *OUT when OUT (malloc()ed, at most 64 KiB
 * kept, NUL-terminated). Waits at most TIMEOUT_MS, then kills it (SIGKILL). Returns the exit
 * status, 128+signal, or -1 with errno (ETIMEDOUT when it ran past the deadline). */
int run_command(char *const argv[], char **out, int timeout_ms);

#endif
