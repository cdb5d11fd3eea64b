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
 * Within a call: code the call runs (a type's input function, a domain's
 * CHECK, a trigger, a policy) can alter the table.  Before each statement
 * ug_plancache_refresh checks that the call's plans are still the
 * entry's and still valid; if not, it fetches them again (rebuilt from
 * the OID) and refuses to go on if the table's columns changed.  So a
 * call never lets PostgreSQL re-parse our text by name, which after a
 * rename names another table.
 *
 * Size: entries are kept up to upsert_guard.plan_cache_size of memory per
 * backend (their targets, and the plans PostgreSQL holds for them); when
 * a new entry takes the cache past it, the least recently used entries go.
 * Every distinct column set of new_row is an entry, so without a bound an
 * application whose rows omit empty fields would grow every backend.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "catalog/pg_type.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/catcache.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
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
	SPIPlanPtr	plans[UG_NPLANS];	/* by UgPlanSlot; or NULL */
	uint64		last_used;		/* use_clock when last fetched */
} PlanEntry;

/* Plans and memory of a replaced entry, waiting for no call to be active. */
typedef struct Retired
{
	MemoryContext cxt;
	SPIPlanPtr	plans[UG_NPLANS];
} Retired;

typedef struct GuardEntry
{
	Oid			tgoid;			/* hash key: must be first */
	bool		valid;
	MemoryContext cxt;			/* holds guard */
	UgGuard    *guard;
	SPIPlanPtr	plan;			/* its check */
} GuardEntry;

/*---- GUC variables ----*/
int			ug_plan_cache_size = 16384; /* kB */

static HTAB *plan_cache = NULL;
static HTAB *guard_cache = NULL;
static bool sweep_needed = false;
static int	active_calls = 0;
static List *retired = NIL;
static uint64 use_clock = 0;	/* counts fetches, for least recently used */
static uint64 generation = 0;	/* counts entries' plans retired */

static void make_key(const UgRequest *req, PlanKey *key);
static void build_entry(PlanEntry *entry, const UgRequest *req);
static void retire_entry(PlanEntry *entry);
static void retire(MemoryContext cxt, SPIPlanPtr *plans, int nplans);
static void build_guard_entry(GuardEntry *entry, Relation rel,
							  const Trigger *trigger);
static void free_retired(void);
static void sweep_stale_entries(void);
static SPIPlanPtr prepare(const char *sql, const UgTarget *target, UgKind kind);
static bool plans_valid(SPIPlanPtr const *plans);
static Size entry_memory(const PlanEntry *entry);
static void evict_to_size(const PlanEntry *keep);
static void remove_entry(PlanEntry *entry);
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

	DefineCustomIntVariable("upsert_guard.plan_cache_size",
							"Memory each backend may keep in cached plans of upsert_guard calls.",
							"When a new column set, table or call kind takes the cache "
							"past it, the least recently used entries are dropped.",
							&ug_plan_cache_size,
							16384, 1024, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

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

	if (!entry->valid || !plans_valid(entry->plans))
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
		if (active_calls == 1)
			evict_to_size(entry);
	}

	entry->last_used = ++use_clock;
	result.target = entry->target;
	memcpy(result.plans, entry->plans, sizeof(result.plans));
	result.req = req;
	result.entry = entry;
	result.generation = generation;
	result.result = NULL;
	return result;
}

/*
 * Before a call's next statement: keep its plans if they are still its
 * entry's and valid, else fetch them again (see the header comment).  The
 * caller has freed plans->result.  The values the call converted fit the
 * new plans only if the table's columns are the ones they were converted
 * for.
 */
