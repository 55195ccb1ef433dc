// SPDX-License-Identifier: Apache-2.0
#include "cli.h"
int cmd_lint(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_error("lint: not yet written");
}
