/*-------------------------------------------------------------------------
 *
 * call.c
 *	  What every upsert_guard call does around its own loop: decode the
 *	  arguments, fetch the plans, convert the values, run the rounds of the
 *	  kind's loop up to upsert_guard.max_attempts, give up with the right
 *	  SQLSTATE, and return the row (with its outcome, for the _outcome
 *	  variants).
 *
 * A kind (select_or_insert.c, upsert.c, counter.c) supplies one round: the
 * statements it runs once, returning true when it has a row.  Returning
 * false means a concurrent transaction holds the key (under READ
 * COMMITTED): the next round's statements take a new snapshot and see
 * what it committed.  Under REPEATABLE READ and SERIALIZABLE PostgreSQL
 * raises 40001 itself instead, and the error context adds the hint to
 * retry the transaction.
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

/* What the error context callback knows of the call. */
typedef struct CallState
{
	const UgCallKind *kind;
	const char *relname;
	bool		own_error;		/* give_up is raising: keep its hint */
} CallState;

/*---- GUC variables ----*/
int			ug_max_attempts = 10;

/* the innermost call running, for ug_give_up */
static CallState *current_call = NULL;

static Datum run_call(const UgCallKind *kind, const UgRequest *req, void *arg);
static void check_key_not_null(const UgTarget *target, const char *nulls);
static void check_key_exists(UgPlans *plans, Datum *values,
							 const char *nulls);
static void error_callback(void *arg);

