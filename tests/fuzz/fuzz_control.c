/* fuzz_control.c - libFuzzer harness for init/control.c (request lines). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control.h"
#include "svcdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	const char *error = NULL;

	if (control_parse_request((const char *)data, size, &req, &error) == 0) {
		if (req.name[0] && !svcdef_name_valid(req.name, strlen(req.name)))
			__builtin_trap();
		if (req.lines == 0 || req.lines > CONTROL_LOG_LINES_MAX)
			__builtin_trap();
	} else if (!error || strchr(error, '\n')) {
		__builtin_trap();
	}
	return 0;
}