void
ug_plancache_refresh(UgPlans *plans)
{
	const PlanEntry *entry = plans->entry;
	int			natts;
	int			nparams;
	AttrNumber *attnums;
	Oid		   *types;
	int32	   *typmods;
	int			i;

	/* no entry's plans were retired since: the entry is still there */
	if (plans->generation == generation && entry->valid &&
		plans_valid(plans->plans))
		return;

	natts = plans->target->natts;
	nparams = plans->target->nparams;
	attnums = palloc(sizeof(AttrNumber) * Max(nparams, 1));
	types = palloc(sizeof(Oid) * Max(nparams, 1));
	typmods = palloc(sizeof(int32) * Max(nparams, 1));
	for (i = 0; i < nparams; i++)
	{
		attnums[i] = plans->target->params[i].attnum;
		types[i] = plans->target->params[i].type;
		typmods[i] = plans->target->params[i].typmod;
	}

	*plans = ug_plancache_get(plans->req);

	if (plans->target->natts != natts || plans->target->nparams != nparams)
		i = -1;
	else
		for (i = 0; i < nparams; i++)
			if (plans->target->params[i].attnum != attnums[i] ||
				plans->target->params[i].type != types[i] ||
				plans->target->params[i].typmod != typmods[i])
				break;
	if (i != nparams)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" was altered during the call",
						plans->target->relname),
				 errdetail("Code that the call ran (a type's input function, a domain's check, a trigger, a default or a policy) changed the table's columns."),
				 errhint("Alter the table outside of calls that write it.")));
	pfree(attnums);
	pfree(types);
	pfree(typmods);
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
	MemoryContext scratch;
	char	   *sql[UG_NPLANS];
	SPIPlanPtr	plans[UG_NPLANS];
	size_t		i;
	bool		has_exprs = false;

	/*
	 * The statements a kind runs: select_or_insert needs no update,
	 * increment no lookup, an upsert with no update column no update.
	 * Their text is built in memory of its own: PostgreSQL's plan cache
	 * keeps a copy, so the entry need not.
	 */
	scratch = AllocSetContextCreate(old, "upsert_guard statements",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(scratch);
	memset(sql, 0, sizeof(sql));
	if (req->kind == UG_UPSERT_ROWS || req->kind == UG_UPSERT_FROM)
		sql[UG_PLAN_BATCH] = ug_sql_batch(target);	/* one statement does it all */
	else
	{
		sql[UG_PLAN_SELECT] = req->kind == UG_INCREMENT ? NULL : ug_sql_select(target);
		sql[UG_PLAN_INSERT] = ug_sql_insert(target);
		sql[UG_PLAN_UPDATE] = req->kind == UG_SELECT_OR_INSERT || target->nchanges == 0 ?
			NULL : ug_sql_update(target);
		for (i = 0; i < (size_t) target->nkeys; i++)
			has_exprs |= (target->keys[i].param < 0);
		sql[UG_PLAN_CHECK] = has_exprs || target->pred_new ? ug_sql_check(target) : NULL;
	}
	MemoryContextSwitchTo(old);

	for (i = 0; i < lengthof(plans); i++)
		plans[i] = sql[i] ? prepare(sql[i], target, req->kind) : NULL;
	MemoryContextDelete(scratch);

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
plans_valid(SPIPlanPtr const *plans)
{
	int			i;

	for (i = 0; i < UG_NPLANS; i++)
		if (plans[i] != NULL && !SPI_plan_is_valid(plans[i]))
			return false;
	return true;
}

/*
 * The memory an entry holds: its target, and for each of its plans the
 * plan source (raw and analysed statement) and the generic plan, if one
 * was made.
 */
static Size
entry_memory(const PlanEntry *entry)
{
	Size		total = 0;
	int			i;

	if (entry->cxt != NULL)
		total += MemoryContextMemAllocated(entry->cxt, true);
	for (i = 0; i < UG_NPLANS; i++)
	{
		ListCell   *lc;

		if (entry->plans[i] == NULL)
			continue;
		foreach(lc, SPI_plan_get_plan_sources(entry->plans[i]))
		{
			CachedPlanSource *ps = (CachedPlanSource *) lfirst(lc);

			total += MemoryContextMemAllocated(ps->context, true);
			if (ps->gplan != NULL)
				total += MemoryContextMemAllocated(ps->gplan->context, true);
		}
	}
	return total;
}

/*
 * Drop the least recently used entries, except keep, until the cache
 * holds at most upsert_guard.plan_cache_size.  Called when an entry was
 * built, by the only active call: nothing retired is in use.
 */
static void
evict_to_size(const PlanEntry *keep)
{
	Size		limit = (Size) ug_plan_cache_size * 1024;
	Size		total = 0;
	HASH_SEQ_STATUS status;
	PlanEntry  *entry;

	hash_seq_init(&status, plan_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		total += entry_memory(entry);

	while (total > limit)
	{
		PlanEntry  *oldest = NULL;

		hash_seq_init(&status, plan_cache);
		while ((entry = hash_seq_search(&status)) != NULL)
			if (entry != keep &&
				(oldest == NULL || entry->last_used < oldest->last_used))
				oldest = entry;
		if (oldest == NULL)
			break;				/* keep alone is over the limit */
		total -= Min(total, entry_memory(oldest));
		remove_entry(oldest);
	}
	free_retired();
}

/* Retire an entry's plans and take it out of the cache. */
static void
remove_entry(PlanEntry *entry)
{
	PlanKey		key = entry->key;

	retire_entry(entry);
	hash_search(plan_cache, &key, HASH_REMOVE, NULL);
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
	generation++;
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
	Assert(nplans <= UG_NPLANS);
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
		remove_entry(entry);
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