void
ug_call_init(void)
{
	DefineCustomIntVariable("upsert_guard.max_attempts",
							"Maximum number of rounds of one call's retry loop.",
							"When concurrent transactions keep inserting or "
							"deleting the same key between a call's statements, "
							"the call gives up after this many rounds with "
							"SQLSTATE 40001.",
							&ug_max_attempts,
							10, 1, UG_MAX_ATTEMPTS_LIMIT,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/*
 * Settings fixed while we parse user SQL (an arbiter's expressions, a
 * guard's condition) and, with evaluation, while a guard's condition is
 * evaluated: the caller's search_path cannot redirect a name, nor the
 * caller's string syntax change what a literal says, nor the writer's
 * time zone, date style, locale or output formats change what a guard's
 * condition computes.  A guard means what its owner wrote, evaluated as
 * in a session with PostgreSQL's built-in defaults and the time zone UTC.
 */
static const struct
{
	const char *name;
	const char *value;
	bool		evaluation;		/* only while a guard's check runs */
}			fixed_settings[] =
{
	{"search_path", "pg_catalog, pg_temp", false},
	{"standard_conforming_strings", "on", false},
	{"TimeZone", "UTC", true},
	{"timezone_abbreviations", "Default", true},
	{"DateStyle", "ISO, MDY", true},
	{"IntervalStyle", "postgres", true},
	{"extra_float_digits", "1", true},
	{"bytea_output", "hex", true},
	{"xmlbinary", "base64", true},
	{"xmloption", "content", true},
	{"transform_null_equals", "off", true},
	{"array_nulls", "on", true},
	{"lc_monetary", "C", true},
	{"lc_numeric", "C", true},
	{"lc_time", "C", true},
	{"default_text_search_config", "pg_catalog.simple", true}
};

/*
 * Set the fixed settings above (with evaluation, all of them; else those
 * for parsing) until AtEOXact_GUC(true, level) with the level returned,
 * or the (sub)transaction's end.  A setting that already has its value is
 * left alone: setting it costs more than comparing.
 */
int
ug_fixed_parser_settings(bool evaluation)
{
	int			level = NewGUCNestLevel();
	size_t		i;

	for (i = 0; i < lengthof(fixed_settings); i++)
	{
		const char *current;

		if (fixed_settings[i].evaluation && !evaluation)
			continue;
		current = GetConfigOption(fixed_settings[i].name, false, false);
		if (current != NULL && strcmp(current, fixed_settings[i].value) == 0)
			continue;
		(void) set_config_option(fixed_settings[i].name, fixed_settings[i].value,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	return level;
}

/*
 * Run a call's body inside the guards every call needs: arguments decoded
 * (which locks the table), SPI connected, the error context pushed, a
 * fixed search_path for a named arbiter, and the plan cache pinned.  The
 * body's Datum result (a row, or nothing) is copied out of SPI's memory.
 */
Datum
ug_guarded_call(FunctionCallInfo fcinfo, const UgCallKind *kind,
				UgBody body, void *arg)
{
	UgRequest	req;
	CallState	state;
	CallState  *volatile outer = current_call;
	volatile Datum result = (Datum) 0;
	ErrorContextCallback errcb;
	volatile int guc_nest = -1;

	ug_decode_call(fcinfo, kind, &req);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	state.kind = kind;
	state.relname = req.relname;
	state.own_error = false;
	errcb.callback = error_callback;
	errcb.arg = &state;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	/*
	 * A named arbiter may have expressions and a predicate, which the
	 * statements carry as deparsed text: deparse, prepare and run them
	 * under a fixed search_path, so a hostile one cannot redirect a name.
	 */
	if (req.arbiter != NULL)
	{
		guc_nest = ug_fixed_parser_settings(false);
	}

	/* pinned from before the plans are fetched until the last one ran */
	ug_plancache_pin();
	current_call = &state;
	PG_TRY();
	{
		result = body(kind, &req, arg);
	}
	PG_FINALLY();
	{
		current_call = outer;
		ug_plancache_unpin();
	}
	PG_END_TRY();
	error_context_stack = errcb.previous;
	if (guc_nest >= 0)
		AtEOXact_GUC(true, guc_nest);

	if (result != (Datum) 0)
		result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	return result;
}

/*
 * Run a single-row call of the given kind; return the row, and in
 * *outcome what happened ("found", "inserted", "updated", "unchanged").
 */
Datum
ug_call(FunctionCallInfo fcinfo, const UgCallKind *kind, const char **outcome)
{
	return ug_guarded_call(fcinfo, kind, run_call, (void *) outcome);
}

/*
 * The same, as the record (outcome text, result anyelement) of the
 * _outcome variants.
 */
Datum
ug_call_with_outcome(FunctionCallInfo fcinfo, const UgCallKind *kind)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	const char *outcome = NULL;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	values[1] = ug_call(fcinfo, kind, &outcome);
	values[0] = CStringGetTextDatum(outcome);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
											 values, nulls));
}

/*
 * Fetch the plans, convert the values, and run the loop or give up.
 *
 * Converting a value can run user code (an input function, a domain's
 * CHECK), and so can every statement of a round (triggers, defaults,
 * policies); if that code changes the table, ug_run_plan rebuilds the
 * plans from its OID before the next statement.
 */
static Datum
run_call(const UgCallKind *kind, const UgRequest *req, void *arg)
{
	const char **outcome = (const char **) arg;
	UgPlans		plans = ug_plancache_get(req);
	Datum	   *values = palloc(sizeof(Datum) * Max(plans.target->nparams, 1));
	char	   *nulls = palloc(sizeof(char) * Max(plans.target->nparams, 1));
	Datum		row;
	int			attempt;
	UgStatCall	stat = ug_stat_call(kind->kind);

	ug_convert_values(req, plans.target, values, nulls);
	check_key_not_null(plans.target, nulls);
	if (plans.plans[UG_PLAN_CHECK] != NULL)
		check_key_exists(&plans, values, nulls);

	ug_stat_add(stat, UG_STAT_CALLS, 1);
	for (attempt = 1; attempt <= ug_max_attempts; attempt++)
	{
		CHECK_FOR_INTERRUPTS();
		if (attempt > 1)
			ug_stat_add(stat, UG_STAT_RETRIES, 1);
		if (kind->round(&plans, values, nulls, outcome, &row))
		{
			ug_stat_add(stat, ug_stat_outcome(*outcome), 1);
			return row;
		}
	}

	ug_give_up(kind, plans.target, ug_describe_key(plans.target, values, nulls));
	return (Datum) 0;			/* not reached */
}

/*
 * Execute one statement of the entry; true, the row in its first column
 * and (if flag is given) the boolean in its second, if it returned a row.
 *
 * The rows of the statement run before are freed first: only the last
 * statement's row is ever returned, and a call of many rounds must not
 * keep every round's rows until it ends.  The plans are checked first: if
 * they went stale since the last statement (code the call ran changed the
 * table), PostgreSQL would parse their text again by name, which can name
 * another table by now; the entry is rebuilt from the table's OID instead.
 */
bool
ug_run_plan(UgPlans *plans, UgPlanSlot slot, Datum *values, const char *nulls,
			Datum *row, bool *flag)
{
	bool		isnull;
	int			rc;

	Assert(slot >= 0 && slot < UG_NPLANS && plans->plans[slot] != NULL);
	if (plans->result != NULL)
	{
		SPI_freetuptable(plans->result);
		plans->result = NULL;
	}
	ug_plancache_refresh(plans);

	/* read_only = false: a new snapshot and command id per statement */
	rc = SPI_execute_plan(plans->plans[slot], values, nulls, false, 0);
	if (rc != SPI_OK_SELECT && rc != SPI_OK_INSERT_RETURNING &&
		rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "unexpected SPI result: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		SPI_freetuptable(SPI_tuptable);
		return false;
	}

	plans->result = SPI_tuptable;
	*row = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	Assert(!isnull);
	if (flag != NULL)
		*flag = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 2, &isnull));
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
		const char *name;

		if (target->keys[i].param < 0 || nulls[target->keys[i].param] != 'n')
			continue;		/* expressions: see check_key_exists */
		name = target->params[target->keys[i].param].name;
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
 * An arbiter with expressions or a predicate: new_row must fall under the
 * index (its predicate true) and its key expressions must not be null,
 * else no row can ever conflict with it.
 */
