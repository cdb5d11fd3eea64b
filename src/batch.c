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
	int64		nrows;			/* rows given, duplicates included */
	int64		counts[4];		/* per RowOutcome */
	uint8	   *outcomes;		/* per_row: RowOutcome by ordinal - 1 */
} BatchResult;

/* (target, rows | source, conflict, update_columns, arbiter) */
#define BATCH_ARGS {.conflict = 2,.lock = -1,.update_columns = 3,.deltas = -1,.arbiter = 4}
static const UgCallKind upsert_rows = {
	.kind = UG_UPSERT_ROWS,.name = "idempotent_upsert_batch",
	.action = "insert or update",.args = BATCH_ARGS,.per_row = false
};
static const UgCallKind upsert_rows_outcomes = {
	.kind = UG_UPSERT_ROWS,.name = "idempotent_upsert_batch",
	.action = "insert or update",.args = BATCH_ARGS,.per_row = true
};
static const UgCallKind upsert_from = {
	.kind = UG_UPSERT_FROM,.name = "idempotent_upsert_from",
	.action = "insert or update",.args = BATCH_ARGS,.per_row = false
};
static const UgCallKind upsert_from_outcomes = {
	.kind = UG_UPSERT_FROM,.name = "idempotent_upsert_from",
	.action = "insert or update",.args = BATCH_ARGS,.per_row = true
};

static Datum run_batch(const UgCallKind *kind, const UgRequest *req, void *arg);
static void count_rows(const BatchResult *res, bool per_row);
static int	read_round(BatchResult *res, const UgTarget *target, int attempt,
					   Datum *pending);
static void refuse_bad_key(const UgTarget *target, int64 nullkey, int64 outside);
static int64 first_ord(Datum ords);
static Datum batch_call(FunctionCallInfo fcinfo, const UgCallKind *kind);

Datum
upsert_guard_idempotent_upsert_batch(PG_FUNCTION_ARGS)
{
	return batch_call(fcinfo, &upsert_rows);
}

Datum
upsert_guard_idempotent_upsert_batch_outcomes(PG_FUNCTION_ARGS)
{
	return batch_call(fcinfo, &upsert_rows_outcomes);
}

Datum
upsert_guard_idempotent_upsert_from(PG_FUNCTION_ARGS)
{
	return batch_call(fcinfo, &upsert_from);
}

Datum
upsert_guard_idempotent_upsert_from_outcomes(PG_FUNCTION_ARGS)
{
	return batch_call(fcinfo, &upsert_from_outcomes);
}

/*
 * Run the batch, then return its counts (one row: inserted, updated,
 * unchanged, duplicates) or one row (ord, outcome) per input row.
 */
static Datum
batch_call(FunctionCallInfo fcinfo, const UgCallKind *kind)
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
	{
		/* detoast (and decompress) the rows once, for decoding and the statement */
		res.rows = PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(1)));
		fcinfo->args[1].value = res.rows;
	}
	(void) ug_guarded_call(fcinfo, kind, run_batch, &res);
	count_rows(&res, kind->per_row);

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(old);

	if (kind->per_row)
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
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int64GetDatum(res.counts[ROW_INSERTED]);
		values[1] = Int64GetDatum(res.counts[ROW_UPDATED]);
		values[2] = Int64GetDatum(res.counts[ROW_UNCHANGED]);
		values[3] = Int64GetDatum(res.nrows - res.counts[ROW_INSERTED] -
								  res.counts[ROW_UPDATED] - res.counts[ROW_UNCHANGED]);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}

