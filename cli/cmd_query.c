/* strand query: placeholder until its issue lands. */
#include "cli/cli.h"

int cmd_query(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_failf("query", false, false, "not implemented yet");
}
