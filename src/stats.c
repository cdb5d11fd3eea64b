/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Race counters a DBA can query: per call kind, how many calls ran, what
 *	  they found or wrote, how often they went round their loop again
 *	  (retries) or gave up (exhausted); per guard check, how often it waited
 *	  for a key's lock and how often it refused a row.
 *
 * Two scopes:
 *	  backend	this backend's counters since it started (or reset_stats):
 *				plain process-local integers, always there, no setup
 *	  cluster	every backend's, since the server started (or reset_stats):
 *				atomic counters in shared memory, there only when the
 *				library is in shared_preload_libraries (shared memory can
 *				only be reserved at server start)
 *
 * Counters are not transactional, like PostgreSQL's own statistics: a call
 * whose transaction rolls back still counts.  A call counts in "calls"
 * once its loop starts (its arguments were accepted); it then ends found,
 * inserted, updated or unchanged, exhausted, or with an error of its own
 * statements (a constraint, a 40001 under REPEATABLE READ), which no other
 * counter records.  A batch counts one call and one outcome per row.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(upsert_guard_backend_stats);
PG_FUNCTION_INFO_V1(upsert_guard_cluster_stats);
PG_FUNCTION_INFO_V1(upsert_guard_reset_stats);

/* The rows of the stats functions, in this order. */
static const char *const call_names[UG_STAT_NCALLS] = {
	[UG_STAT_SELECT_OR_INSERT] = "select_or_insert",
	[UG_STAT_IDEMPOTENT_UPSERT] = "idempotent_upsert",
	[UG_STAT_INCREMENT] = "increment",
	[UG_STAT_BATCH] = "idempotent_upsert_batch",
	[UG_STAT_GUARD] = "guard"
};

typedef struct SharedStats
{
	pg_atomic_uint64 counts[UG_STAT_NCALLS][UG_STAT_NCOUNTERS];
} SharedStats;

static uint64 backend_counts[UG_STAT_NCALLS][UG_STAT_NCOUNTERS];
static SharedStats *shared = NULL;	/* NULL: not preloaded */

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void stats_shmem_request(void);
static void stats_shmem_startup(void);
static Datum stats_result(FunctionCallInfo fcinfo, bool cluster);

/*
 * Reserve the shared counters when loaded by shared_preload_libraries;
 * loaded later, only the backend's counters exist.
 */
void
ug_stats_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = stats_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = stats_shmem_startup;
}

static void
stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(SharedStats)));
}

static void
stats_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("upsert_guard stats", sizeof(SharedStats), &found);
	if (!found)
	{
		int			c,
					k;

		for (c = 0; c < UG_STAT_NCALLS; c++)
			for (k = 0; k < UG_STAT_NCOUNTERS; k++)
				pg_atomic_init_u64(&shared->counts[c][k], 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Add n to one counter, in this backend and, if preloaded, the cluster. */
void
ug_stat_add(UgStatCall call, UgStatCounter counter, uint64 n)
{
	backend_counts[call][counter] += n;
	if (shared != NULL)
		pg_atomic_fetch_add_u64(&shared->counts[call][counter], n);
}

/* The stats row of a call kind. */
UgStatCall
ug_stat_call(UgKind kind)
{
	switch (kind)
	{
		case UG_SELECT_OR_INSERT:
			return UG_STAT_SELECT_OR_INSERT;
		case UG_IDEMPOTENT_UPSERT:
			return UG_STAT_IDEMPOTENT_UPSERT;
		case UG_INCREMENT:
			return UG_STAT_INCREMENT;
		case UG_UPSERT_ROWS:
		case UG_UPSERT_FROM:
			return UG_STAT_BATCH;
	}
	elog(ERROR, "unknown call kind %d", (int) kind);
	return UG_STAT_SELECT_OR_INSERT;	/* keep compiler quiet */
}

/* The counter of an outcome: "found", "inserted", "updated", "unchanged". */
UgStatCounter
ug_stat_outcome(const char *outcome)
{
	switch (outcome[0])
	{
		case 'f':
			return UG_STAT_FOUND;
		case 'i':
			return UG_STAT_INSERTED;
		case 'u':
			return outcome[2] == 'd' ? UG_STAT_UPDATED : UG_STAT_UNCHANGED;
	}
	elog(ERROR, "unknown outcome \"%s\"", outcome);
	return UG_STAT_FOUND;		/* keep compiler quiet */
}

/* upsert_guard.backend_stats(): this backend's counters. */
Datum
upsert_guard_backend_stats(PG_FUNCTION_ARGS)
{
	return stats_result(fcinfo, false);
}

/*
 * upsert_guard.cluster_stats(missing_ok boolean DEFAULT false): every
 * backend's.  Without shared_preload_libraries there are none: an error,
 * or no rows with missing_ok.
 */
Datum
upsert_guard_cluster_stats(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("missing_ok must not be null")));
	if (shared == NULL && !PG_GETARG_BOOL(0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cluster-wide upsert_guard statistics are not being collected"),
				 errdetail("The counters live in shared memory, which upsert_guard can only reserve when the server loads it at start."),
				 errhint("Add upsert_guard to shared_preload_libraries and restart the server; upsert_guard.backend_stats() shows this session's counters meanwhile.")));
	return stats_result(fcinfo, true);
}

/* One row per call kind: the counters of the scope asked for. */
static Datum
stats_result(FunctionCallInfo fcinfo, bool cluster)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			c,
				k;

	InitMaterializedSRF(fcinfo, 0);
	if (cluster && shared == NULL)
		return (Datum) 0;

	for (c = 0; c < UG_STAT_NCALLS; c++)
	{
		Datum		values[1 + UG_STAT_NCOUNTERS];
		bool		nulls[1 + UG_STAT_NCOUNTERS] = {0};

		values[0] = CStringGetTextDatum(call_names[c]);
		for (k = 0; k < UG_STAT_NCOUNTERS; k++)
		{
			uint64		n = cluster ?
				pg_atomic_read_u64(&shared->counts[c][k]) : backend_counts[c][k];

			values[1 + k] = Int64GetDatum((int64) n);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * upsert_guard.reset_stats(): zero this backend's counters and, if
 * preloaded, the cluster's.  Not granted to PUBLIC (the install script
 * revokes it): one role's reset would wipe every DBA's view.
 */
Datum
upsert_guard_reset_stats(PG_FUNCTION_ARGS)
{
	int			c,
				k;

	memset(backend_counts, 0, sizeof(backend_counts));
	if (shared != NULL)
		for (c = 0; c < UG_STAT_NCALLS; c++)
			for (k = 0; k < UG_STAT_NCOUNTERS; k++)
				pg_atomic_write_u64(&shared->counts[c][k], 0);
	PG_RETURN_VOID();
}
