/* fuzz_cmdline.c - libFuzzer harness for lib/cmdline/cmdline.c. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cmdline cl;

	cmdline_parse((const char *)data, size, &cl);
	for (size_t i = 0; i < cl.problem_count && i < CMDLINE_MAX_PROBLEMS; i++)
		if (strlen(cl.problems[i].argument) >= CMDLINE_MAX || !cl.problems[i].reason)
			__builtin_trap();
	if (cl.config_url && strlen(cl.config_url) >= CMDLINE_MAX)
		__builtin_trap();
	return 0;
}
