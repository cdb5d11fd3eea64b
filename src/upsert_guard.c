/*-------------------------------------------------------------------------
 *
 * upsert_guard.c
 *	  Module entry point: hands off to each subsystem's initialisation.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	ug_plancache_init();
	ug_call_init();
	ug_stats_init();

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("upsert_guard");
#else
	EmitWarningsOnPlaceholders("upsert_guard");
#endif
}
