/*-------------------------------------------------------------------------
 *
 * plancache.c
 *	  Backend-local cache of prepared plans: the cache key, the entries,
 *	  and their invalidation, all in this one file.
 *
 * Key: the call's kind, table OID, the set of columns new_row gives, the
 * conflict columns as the caller named them (none = inferred) or the
 * arbiter index's name, the lock mode, and the columns the call changes (update columns as named, or
 * "default"; increment's delta columns).  Two calls with the same key
 * generate the same SQL, so they share plans.
 *
 * Invalidation: a relcache callback marks the entries of a table stale
 * whenever the table changes (columns added, dropped, renamed, indexes
 * created or dropped, the table dropped, but also ANALYZE); a syscache
 * callback on schemas marks every entry stale, because renaming a schema
 * changes the qualified names in the SQL text without touching the
 * tables.  The callbacks only set flags: they can run in the middle of
 * our own execution, where nothing may be freed.  A stale entry is rebuilt
 * from the catalog on its next use, so the SQL text always names the
 * table that the OID names now.  (PostgreSQL's own plan cache would
 * re-parse the old text by name, which after a rename reaches the wrong
 * table or none.)
 *
 * Guards have entries of their own, keyed by the OID of the trigger that
 * fires (each partition of a partitioned table has its trigger): the
 * guard built from its definition and its check plan.  They are marked
 * stale with the same callbacks, for the guarded table or the trigger's
 * relation; add_guard and drop_guard create and drop triggers, which
 * invalidates the table, so a guard re-added under the same name is read
 * afresh.
 *
 * Freeing: a plan may be executing further up the stack when an entry is
 * rebuilt (a trigger fired by our INSERT calling us again), so replaced
 * plans are retired, not freed, until no call of ours is active.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "catalog/pg_type.h"
#include "utils/hsearch.h"
#include "utils/catcache.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

/* attribute numbers 1 .. MaxHeapAttributeNumber as a bitmap */
#define COLUMN_BITMAP_BYTES ((MaxHeapAttributeNumber + 8) / 8)

typedef struct PlanKey
{
	Oid			relid;
	Oid			source;			/* idempotent_upsert_from's relation */
	int16		kind;
	int16		lock;
	int16		nconflict;		/* 0: inferred */
	int16		changes_default;
	int16		per_row;
	AttrNumber	conflict[INDEX_MAX_KEYS];	/* sorted */
	char		arbiter[NAMEDATALEN];	/* "" when not named */
	uint8		columns[COLUMN_BITMAP_BYTES];
	uint8		changes[COLUMN_BITMAP_BYTES];
} PlanKey;

typedef struct PlanEntry
{
	PlanKey		key;			/* hash key: must be first */
	bool		valid;
	MemoryContext cxt;			/* holds target */
	UgTarget   *target;
	SPIPlanPtr	plans[4];		/* select, insert, update, check; or NULL */
} PlanEntry;

/* Plans and memory of a replaced entry, waiting for no call to be active. */
typedef struct Retired
{
	MemoryContext cxt;
	SPIPlanPtr	plans[4];
} Retired;

typedef struct GuardEntry
{
	Oid			tgoid;			/* hash key: must be first */
	bool		valid;
	MemoryContext cxt;			/* holds guard */
	UgGuard    *guard;
	SPIPlanPtr	plan;			/* its check */
} GuardEntry;

static HTAB *plan_cache = NULL;
static HTAB *guard_cache = NULL;
static bool sweep_needed = false;
static int	active_calls = 0;
static List *retired = NIL;

static void make_key(const UgRequest *req, PlanKey *key);
static void build_entry(PlanEntry *entry, const UgRequest *req);
static void retire_entry(PlanEntry *entry);
static void retire(MemoryContext cxt, SPIPlanPtr *plans, int nplans);
static void build_guard_entry(GuardEntry *entry, Relation rel,
							  const Trigger *trigger);
