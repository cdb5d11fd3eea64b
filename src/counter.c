/*-------------------------------------------------------------------------
 *
 * counter.c
 *	  upsert_guard.increment and increment_outcome: the visit counter of
 *	  seed 003.  Insert a row with its starting values, or add deltas to
 *	  numeric columns of the existing row, with no lost increment.
 *
 * One round (call.c runs the rounds, up to upsert_guard.max_attempts):
 *	  1. UPDATE ... SET c = COALESCE(c, 0) + delta WHERE key RETURNING.  A
 *		 row: done, "updated".  The update waits for a concurrent writer
 *		 of the row and applies the delta to the version it committed, so
 *		 every increment counts.
 *	  2. No row: INSERT new_row ... ON CONFLICT (key) DO NOTHING RETURNING.
 *		 A row: done, "inserted".  None: a concurrent transaction inserted
 *		 the key after our UPDATE's snapshot: go round, and the next UPDATE
 *		 sees it.
 * Unlike INSERT ... ON CONFLICT DO UPDATE, an existing row's call does
 * not evaluate new_row's defaults (no sequence value burnt per call).
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

PG_FUNCTION_INFO_V1(upsert_guard_increment);
PG_FUNCTION_INFO_V1(upsert_guard_increment_outcome);

static bool increment_round(UgPlans *plans, Datum *values,
							const char *nulls, const char **outcome, Datum *row);

/* (target, new_row, deltas, conflict) */
static const UgCallKind increment = {
	.kind = UG_INCREMENT,
	.name = "increment",
	.action = "increment or insert",
	.args = {.conflict = 3,.lock = -1,.update_columns = -1,.deltas = 2,.arbiter = 4},
	.round = increment_round
};

static bool
increment_round(UgPlans *plans, Datum *values, const char *nulls,
				const char **outcome, Datum *row)
{
	if (ug_run_plan(plans, UG_PLAN_UPDATE, values, nulls, row, NULL))
	{
		*outcome = "updated";
		return true;
	}
	if (ug_run_plan(plans, UG_PLAN_INSERT, values, nulls, row, NULL))
	{
		*outcome = "inserted";
		return true;
	}
	return false;				/* a concurrent transaction holds the key */
}

/*
 * increment(target anyelement, new_row jsonb, deltas jsonb,
 *			 conflict text[] DEFAULT NULL)
 * RETURNS anyelement
 */
Datum
upsert_guard_increment(PG_FUNCTION_ARGS)
{
	const char *outcome;

	PG_RETURN_DATUM(ug_call(fcinfo, &increment, &outcome));
}

/* outcome is 'inserted' or 'updated'. */
Datum
upsert_guard_increment_outcome(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(ug_call_with_outcome(fcinfo, &increment));
}
