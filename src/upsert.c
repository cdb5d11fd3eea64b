/*-------------------------------------------------------------------------
 *
 * upsert.c
 *	  upsert_guard.idempotent_upsert and idempotent_upsert_outcome: insert
 *	  a row, or bring the existing row with its key up to date, writing
 *	  nothing when it already is.
 *
 * One round (call.c runs the rounds, up to upsert_guard.max_attempts):
 *	  1. SELECT the row by its key, with whether any update column differs
 *		 from new_row (null-safe, by the type's equality operator).  No row
 *		 lock: an unchanged row costs no write, no WAL, no trigger.
 *	  2. Found and nothing differs: done, "unchanged".
 *	  3. Found and something differs: UPDATE ... WHERE key AND differs
 *		 RETURNING.  A row: done, "updated".  None: a concurrent transaction
 *		 changed the row to these values already, or deleted it: go round.
 *	  4. Not found: INSERT ... ON CONFLICT (key) DO NOTHING RETURNING.  A
 *		 row: done, "inserted".  None: a concurrent transaction holds the
 *		 key: go round.
 * Concurrent calls end as some serial order of them would: the UPDATE
 * waits for a concurrent writer of the row and re-checks its WHERE clause
 * against the committed version, so the last writer wins and a writer
 * that finds its values already there writes nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

PG_FUNCTION_INFO_V1(upsert_guard_idempotent_upsert);
PG_FUNCTION_INFO_V1(upsert_guard_idempotent_upsert_outcome);

static bool upsert_round(UgPlans *plans, Datum *values,
						 const char *nulls, const char **outcome, Datum *row);

/* (target, new_row, conflict, update_columns) */
static const UgCallKind idempotent_upsert = {
	.kind = UG_IDEMPOTENT_UPSERT,
	.name = "idempotent_upsert",
	.action = "insert or update",
	.args = {.conflict = 2,.lock = -1,.update_columns = 3,.deltas = -1,.arbiter = 4},
	.round = upsert_round
};

static bool
upsert_round(UgPlans *plans, Datum *values, const char *nulls,
			 const char **outcome, Datum *row)
{
	bool		differs;

	if (ug_run_plan(plans, UG_PLAN_SELECT, values, nulls, row, &differs))
	{
		if (!differs)
		{
			*outcome = "unchanged";
			return true;
		}
		if (ug_run_plan(plans, UG_PLAN_UPDATE, values, nulls, row, NULL))
		{
			*outcome = "updated";
			return true;
		}
		return false;			/* changed or deleted concurrently */
	}
	if (ug_run_plan(plans, UG_PLAN_INSERT, values, nulls, row, NULL))
	{
		*outcome = "inserted";
		return true;
	}
	return false;				/* a concurrent transaction holds the key */
}

/*
 * idempotent_upsert(target anyelement, new_row jsonb,
 *					 conflict text[] DEFAULT NULL,
 *					 update_columns text[] DEFAULT NULL)
 * RETURNS anyelement
 */
Datum
upsert_guard_idempotent_upsert(PG_FUNCTION_ARGS)
{
	const char *outcome;

	PG_RETURN_DATUM(ug_call(fcinfo, &idempotent_upsert, &outcome));
}

/* outcome is 'inserted', 'updated' or 'unchanged'. */
Datum
upsert_guard_idempotent_upsert_outcome(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(ug_call_with_outcome(fcinfo, &idempotent_upsert));
}
