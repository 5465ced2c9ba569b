/* strand verify: placeholder until its issue lands. */
#include "cli/cli.h"

int cmd_verify(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_failf("verify", false, false, "not implemented yet");
}
