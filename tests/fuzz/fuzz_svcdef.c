/* fuzz_svcdef.c - libFuzzer harness for init/svcdef.c: a parse either succeeds with a
 * consistent definition or fails with at least one "FILE:LINE: reason" line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "svcdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct svcdef_errors errors;
	struct svcdef def;

	svcdef_errors_reset(&errors);
	if (svcdef_parse("/fuzz/x.service", (const char *)data, size, &def, &errors) == 0) {
		if (!def.argv || !def.argv[0] || def.argv[0][0] != '/' || errors.count != 0)
			__builtin_trap();
		for (size_t i = 0; i < def.needs_count; i++)
			if (!svcdef_name_valid(def.needs[i], strlen(def.needs[i])))
				__builtin_trap();
		svcdef_free(&def);
	} else {
		if (errors.count == 0 || !errors.text || strncmp(errors.text, "/fuzz/x.service:", 16) != 0)
			__builtin_trap();
	}
	return 0;
}