/* A finished batch's rows in the stats: inserted, updated, unchanged. */
static void
count_rows(const BatchResult *res, bool per_row)
{
	int64		counts[4] = {0};
	int64		i;

	if (per_row)
		for (i = 0; i < res->nrows; i++)
			counts[res->outcomes[i]]++;
	else
		memcpy(counts, res->counts, sizeof(counts));
	ug_stat_add(UG_STAT_BATCH, UG_STAT_INSERTED, counts[ROW_INSERTED]);
	ug_stat_add(UG_STAT_BATCH, UG_STAT_UPDATED, counts[ROW_UPDATED]);
	ug_stat_add(UG_STAT_BATCH, UG_STAT_UNCHANGED, counts[ROW_UNCHANGED]);
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
	int			attempt;

	if (req->kind == UG_UPSERT_ROWS && req->nrows == 0)
		return (Datum) 0;		/* an empty batch: nothing to do */

	plans = ug_plancache_get(req);
	values[0] = res->rows;
	nulls[0] = res->rows ? ' ' : 'n';
	nulls[1] = 'n';				/* first round: every row */

	ug_stat_add(UG_STAT_BATCH, UG_STAT_CALLS, 1);
	for (attempt = 1; attempt <= ug_max_attempts; attempt++)
	{
		int			rc;
		int			npending;

		CHECK_FOR_INTERRUPTS();
		if (attempt > 1)
			ug_stat_add(UG_STAT_BATCH, UG_STAT_RETRIES, 1);
		ug_plancache_refresh(&plans);
		rc = SPI_execute_plan(plans.plans[UG_PLAN_BATCH], values, nulls, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "unexpected SPI result: %s", SPI_result_code_string(rc));
		npending = read_round(res, plans.target, attempt, &values[1]);
		SPI_freetuptable(SPI_tuptable);
		if (npending == 0)
			return (Datum) 0;
		nulls[1] = ' ';
	}

	ug_give_up(kind, plans.target,
			   psprintf("of row %lld of the batch", (long long) first_ord(values[1])));
	return (Datum) 0;			/* not reached */
}

/*
 * Take in one round's result: settle the rows it settled, refuse bad
 * keys, and return whether rows are pending (their ordinals in *pending,
 * a bigint[] that replaces the one before: a call's memory does not grow
 * with its rounds).
 */
static int
read_round(BatchResult *res, const UgTarget *target, int attempt, Datum *pending)
{
	TupleDesc	desc = SPI_tuptable->tupdesc;
	Datum	   *ords;
	int			npending = 0;
	bool		isnull;
	uint64		i;

	if (!target->per_row)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		Datum		d;
		int64		nullkey;
		int64		outside;

		nullkey = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		if (isnull)
			nullkey = 0;
		outside = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
		if (isnull)
			outside = 0;
		refuse_bad_key(target, nullkey, outside);

		if (attempt == 1)
			res->nrows = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		res->counts[ROW_INSERTED] += DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		res->counts[ROW_UPDATED] += DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		res->counts[ROW_UNCHANGED] += DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		d = SPI_getbinval(tup, desc, 4, &isnull);
		if (isnull)
			return 0;
		if (attempt > 1)
			pfree(DatumGetPointer(*pending));
		*pending = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
		return 1;				/* at least one: NULL when none */
	}

	if (attempt == 1)
	{
		res->nrows = SPI_processed == 0 ? 0 :
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], desc, 5, &isnull));
		res->outcomes = MemoryContextAllocZero(res->cxt, Max(res->nrows, 1));
	}
	ords = palloc(sizeof(Datum) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		int64		ord = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		bool		open;
		Datum		o = SPI_getbinval(tup, desc, 2, &open);

		refuse_bad_key(target,
					   DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull)) ? ord : 0,
					   DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull)) ? ord : 0);
		if (open)
			ords[npending++] = Int64GetDatum(ord);
		else
		{
			Assert(ord >= 1 && ord <= res->nrows);
			res->outcomes[ord - 1] = (uint8) DatumGetInt32(o);
		}
	}
	if (npending > 0)
	{
		if (attempt > 1)
			pfree(DatumGetPointer(*pending));
		*pending = PointerGetDatum(construct_array(ords, npending, INT8OID,
												   sizeof(int64), FLOAT8PASSBYVAL,
												   TYPALIGN_DOUBLE));
	}
	pfree(ords);
	return npending;
}

/* A row with a null key, or outside a partial arbiter's predicate. */
static void
refuse_bad_key(const UgTarget *target, int64 nullkey, int64 outside)
{
	if (nullkey > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("row %lld of the batch has a null key", (long long) nullkey),
				 errdetail("Unique index \"%s\" treats null values as distinct, so a row with a null key never conflicts.",
						   target->index_name)));
	if (outside > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("row %lld of the batch is outside the predicate of partial unique index \"%s\"",
						(long long) outside, target->index_name),
				 errdetail("The index does not cover the row, so no existing row can conflict with it.")));
}

/* The first ordinal of a bigint[], for the give-up message. */
static int64
first_ord(Datum ords)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(ords), INT8OID, sizeof(int64),
					  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	return n > 0 ? DatumGetInt64(elems[0]) : 0;
}
