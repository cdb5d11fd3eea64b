/*-------------------------------------------------------------------------
 *
 * select_or_insert.c
 *	  upsert_guard.select_or_insert and select_or_insert_outcome: return the
 *	  row with a key, inserting it first if there is none, race-free.
 *
 * The loop, through SPI with cached plans, no subtransaction, no UPDATE:
 *	  1. SELECT the row by its key, with the requested row lock; found: done.
 *	  2. INSERT ... ON CONFLICT (key) DO NOTHING RETURNING; a row: done.
 *	  3. Nothing: a concurrent transaction holds the key.  Under READ
 *		 COMMITTED it committed after our SELECT's snapshot (the next SELECT
 *		 takes a new one and sees it) or has deleted the row again; go
 *		 round.  Under REPEATABLE READ and SERIALIZABLE PostgreSQL itself
 *		 raises 40001 in step 2 instead, because our snapshot can never see
 *		 that row; the error context adds the hint to retry.
 * The number of rounds is bounded by upsert_guard.max_attempts.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/rls.h"

PG_FUNCTION_INFO_V1(upsert_guard_select_or_insert);
PG_FUNCTION_INFO_V1(upsert_guard_select_or_insert_outcome);

typedef enum Outcome
{
	OUTCOME_FOUND,
	OUTCOME_INSERTED
} Outcome;

/* What the error context callback knows of the call. */
typedef struct CallState
{
	const char *relname;
	bool		own_error;		/* give_up is raising: keep its hint */
} CallState;

/*---- GUC variables ----*/
static int	max_attempts = 10;

static Datum select_or_insert(FunctionCallInfo fcinfo, Outcome *outcome);
static Datum find_or_insert(const UgRequest *req, CallState *state,
							Outcome *outcome);
static bool run_loop(const UgPlans *plans, Datum *values, const char *nulls,
					 Outcome *outcome, Datum *row);
static bool run_plan(SPIPlanPtr plan, Datum *values, const char *nulls,
					 int expected, Datum *row);
static void check_key_not_null(const UgTarget *target, const char *nulls);
static void give_up(const UgTarget *target, const Datum *values,
					const char *nulls);
static void error_callback(void *arg);