static void
check_key_exists(UgPlans *plans, Datum *values, const char *nulls)
{
	const UgTarget *target;
	Datum		covered;
	bool		null_part = false;

	if (!ug_run_plan(plans, UG_PLAN_CHECK, values, nulls, &covered, &null_part))
		elog(ERROR, "key check returned no row");
	target = plans->target;		/* as ug_run_plan left it */
	if (!DatumGetBool(covered))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("new_row is outside the predicate of partial unique index \"%s\"",
						target->index_name),
				 errdetail("The index does not cover the row, so no existing row can conflict with it: a call would insert every time."),
				 errhint("Insert such rows with a plain INSERT, or name another arbiter.")));
	if (null_part)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the key of new_row in unique index \"%s\" is null",
						target->index_name),
				 errdetail("A unique index treats null values as distinct, so a row with a null key never conflicts and every call would insert a new row.")));
}

/*
 * max_attempts rounds and no row.  Under READ COMMITTED that is churn (a
 * concurrent transaction inserting the key between our statements, or
 * deleting it again), which a retry of the transaction may get past:
 * 40001.  If row-level security hides rows from the caller, it is more
 * likely the insert meeting a row the caller may not see, which no retry
 * fixes: 42501.  Either way the call counts as exhausted in the stats.
 */
void
ug_give_up(const UgCallKind *kind, const UgTarget *target, const char *key)
{
	ug_stat_add(ug_stat_call(kind->kind), UG_STAT_EXHAUSTED, 1);
	if (current_call != NULL)
		current_call->own_error = true;

	if (check_enable_rls(target->relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("could not %s a row in table \"%s\"",
						kind->action, target->relname),
				 errdetail("Each attempt met an existing row with key %s that row-level security policies of the table keep the current user from selecting or changing.",
						   key)));

	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg_plural("could not %s a row in table \"%s\" after %d attempt",
						   "could not %s a row in table \"%s\" after %d attempts",
						   ug_max_attempts, kind->action, target->relname, ug_max_attempts),
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
	errcontext("upsert_guard.%s on table \"%s\"", state->kind->name, state->relname);
}
