/* strand record: placeholder until its issue lands. */
#include "cli/cli.h"

int cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_failf("record", false, false, "not implemented yet");
}