void
ug_select_or_insert_init(void)
{
	DefineCustomIntVariable("upsert_guard.max_attempts",
							"Maximum number of select-then-insert rounds of one call.",
							"When a concurrent transaction keeps inserting and deleting "
							"the same key, a call gives up after this many rounds with "
							"SQLSTATE 40001.",
							&max_attempts,
							10, 1, 1000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/*
 * select_or_insert(target anyelement, new_row jsonb,
 *					conflict text[] DEFAULT NULL, lock text DEFAULT 'key share')
 * RETURNS anyelement
 */
Datum
upsert_guard_select_or_insert(PG_FUNCTION_ARGS)
{
	Outcome		outcome;

	PG_RETURN_DATUM(select_or_insert(fcinfo, &outcome));
}

/*
 * select_or_insert_outcome(same arguments, OUT outcome text,
 *							OUT result anyelement)
 * outcome is 'inserted' or 'found'.
 */
Datum
upsert_guard_select_or_insert_outcome(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Outcome		outcome;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	values[1] = select_or_insert(fcinfo, &outcome);
	values[0] = CStringGetTextDatum(outcome == OUTCOME_INSERTED ? "inserted" : "found");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

static Datum
select_or_insert(FunctionCallInfo fcinfo, Outcome *outcome)
{
	UgRequest	req;
	CallState	state;
	volatile Datum row = (Datum) 0;
	ErrorContextCallback errcb;

	ug_decode_call(fcinfo, true, &req);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	state.relname = req.relname;
	state.own_error = false;
	errcb.callback = error_callback;
	errcb.arg = &state;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	/* pinned from before the plans are fetched until the last one ran */
	ug_plancache_pin();
	PG_TRY();
	{
		row = find_or_insert(&req, &state, outcome);
	}
	PG_FINALLY();
	{
		ug_plancache_unpin();
	}
	PG_END_TRY();
	error_context_stack = errcb.previous;

	row = SPI_datumTransfer(row, false, -1);
	SPI_finish();
	return row;
}

/* Fetch the plans, convert new_row, and run the loop or give up. */
static Datum
find_or_insert(const UgRequest *req, CallState *state, Outcome *outcome)
{
	UgPlans		plans = ug_plancache_get(req);
	Datum	   *values = palloc(sizeof(Datum) * Max(plans.target->nparams, 1));
	char	   *nulls = palloc(sizeof(char) * Max(plans.target->nparams, 1));
	Datum		row;

	ug_convert_values(req, plans.target, values, nulls);
	check_key_not_null(plans.target, nulls);

	if (!run_loop(&plans, values, nulls, outcome, &row))
	{
		state->own_error = true;
		give_up(plans.target, values, nulls);
	}
	return row;
}

/*
 * The retry loop.  Returns false when max_attempts rounds found no row
 * and inserted none.
 */
static bool
run_loop(const UgPlans *plans, Datum *values, const char *nulls,
		 Outcome *outcome, Datum *row)
{
	int			attempt;

	for (attempt = 1; attempt <= max_attempts; attempt++)
	{
		CHECK_FOR_INTERRUPTS();

		if (run_plan(plans->select_plan, values, nulls, SPI_OK_SELECT, row))
		{
			*outcome = OUTCOME_FOUND;
			return true;
		}
		if (run_plan(plans->insert_plan, values, nulls,
					 SPI_OK_INSERT_RETURNING, row))
		{
			*outcome = OUTCOME_INSERTED;
			return true;
		}
		/* a concurrent transaction holds the key: look again */
	}
	return false;
}

/* Execute one cached plan; true and the whole row if it returned one. */
static bool
run_plan(SPIPlanPtr plan, Datum *values, const char *nulls,
		 int expected, Datum *row)
{
	bool		isnull;
	int			rc;

	/* read_only = false: a new snapshot and command id per statement */
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	if (rc != expected)
		elog(ERROR, "unexpected SPI result: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return false;

	*row = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	Assert(!isnull);
	return true;
}

/*
 * A null key can never conflict (unique indexes treat nulls as distinct),
 * so every call would insert another row: refuse it.
 */
static void
check_key_not_null(const UgTarget *target, const char *nulls)
{
	int			i;

	for (i = 0; i < target->nkeys; i++)
	{
		const char *name = target->params[target->keys[i].param].name;

		if (nulls[target->keys[i].param] != 'n')
			continue;
		if (target->nulls_not_distinct)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("null value in conflict column \"%s\" is not supported yet",
							name),
					 errdetail("Unique index \"%s\" is NULLS NOT DISTINCT; looking up a null key is not implemented.",
							   target->index_name)));
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("conflict column \"%s\" must not be null", name),
				 errdetail("Unique index \"%s\" treats null values as distinct, so a row with a null key never conflicts and every call would insert a new row.",
						   target->index_name)));
	}
}

/*
 * max_attempts rounds and neither found nor inserted.  Under READ
 * COMMITTED that is churn (a concurrent transaction inserting the key
 * between our lookup and our insert, or deleting it again), which a retry
 * of the transaction may get past: 40001.  If row-level security hides
 * rows from the caller, it is more likely the insert meeting a row the
 * caller may not see, which no retry fixes: 42501.
 */
static void
give_up(const UgTarget *target, const Datum *values, const char *nulls)
{
	char	   *key = ug_describe_key(target, values, nulls);

	if (check_enable_rls(target->relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("could not select or insert a row in table \"%s\"",
						target->relname),
				 errdetail("Each insert met an existing row with key %s that the current user cannot select; row-level security policies of the table hide it.",
						   key)));

	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg_plural("could not select or insert a row in table \"%s\" after %d attempt",
						   "could not select or insert a row in table \"%s\" after %d attempts",
						   max_attempts, target->relname, max_attempts),
			 errdetail("In each attempt the lookup found no row with key %s in table %s, and the insert then met a row with that key written by a concurrent transaction.",
					   key, target->qualified),
			 errhint("Retry the transaction. The number of attempts is set by upsert_guard.max_attempts.")));
}

/*
 * Context for errors raised while the call prepares and runs its
 * statements.  A serialization failure gets the hint that the caller must
 * retry the transaction (a retry inside it would see the same snapshot and
 * fail again).
 */
static void
error_callback(void *arg)
{
	const CallState *state = (const CallState *) arg;

	if (geterrcode() == ERRCODE_T_R_SERIALIZATION_FAILURE && !state->own_error)
		errhint("Retry the transaction: a concurrent transaction changed a row with the same key after this transaction took its snapshot.");
	errcontext("upsert_guard.select_or_insert on table \"%s\"", state->relname);
}
