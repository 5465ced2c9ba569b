/* strand replay: placeholder until its issue lands. */
#include "cli/cli.h"

int cmd_replay(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_failf("replay", false, false, "not implemented yet");
}
