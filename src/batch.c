/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  upsert_guard.idempotent_upsert_batch (rows as a jsonb array) and
 *	  idempotent_upsert_from (rows from a relation, such as a staging table
 *	  filled by COPY), with their _outcomes variants: idempotent_upsert for
 *	  a whole feed in one call.
 *
 * Rules: a key given more than once keeps its last row (the others are
 * counted as duplicates); rows are locked and inserted in key order, so
 * overlapping batches in different orders wait for each other instead of
 * deadlocking; unchanged rows are not written.
 *
 * One statement per round (sqlgen.c, ug_sql_batch) classifies, locks,
 * updates and inserts the whole batch; the rows whose outcome it leaves
 * open met a concurrent transaction, and the next round runs for them
 * alone, up to upsert_guard.max_attempts rounds.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(upsert_guard_idempotent_upsert_batch);
PG_FUNCTION_INFO_V1(upsert_guard_idempotent_upsert_batch_outcomes);
PG_FUNCTION_INFO_V1(upsert_guard_idempotent_upsert_from);
PG_FUNCTION_INFO_V1(upsert_guard_idempotent_upsert_from_outcomes);

/* Outcome codes, per row of the input; a row never settled is a duplicate. */
typedef enum RowOutcome
{
	ROW_DUPLICATE = 0,
	ROW_INSERTED,
	ROW_UPDATED,
	ROW_UNCHANGED
} RowOutcome;

static const char *const outcome_names[] = {
	[ROW_DUPLICATE] = "duplicate",
	[ROW_INSERTED] = "inserted",
	[ROW_UPDATED] = "updated",
	[ROW_UNCHANGED] = "unchanged"
};

/* What a batch call hands to its body and gets back. */
typedef struct BatchResult
{
	Datum		rows;			/* the jsonb array, or 0 */
	MemoryContext cxt;			/* where outcomes live: the caller's */
	int64		nrows;
	uint8	   *outcomes;		/* RowOutcome per row, 1-based ordinal - 1 */
} BatchResult;

/* (target, rows | source, conflict, update_columns, arbiter) */
static const UgCallKind upsert_rows = {
	.kind = UG_UPSERT_ROWS,
	.name = "idempotent_upsert_batch",
	.action = "insert or update",
	.args = {.conflict = 2,.lock = -1,.update_columns = 3,.deltas = -1,.arbiter = 4}
};
static const UgCallKind upsert_from = {
	.kind = UG_UPSERT_FROM,
	.name = "idempotent_upsert_from",
	.action = "insert or update",
	.args = {.conflict = 2,.lock = -1,.update_columns = 3,.deltas = -1,.arbiter = 4}
};

static Datum run_batch(const UgCallKind *kind, const UgRequest *req, void *arg);
static void settle(BatchResult *res, int64 ord, const char *outcome);
static Datum batch_call(FunctionCallInfo fcinfo, const UgCallKind *kind,
						bool per_row);

Datum
upsert_guard_idempotent_upsert_batch(PG_FUNCTION_ARGS)
{
	return batch_call(fcinfo, &upsert_rows, false);
}

Datum
upsert_guard_idempotent_upsert_batch_outcomes(PG_FUNCTION_ARGS)
{
	return batch_call(fcinfo, &upsert_rows, true);
}

Datum
upsert_guard_idempotent_upsert_from(PG_FUNCTION_ARGS)
{
	return batch_call(fcinfo, &upsert_from, false);
}

Datum
upsert_guard_idempotent_upsert_from_outcomes(PG_FUNCTION_ARGS)
{
	return batch_call(fcinfo, &upsert_from, true);
}

/*
 * Run the batch, then return its counts (one row: inserted, updated,
 * unchanged, duplicates) or one row (ord, outcome) per input row.
 */
