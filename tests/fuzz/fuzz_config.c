/* fuzz_config.c - libFuzzer harness for lib/config: a decode either succeeds with a
 * non-empty array of documents and no error, or fails with at least one error line that
 * starts with the file name. A decoded config diffs empty against itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config_errors errs;
	json_t *config;
	char *diff;

	if (config_decode("/fuzz/config.yaml", (const char *)data, size, &config, &errs) == 0) {
		if (!json_is_array(config) || json_array_size(config) == 0 || errs.count != 0)
			__builtin_trap();
		diff = config_diff(config, config);
		if (!diff || diff[0] != '\0')
			__builtin_trap();
		free(diff);
		json_t *empty = json_array();
		diff = config_diff(empty, config);
		if (!diff || diff[0] != '+')
			__builtin_trap();
		free(diff);
		json_decref(empty);
		json_decref(config);
	} else {
		if (config || (errs.count == 0 && errs.dropped == 0))
			__builtin_trap();
		for (size_t i = 0; i < errs.count; i++)
			if (strncmp(errs.items[i].text, "/fuzz/config.yaml", 17) != 0 ||
			    strchr(errs.items[i].text, '\n'))
				__builtin_trap();
	}
	return 0;
}
