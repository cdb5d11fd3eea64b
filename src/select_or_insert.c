/*-------------------------------------------------------------------------
 *
 * select_or_insert.c
 *	  upsert_guard.select_or_insert and select_or_insert_outcome: return the
 *	  row with a key, inserting it first if there is none, race-free.
 *
 * One round, through SPI with cached plans, no subtransaction, no UPDATE
 * (call.c runs the rounds, up to upsert_guard.max_attempts):
 *	  1. SELECT the row by its key, with the requested row lock; found: done.
 *	  2. INSERT ... ON CONFLICT (key) DO NOTHING RETURNING; a row: done.
 *	  3. Nothing: a concurrent transaction holds the key.  Under READ
 *		 COMMITTED it committed after our SELECT's snapshot (the next
 *		 round's SELECT takes a new one and sees it) or has deleted the row
 *		 again: go round.  Under REPEATABLE READ and SERIALIZABLE
 *		 PostgreSQL raises 40001 in step 2 instead, because our snapshot can
 *		 never see that row.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

PG_FUNCTION_INFO_V1(upsert_guard_select_or_insert);
PG_FUNCTION_INFO_V1(upsert_guard_select_or_insert_outcome);

static bool select_or_insert_round(UgPlans *plans, Datum *values,
								   const char *nulls, const char **outcome,
								   Datum *row);

/* (target, new_row, conflict, lock) */
static const UgCallKind select_or_insert = {
	.kind = UG_SELECT_OR_INSERT,
	.name = "select_or_insert",
	.action = "select or insert",
	.args = {.conflict = 2,.lock = 3,.update_columns = -1,.deltas = -1,.arbiter = 4},
	.round = select_or_insert_round
};

static bool
select_or_insert_round(UgPlans *plans, Datum *values, const char *nulls,
					   const char **outcome, Datum *row)
{
	if (ug_run_plan(plans, UG_PLAN_SELECT, values, nulls, row, NULL))
	{
		*outcome = "found";
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
 * select_or_insert(target anyelement, new_row jsonb,
 *					conflict text[] DEFAULT NULL, lock text DEFAULT 'key share')
 * RETURNS anyelement
 */
Datum
upsert_guard_select_or_insert(PG_FUNCTION_ARGS)
{
	const char *outcome;

	PG_RETURN_DATUM(ug_call(fcinfo, &select_or_insert, &outcome));
}

/*
 * select_or_insert_outcome(same arguments, OUT outcome text,
 *							OUT result anyelement)
 * outcome is 'inserted' or 'found'.
 */
Datum
upsert_guard_select_or_insert_outcome(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(ug_call_with_outcome(fcinfo, &select_or_insert));
}