static Datum
batch_call(FunctionCallInfo fcinfo, const UgCallKind *kind, bool per_row)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BatchResult res;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	MemoryContext old;
	int64		i;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	memset(&res, 0, sizeof(res));
	res.cxt = CurrentMemoryContext;
	if (kind->kind == UG_UPSERT_ROWS && !PG_ARGISNULL(1))
		res.rows = PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(1)));
	(void) ug_guarded_call(fcinfo, kind, run_batch, &res);

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(old);

	if (per_row)
	{
		for (i = 0; i < res.nrows; i++)
		{
			Datum		values[2];
			bool		nulls[2] = {false, false};

			values[0] = Int64GetDatum(i + 1);
			values[1] = CStringGetTextDatum(outcome_names[res.outcomes[i]]);
			tuplestore_putvalues(store, tupdesc, values, nulls);
		}
	}
	else
	{
		int64		counts[lengthof(outcome_names)] = {0};
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		for (i = 0; i < res.nrows; i++)
			counts[res.outcomes[i]]++;
		values[0] = Int64GetDatum(counts[ROW_INSERTED]);
		values[1] = Int64GetDatum(counts[ROW_UPDATED]);
		values[2] = Int64GetDatum(counts[ROW_UNCHANGED]);
		values[3] = Int64GetDatum(counts[ROW_DUPLICATE]);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * The rounds: run the batch statement for the rows still pending, until
 * none is, or give up.
 */
static Datum
run_batch(const UgCallKind *kind, const UgRequest *req, void *arg)
{
	BatchResult *res = (BatchResult *) arg;
	UgPlans		plans;
	Datum		values[2];
	char		nulls[2];
	int64		first_pending = 0;
	int			attempt;

	if (req->kind == UG_UPSERT_ROWS && req->nrows == 0)
		return (Datum) 0;		/* an empty batch: nothing to do */

	plans = ug_plancache_get(req);
	values[0] = res->rows;
	nulls[0] = res->rows ? ' ' : 'n';
	nulls[1] = 'n';				/* first round: every row */

	for (attempt = 1; attempt <= ug_max_attempts; attempt++)
	{
		Datum	   *pending;
		int			npending = 0;
		uint64		i;
		int			rc;

		CHECK_FOR_INTERRUPTS();
		rc = SPI_execute_plan(plans.select_plan, values, nulls, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "unexpected SPI result: %s", SPI_result_code_string(rc));

		if (attempt == 1)
		{
			/* the rows given, duplicates included: src's count */
			bool		isnull;

			res->nrows = SPI_processed == 0 ? 0 :
				DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 5, &isnull));
			res->outcomes = MemoryContextAllocZero(res->cxt, Max(res->nrows, 1));
		}

		pending = palloc(sizeof(Datum) * Max(SPI_processed, 1));
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int64		ord = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			char	   *outcome = SPI_getvalue(tup, desc, 2);

			if (DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull)))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("row %lld of the batch has a null key", (long long) ord),
						 errdetail("Unique index \"%s\" treats null values as distinct, so a row with a null key never conflicts.",
								   plans.target->index_name)));
			if (DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("row %lld of the batch is outside the predicate of partial unique index \"%s\"",
								(long long) ord, plans.target->index_name),
						 errdetail("The index does not cover the row, so no existing row can conflict with it.")));
			if (outcome == NULL)
			{
				if (npending == 0)
					first_pending = ord;
				pending[npending++] = Int64GetDatum(ord);
			}
			else
				settle(res, ord, outcome);
		}
		SPI_freetuptable(SPI_tuptable);

		if (npending == 0)
			return (Datum) 0;
		values[1] = PointerGetDatum(construct_array(pending, npending, INT8OID,
													sizeof(int64), FLOAT8PASSBYVAL,
													TYPALIGN_DOUBLE));
		nulls[1] = ' ';
	}

	ug_give_up(kind, plans.target,
			   psprintf("of row %lld of the batch", (long long) first_pending));
	return (Datum) 0;			/* not reached */
}

/* Record the outcome of one row. */
static void
settle(BatchResult *res, int64 ord, const char *outcome)
{
	RowOutcome	code;

	if (strcmp(outcome, "inserted") == 0)
		code = ROW_INSERTED;
	else if (strcmp(outcome, "updated") == 0)
		code = ROW_UPDATED;
	else
		code = ROW_UNCHANGED;
	Assert(ord >= 1 && ord <= res->nrows);
	res->outcomes[ord - 1] = (uint8) code;
}
