/*
 * Umbrella header for analysis users: the plugin API (plugin.h), result
 * trees (result.h), knowledge tables (knowledge.h) and the report
 * (report.h).  Include the narrower header where one suffices.
 */
#ifndef STRAND_ANALYSIS_H
#define STRAND_ANALYSIS_H

#include "strand/knowledge.h"
#include "strand/plugin.h"
#include "strand/report.h"
#include "strand/result.h"

#endif /* STRAND_ANALYSIS_H */
