/* cairn-validate.c - checks Cairn config files: prints every error, or "FILE: valid".
 * Exit 0 when every file is valid, 1 when one is not, 100 on usage errors. cairnctl's
 * `validate -f` does the same through config_decode_file(). */
#include <stdio.h>
#include <string.h>

#include "config.h"

int main(int argc, char **argv)
{
	struct config_errors errs = { 0 };
	int status = 0;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: cairn-validate FILE...\n");
		return 100;
	}
	for (int i = 1; i < argc; i++) {
		json_t *config;
		if (config_decode_file(argv[i], &config, &errs) == 0) {
			printf("%s: valid\n", argv[i]);
			json_decref(config);
		} else {
			config_errors_print(stdout, &errs);
			status = 1;
		}
	}
	config_errors_free(&errs);
	return status;
}
