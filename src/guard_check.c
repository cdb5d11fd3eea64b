/*-------------------------------------------------------------------------
 *
 * guard_check.c
 *	  The trigger every guard installs: lock the keys a row write touches,
 *	  then check the rule, at every isolation level.
 *
 * Per row, AFTER INSERT, UPDATE or DELETE (so the row written, and every
 * other row of the same statement, is already in the table):
 *	  1. the lock keys (locks.c) of OLD's key and NEW's key, skipping a key
 *		 with a NULL in it (as a unique index does), sorted and deduplicated,
 *		 so two updates moving rows between the same two keys take them in
 *		 the same order and cannot deadlock;
 *	  2. take them, transaction-scoped: writers of one key now go one at a
 *		 time, each checking only after the one before it has committed or
 *		 rolled back;
 *	  3. for INSERT and UPDATE, count NEW's conflicting rows (the guard's
 *		 check, sqlgen.c) up to max_conflicts + 1.  A DELETE only takes the
 *		 lock: removing a row cannot make a row have more conflicts.
 *
 * Which rows the check reads: the latest committed ones (and our own),
 * because the writer before us committed after our snapshot may have been
 * taken.  Under READ COMMITTED that is what a new statement sees anyway;
 * too many conflicts is 23P01.  Under REPEATABLE READ and SERIALIZABLE the
 * transaction's snapshot may not show those rows, so a violation found in
 * the latest rows is checked again with the transaction's snapshot: if
 * the snapshot shows it too, 23P01 (the data the transaction saw says
 * no); if not, 40001 (retry: the next attempt will see the row, and
 * decide).  This is the question PostgreSQL's foreign key checks answer
 * with their crosscheck snapshot (ri_triggers.c); here a second look with
 * the transaction's snapshot answers it, and only on the error path.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(upsert_guard_guard_trigger);

/*---- counters, per backend ----*/

static void check_trigger_call(FunctionCallInfo fcinfo);
static void enforce(TriggerData *td, Oid invoker, int save_sec);
static bool row_lock_key(UgGuard *guard, Relation rel, HeapTuple tup,
						 uint64 *key);
static void lock_keys(uint64 *keys, int nkeys);
static void check_row(const UgGuard *guard, SPIPlanPtr plan, Relation rel,
					  HeapTuple tup, Oid invoker);
static int	run_check(SPIPlanPtr plan, Datum *values, Snapshot snapshot,
					  int32 max_conflicts);
static bool may_read(const UgGuard *guard, Oid invoker);
static char *describe_key(const UgGuard *guard, Relation rel, HeapTuple tup,
						  bool show);

Datum
upsert_guard_guard_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Oid			save_userid;
	int			save_sec;
	int			guc_nest;

	check_trigger_call(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* as the owner, under a fixed search_path (see guard.c) */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(td->tg_relation->rd_rel->relowner, save_sec |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	guc_nest = ug_fixed_parser_settings(true);

	ug_plancache_pin();
	PG_TRY();
	{
		enforce(td, save_userid, save_sec);
	}
	PG_FINALLY();
	{
		ug_plancache_unpin();
	}
	PG_END_TRY();

	AtEOXact_GUC(true, guc_nest);
	SetUserIdAndSecContext(save_userid, save_sec);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/* Steps 1 to 3 of the header comment, for one row event. */
static void
enforce(TriggerData *td, Oid invoker, int save_sec)
{
	Relation	rel = td->tg_relation;
	HeapTuple	oldtup = NULL;
	HeapTuple	newtup = NULL;
	SPIPlanPtr	plan;
	UgGuard    *guard = ug_plancache_guard(rel, td->tg_trigger, &plan);
	uint64		keys[2];
	int			nkeys = 0;
	bool		new_has_key = false;

	ug_stat_add(UG_STAT_GUARD, UG_STAT_CALLS, 1);
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		newtup = td->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
	}
	else
		oldtup = td->tg_trigtuple;

	/* a partition owned by another role than its guarded parent */
	if (guard->owner != rel->rd_rel->relowner)
		SetUserIdAndSecContext(guard->owner, save_sec |
							   SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_NOFORCE_RLS);

	if (oldtup != NULL && row_lock_key(guard, rel, oldtup, &keys[nkeys]))
		nkeys++;
	if (newtup != NULL && row_lock_key(guard, rel, newtup, &keys[nkeys]))
	{
		nkeys++;
		new_has_key = true;
	}
	lock_keys(keys, nkeys);

	if (new_has_key)
		check_row(guard, plan, rel, newtup, invoker);
}

/* Fired as the guard installs it, or not at all. */
static void
check_trigger_call(FunctionCallInfo fcinfo)
{
	TriggerData *td;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"upsert_guard._guard_trigger\" was not called by trigger manager")));
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) || td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"upsert_guard._guard_trigger\" must be fired AFTER INSERT, UPDATE or DELETE FOR EACH ROW with one argument"),
				 errhint("Declare guards with upsert_guard.add_guard, which creates the trigger.")));
}