static void free_retired(void);
static void sweep_stale_entries(void);
static SPIPlanPtr prepare(const char *sql, const UgTarget *target, UgKind kind);
static bool plans_valid(const PlanEntry *entry);
static void relcache_callback(Datum arg, Oid relid);
static void namespace_callback(Datum arg, int cacheid, uint32 hashvalue);

/*
 * Create the cache and register the invalidation callbacks, once per
 * backend (callbacks cannot be unregistered).
 */
void
ug_plancache_init(void)
{
	HASHCTL		ctl;

	if (CacheMemoryContext == NULL)
		CreateCacheMemoryContext();
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(PlanKey);
	ctl.entrysize = sizeof(PlanEntry);
	ctl.hcxt = CacheMemoryContext;
	plan_cache = hash_create("upsert_guard plans", 64, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(GuardEntry);
	guard_cache = hash_create("upsert_guard guards", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, namespace_callback, (Datum) 0);
}

/*
 * The plans for a request, prepared now if the entry is new or stale.
 * The caller holds a lock on the table, which has processed pending
 * invalidations, and is connected to SPI.
 */
UgPlans
ug_plancache_get(const UgRequest *req)
{
	PlanKey		key;
	PlanEntry  *entry;
	bool		found;
	UgPlans		result;

	/* the caller is the only active call: nothing retired is in use */
	if (active_calls == 1)
	{
		free_retired();
		if (sweep_needed)
			sweep_stale_entries();
	}

	make_key(req, &key);
	entry = hash_search(plan_cache, &key, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->cxt = NULL;
		entry->target = NULL;
		memset(entry->plans, 0, sizeof(entry->plans));
	}

	if (!entry->valid || !plans_valid(entry))
	{
		retire_entry(entry);
		/*
		 * A request the catalog refuses (an unknown arbiter, a generated
		 * column in new_row...) must not leave its entry behind: the keys
		 * of refused requests are unbounded.
		 */
		PG_TRY();
		{
			build_entry(entry, req);
		}
		PG_CATCH();
		{
			hash_search(plan_cache, &key, HASH_REMOVE, NULL);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}

	result.target = entry->target;
	result.select_plan = entry->plans[0];
	result.insert_plan = entry->plans[1];
	result.update_plan = entry->plans[2];
	result.check_plan = entry->plans[3];
	return result;
}

/*
 * Bracket a call's use of the cache, from before ug_plancache_get until
 * its plans have run: while any call is active, replaced plans are only
 * retired.
 */
void
ug_plancache_pin(void)
{
	active_calls++;
}

void
ug_plancache_unpin(void)
{
	Assert(active_calls > 0);
	active_calls--;
}

/*
 * The guard a trigger enforces and its check plan, built now if new or
 * stale.  The caller is connected to SPI, pinned, and has set the fixed
 * search_path the plan must be prepared under.
 */
UgGuard *
ug_plancache_guard(Relation rel, const Trigger *trigger, SPIPlanPtr *check_plan)
{
	GuardEntry *entry;
	bool		found;

	if (active_calls == 1)
	{
		free_retired();
		if (sweep_needed)
			sweep_stale_entries();
	}

	entry = hash_search(guard_cache, &trigger->tgoid, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->cxt = NULL;
		entry->guard = NULL;
		entry->plan = NULL;
	}
	if (!entry->valid || !SPI_plan_is_valid(entry->plan))
	{
		entry->valid = false;
		retire(entry->cxt, &entry->plan, 1);
		entry->cxt = NULL;
		entry->guard = NULL;
		entry->plan = NULL;
		build_guard_entry(entry, rel, trigger);
	}
	*check_plan = entry->plan;
	return entry->guard;
}

/* As build_entry: kept only once complete. */
static void
build_guard_entry(GuardEntry *entry, Relation rel, const Trigger *trigger)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "upsert_guard guard",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	UgGuard    *guard = ug_load_guard(trigger->tgargs[0], rel);
	char	   *sql = ug_sql_guard_check(guard);
	Oid			types[3] = {guard->rowtype, OIDOID, TIDOID};
	SPIPlanPtr	plan;

	MemoryContextSwitchTo(old);
	plan = SPI_prepare(sql, 3, types);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	MemoryContextSetParent(cxt, CacheMemoryContext);
	entry->cxt = cxt;
	entry->guard = guard;
	entry->plan = plan;
	entry->valid = true;
}

static void
make_key(const UgRequest *req, PlanKey *key)
{
	int			i;

	memset(key, 0, sizeof(PlanKey));	/* every byte is hashed */
	key->relid = req->relid;
	key->source = req->source;
	key->lock = (int16) req->lock;
	key->nconflict = (int16) req->nconflict;
	key->kind = (int16) req->kind;
	key->changes_default = (int16) req->changes_default;
	key->per_row = (int16) req->per_row;
	memcpy(key->conflict, req->conflict, sizeof(AttrNumber) * req->nconflict);
	if (req->arbiter != NULL)
		strlcpy(key->arbiter, req->arbiter, NAMEDATALEN);	/* checked: fits */
	for (i = 0; i < req->ncolumns; i++)
	{
		AttrNumber	a = req->columns[i].attnum;

		key->columns[a / 8] |= (uint8) (1 << (a % 8));
	}
	for (i = 0; i < req->nchanges; i++)
	{
		AttrNumber	a = req->changes[i].attnum;

		key->changes[a / 8] |= (uint8) (1 << (a % 8));
	}
}

/*
 * Build an entry from the catalog.  Everything is made in a context under
 * the current one, and the plans in SPI's memory; both are kept only once
 * complete, so an error halfway (a generated column in new_row, say)
 * leaks nothing and leaves the entry invalid.
 */
static void
build_entry(PlanEntry *entry, const UgRequest *req)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "upsert_guard plan",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	UgTarget   *target = ug_build_target(req);
	char	   *sql[4];
	SPIPlanPtr	plans[4];
	size_t		i;
	bool		has_exprs = false;

	/*
	 * The statements a kind runs: select_or_insert needs no update,
	 * increment no lookup, an upsert with no update column no update.
	 */
	memset(sql, 0, sizeof(sql));
	if (req->kind == UG_UPSERT_ROWS || req->kind == UG_UPSERT_FROM)
		sql[0] = ug_sql_batch(target);	/* one statement does it all */
	else
	{
		sql[0] = req->kind == UG_INCREMENT ? NULL : ug_sql_select(target);
		sql[1] = ug_sql_insert(target);
		sql[2] = req->kind == UG_SELECT_OR_INSERT || target->nchanges == 0 ?
			NULL : ug_sql_update(target);
		for (i = 0; i < (size_t) target->nkeys; i++)
			has_exprs |= (target->keys[i].param < 0);
		sql[3] = has_exprs || target->pred_new ? ug_sql_check(target) : NULL;
	}
	MemoryContextSwitchTo(old);

	for (i = 0; i < lengthof(plans); i++)
		plans[i] = sql[i] ? prepare(sql[i], target, req->kind) : NULL;

	/* all prepared: nothing can fail any more, keep them */
	for (i = 0; i < lengthof(plans); i++)
		if (plans[i] != NULL && SPI_keepplan(plans[i]) != 0)
			elog(ERROR, "SPI_keepplan failed");
	MemoryContextSetParent(cxt, CacheMemoryContext);
	entry->cxt = cxt;
	entry->target = target;
	memcpy(entry->plans, plans, sizeof(plans));
	entry->valid = true;
}

