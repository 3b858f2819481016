/* main.c - entry point of the Cairn PID 1 binary.
 *   /init (PID 1, no arguments)   stage 1 in the initramfs
 *   /sbin/init --stage2           stage 2: the supervisor on the real root
 *   init --host ...               the supervisor as an ordinary process (tests) */
#include "console.h"
#include "stage1.h"
#include "supervisor.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--stage2") == 0)
		return supervisor_main(SUPERVISOR_STAGE2, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "--host") == 0)
		return supervisor_main(SUPERVISOR_HOST, argc, argv);
	if (getpid() == 1)
		stage1_main();   /* does not return */
	fprintf(stderr, "usage: init --stage2 | init --host --socket PATH --services DIR[:DIR...] "
		"[--log-dir DIR] [--cgroup-root DIR]\n(without arguments only as PID 1)\n");
	return 100;
}
