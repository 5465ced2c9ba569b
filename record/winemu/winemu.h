/*
 * strand winemu: record a Windows Server 2003 SP2 x86 user-mode process in
 * emulation (Unicorn) from a scenario file.  See docs/winemu.md for what
 * the environment models and docs/scenarios.md for the scenario format.
 *
 * This is the entry point the CLI (`strand record-win`) uses; the rest of
 * record/winemu/ is private (winemu_int.h).
 */
#ifndef STRAND_RECORD_WINEMU_H
#define STRAND_RECORD_WINEMU_H

#include <stdbool.h>
#include <stdint.h>

#include "strand/strand.h"
#include "strand/record.h"

/* The entry points (struct strand_winemu_options, strand_winemu_record)
 * are public: include/strand/record.h. */

#endif