/* Whether PostgreSQL's plan cache still holds every plan of an entry valid. */
static bool
plans_valid(const PlanEntry *entry)
{
	size_t		i;

	for (i = 0; i < lengthof(entry->plans); i++)
		if (entry->plans[i] != NULL && !SPI_plan_is_valid(entry->plans[i]))
			return false;
	return true;
}

/*
 * Prepare a statement in SPI's memory (freed on error until kept).  Its
 * parameters are the target's, or for a batch ($1 jsonb rows, $2 bigint[]
 * pending ordinals).  A batch statement is planned anew on every call,
 * with its parameters as constants: planning costs about a millisecond,
 * and a plan made for 10 rows is the wrong plan for 100k.
 */
static SPIPlanPtr
prepare(const char *sql, const UgTarget *target, UgKind kind)
{
	Oid		   *types = palloc(sizeof(Oid) * Max(target->nparams, 2));
	int			ntypes = target->nparams;
	SPIPlanPtr	plan;
	int			options = 0;
	int			i;

	for (i = 0; i < target->nparams; i++)
		types[i] = target->params[i].type;
	if (kind == UG_UPSERT_ROWS || kind == UG_UPSERT_FROM)
	{
		types[0] = JSONBOID;
		types[1] = INT8ARRAYOID;
		ntypes = 2;
		/* planned for each call: its rows' count decides the joins */
		options = CURSOR_OPT_CUSTOM_PLAN;
	}
	plan = SPI_prepare_cursor(sql, ntypes, types, options);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	return plan;
}