/* A row's lock key, or false when its key has a NULL. */
static bool
row_lock_key(UgGuard *guard, Relation rel, HeapTuple tup, uint64 *key)
{
	TupleDesc	desc = RelationGetDescr(rel);
	uint64		h = guard->namespace_hash;
	int			i;

	for (i = 0; i < guard->nkeys; i++)
	{
		bool		isnull;
		Datum		value = heap_getattr(tup, guard->attnums[i], desc, &isnull);

		if (isnull)
			return false;
		h = ug_lock_key_add(h, &guard->hashfns[i], guard->collations[i], value);
	}
	*key = h;
	return true;
}

/* Take up to two lock keys in ascending order; count the waits. */
static void
lock_keys(uint64 *keys, int nkeys)
{
	int			i;

	if (nkeys == 2 && keys[0] > keys[1])
	{
		uint64		t = keys[0];

		keys[0] = keys[1];
		keys[1] = t;
	}
	for (i = 0; i < nkeys; i++)
	{
		if (i > 0 && keys[i] == keys[i - 1])
			continue;
		if (!ug_lock_take(keys[i], false))
		{
			ug_stat_add(UG_STAT_GUARD, UG_STAT_WAITS, 1);
			(void) ug_lock_take(keys[i], true);
		}
	}
}

/* Count NEW's conflicting rows; raise 23P01 or 40001 if too many. */
static void
check_row(const UgGuard *guard, SPIPlanPtr plan, Relation rel, HeapTuple tup,
		  Oid invoker)
{
	Datum		values[3];
	int			found;
	bool		visible = true;

	values[0] = heap_copy_tuple_as_datum(tup, RelationGetDescr(rel));
	values[1] = ObjectIdGetDatum(RelationGetRelid(rel));
	values[2] = PointerGetDatum(&tup->t_self);

	if (!IsolationUsesXactSnapshot())
		found = run_check(plan, values, InvalidSnapshot, guard->max_conflicts);
	else
	{
		found = run_check(plan, values, GetLatestSnapshot(), guard->max_conflicts);
		if (found > guard->max_conflicts)
		{
			found = run_check(plan, values, GetTransactionSnapshot(),
							  guard->max_conflicts);
			visible = found > guard->max_conflicts;
		}
	}
	if (found <= guard->max_conflicts)
	{
		if (!visible)
		{
			ug_stat_add(UG_STAT_GUARD, UG_STAT_VIOLATIONS, 1);
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent write under guard \"%s\"",
							guard->name),
					 errdetail("%s conflicts with a row of table \"%s\" committed after this transaction's snapshot was taken.",
							   describe_key(guard, rel, tup, may_read(guard, invoker)),
							   guard->relname),
					 errhint("The transaction might succeed if retried.")));
		}
		return;
	}

	ug_stat_add(UG_STAT_GUARD, UG_STAT_VIOLATIONS, 1);
	{
		bool		show = may_read(guard, invoker);
		char	   *key = describe_key(guard, rel, tup, show);
		char	   *other = show ?
			SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;

		ereport(ERROR,
				(errcode(ERRCODE_EXCLUSION_VIOLATION),
				 errmsg("row violates guard \"%s\" on table \"%s\"",
						guard->name, guard->relname),
				 guard->max_conflicts == 0 ?
				 (show ? errdetail("%s conflicts with row %s.", key, other) :
				  errdetail("%s conflicts with an existing row.", key)) :
				 (show ? errdetail("%s conflicts with at least %d rows, and the guard allows %d; one of them is %s.",
								   key, found, guard->max_conflicts, other) :
				  errdetail("%s conflicts with at least %d rows, and the guard allows %d.",
							key, found, guard->max_conflicts)),
				 errtableconstraint(rel, guard->name)));
	}
}

/*
 * Run the check with a snapshot (InvalidSnapshot: a new one, as any
 * statement under READ COMMITTED takes); return the rows found.
 */
static int
run_check(SPIPlanPtr plan, Datum *values, Snapshot snapshot, int32 max_conflicts)
{
	long		limit = (long) max_conflicts + 1;
	int			rc;

	if (snapshot == InvalidSnapshot)
		rc = SPI_execute_plan(plan, values, NULL, false, limit);
	else
		rc = SPI_execute_snapshot(plan, values, NULL, snapshot, InvalidSnapshot,
								  false, false, limit);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "guard check failed: %s", SPI_result_code_string(rc));
	return (int) SPI_processed;
}

/*
 * Whether the writer may read the table, and so be shown its rows and
 * keys: SELECT on it and no row-level security, as PostgreSQL decides for
 * a unique violation's detail.
 */
static bool
may_read(const UgGuard *guard, Oid invoker)
{
	return check_enable_rls(guard->relid, invoker, true) != RLS_ENABLED &&
		pg_class_aclcheck(guard->relid, invoker, ACL_SELECT) == ACLCHECK_OK;
}

/* Key ("a", "b")=(1, x); or "The row" for a writer who may not read it. */
static char *
describe_key(const UgGuard *guard, Relation rel, HeapTuple tup, bool show)
{
	Oid			outputs[INDEX_MAX_KEYS];
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	int			i;

	if (!show)
		return pstrdup("The row");
	for (i = 0; i < guard->nkeys; i++)
	{
		bool		varlena;

		values[i] = heap_getattr(tup, guard->attnums[i], RelationGetDescr(rel),
								 &isnull[i]);
		getTypeOutputInfo(guard->keytypes[i], &outputs[i], &varlena);
	}
	return psprintf("Key %s", ug_format_key(guard->nkeys, guard->keynames,
											outputs, values, isnull));
}
