/* strand record-win: placeholder until its issue lands. */
#include "cli/cli.h"

int cmd_record_win(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_failf("record-win", false, false, "not implemented yet");
}