/* Move an entry's plans and memory to the retired list. */
static void
retire_entry(PlanEntry *entry)
{
	entry->valid = false;
	retire(entry->cxt, entry->plans, lengthof(entry->plans));
	entry->cxt = NULL;
	entry->target = NULL;
	memset(entry->plans, 0, sizeof(entry->plans));
}

/* Keep a context and plans until no call of ours is active. */
static void
retire(MemoryContext cxt, SPIPlanPtr *plans, int nplans)
{
	MemoryContext old;
	Retired    *r;
	int			i;
	bool		any = cxt != NULL;

	for (i = 0; i < nplans; i++)
		any |= plans[i] != NULL;
	if (!any)
		return;

	old = MemoryContextSwitchTo(TopMemoryContext);
	r = palloc0(sizeof(Retired));
	r->cxt = cxt;
	memcpy(r->plans, plans, sizeof(SPIPlanPtr) * nplans);
	retired = lappend(retired, r);
	MemoryContextSwitchTo(old);
}

static void
free_retired(void)
{
	ListCell   *lc;

	foreach(lc, retired)
	{
		Retired    *r = lfirst(lc);
		size_t		i;

		for (i = 0; i < lengthof(r->plans); i++)
			if (r->plans[i] != NULL)
				SPI_freeplan(r->plans[i]);
		if (r->cxt != NULL)
			MemoryContextDelete(r->cxt);
	}
	list_free_deep(retired);
	retired = NIL;
}

/*
 * Drop stale entries: those of dropped tables would otherwise stay
 * forever, and the others are rebuilt on their next use anyway.
 */
static void
sweep_stale_entries(void)
{
	HASH_SEQ_STATUS status;
	PlanEntry  *entry;
	GuardEntry *gentry;

	hash_seq_init(&status, plan_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->valid)
			continue;
		retire_entry(entry);
		hash_search(plan_cache, &entry->key, HASH_REMOVE, NULL);
	}
	hash_seq_init(&status, guard_cache);
	while ((gentry = hash_seq_search(&status)) != NULL)
	{
		if (gentry->valid)
			continue;
		retire(gentry->cxt, &gentry->plan, 1);
		hash_search(guard_cache, &gentry->tgoid, HASH_REMOVE, NULL);
	}
	free_retired();
	sweep_needed = false;
}

/* Only set flags here: see the header comment. */
static void
relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	PlanEntry  *entry;
	GuardEntry *gentry;

	hash_seq_init(&status, plan_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || entry->key.relid == relid ||
			entry->key.source == relid)
		{
			entry->valid = false;
			sweep_needed = true;
		}
	}

	hash_seq_init(&status, guard_cache);
	while ((gentry = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || gentry->guard == NULL ||
			gentry->guard->relid == relid || gentry->guard->trigrelid == relid)
		{
			gentry->valid = false;
			sweep_needed = true;
		}
	}
}

static void
namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	relcache_callback(arg, InvalidOid);
}
