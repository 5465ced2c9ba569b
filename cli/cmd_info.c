/* strand info: placeholder until its issue lands. */
#include "cli/cli.h"

int cmd_info(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_failf("info", false, false, "not implemented yet");
}
