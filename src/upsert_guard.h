/*-------------------------------------------------------------------------
 *
 * upsert_guard.h
 *	  Declarations shared by the files of the upsert_guard extension.
 *
 * Glossary:
 *	  request	what one call's arguments say, checked against the catalog
 *				(args.c)
 *	  target	the table as the generated SQL sees it: quoted names, the
 *				parameters in attribute-number order, the arbiter index's
 *				key columns and their equality operators (target.c)
 *	  entry		a plan-cache entry: one target and its prepared plans,
 *				keyed by call kind, table, column sets, conflict columns
 *				and lock mode (plancache.c)
 *	  kind		a SQL-callable call: select_or_insert, idempotent_upsert,
 *				increment; its arguments and one round of its retry loop
 *				(call.c runs the loop; one file per kind)
 *	  guard		a rule on a table enforced by a trigger: key columns, a
 *				condition over "new" and "other", max_conflicts (guard.c
 *				declares, guard_check.c enforces, locks.c locks)
 *	  stats		race counters per call kind, per backend and (preloaded)
 *				cluster-wide (stats.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef UPSERT_GUARD_H
#define UPSERT_GUARD_H

#include "postgres.h"

#include "access/attnum.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "pg_config_manual.h"
#include "utils/jsonb.h"

/* Row lock taken on an existing row before it is returned. */
typedef enum UgLockMode
{
	UG_LOCK_NONE,
	UG_LOCK_KEY_SHARE,
	UG_LOCK_SHARE,
	UG_LOCK_NO_KEY_UPDATE,
	UG_LOCK_UPDATE
} UgLockMode;

/* Which call: decides the statements an entry prepares. */
typedef enum UgKind
{
	UG_SELECT_OR_INSERT,
	UG_IDEMPOTENT_UPSERT,
	UG_INCREMENT,
	UG_UPSERT_ROWS,				/* idempotent_upsert_batch: a jsonb array */
	UG_UPSERT_FROM				/* idempotent_upsert_from: a relation */
} UgKind;

/* Positions of a call's optional arguments; -1: the call has none. */
typedef struct UgArgLayout
{
	int			conflict;
	int			lock;
	int			update_columns;
	int			deltas;
	int			arbiter;
} UgArgLayout;

/* One key of new_row: the column it names and its JSON value. */
typedef struct UgColumnValue
{
	AttrNumber	attnum;
	JsonbValue	value;
} UgColumnValue;

/* A decoded call. */
typedef struct UgRequest
{
	Oid			relid;
	char	   *relname;		/* unquoted, for messages */
	int			ncolumns;
	UgColumnValue *columns;		/* sorted by attnum */
	int			nconflict;		/* 0: infer the conflict columns */
	AttrNumber	conflict[INDEX_MAX_KEYS];	/* sorted */
	UgLockMode	lock;
	UgKind		kind;
	char	   *arbiter;		/* unique index or constraint named, or NULL */

	/* batches: the rows' count, or the source relation; outcome per row? */
	int64		nrows;
	Oid			source;
	bool		per_row;

	/*
	 * Columns the call changes on an existing row, sorted by attnum:
	 * idempotent_upsert's update columns (their values are new_row's; NULL
	 * update_columns leaves changes_default set and nchanges 0), or
	 * increment's deltas, with their values.
	 */
	bool		changes_default;
	int			nchanges;
	UgColumnValue *changes;
} UgRequest;

/* One $n parameter of the generated SQL: a column of new_row. */
typedef struct UgParam
{
	AttrNumber	attnum;
	char	   *name;			/* unquoted column name */
	Oid			type;
	int32		typmod;
	bool		direct_jsonb;	/* a jsonb column: no text round trip */
	bool		json_text;		/* json, jsonb or a domain over one */
	FmgrInfo	input;
	Oid			ioparam;
	Oid			output;			/* output function, for error details */
} UgParam;

/* One key column or expression of the arbiter index. */
typedef struct UgKeyColumn
{
	int			param;			/* index into UgTarget.params; -1: expression */
	Oid			eqop;			/* the index opclass's equality operator */
	Oid			collation;		/* explicit collation, or InvalidOid */
	/* an expression, deparsed: over the row, over $n, and for ON CONFLICT */
	char	   *expr_row;
	char	   *expr_new;
	char	   *expr_infer;
	char	   *expr_batch;		/* over the batch row "b" */
} UgKeyColumn;

/* A column the call changes on an existing row. */
typedef struct UgChange
{
	int			param;			/* the new value (upsert) or the delta */
	Oid			eqop;			/* upsert: the type's equality operator */
	bool		collatable;		/* upsert: compare under the "C" collation */
} UgChange;

/* The table and arbiter as the generated SQL sees them. */
typedef struct UgTarget
{
	Oid			relid;
	Oid			source;			/* idempotent_upsert_from's relation */
	char	   *source_qualified;
	char		relkind;
	char	   *relname;		/* unquoted, for messages */
	char	   *qualified;		/* quoted schema.table, for SQL */
	char	   *alias;			/* quoted alias that no column shadows */
	UgLockMode	lock;
	UgKind		kind;
	int			nparams;		/* new_row's columns, then increment's deltas */
	int			ncolumns;		/* new_row's columns: $1 .. $ncolumns */
	UgParam    *params;
	int			nchanges;
	UgChange   *changes;
	int			nkeys;
	UgKeyColumn keys[INDEX_MAX_KEYS];
	char	   *index_name;		/* the arbiter index, for messages */
	bool		nulls_not_distinct;
	/* a partial arbiter's predicate, deparsed like expressions; or NULL */
	char	   *pred_row;
	char	   *pred_new;
	char	   *pred_infer;
	char	   *pred_batch;
	/* batches: names no column has, for the columns the statement adds */
	char	   *ord_column;		/* the row's position in the batch */
	char	   *rid_column;		/* the ctid of the row it matched */
	char	   *rel_column;		/* and its tableoid (partitioned tables) */
	char	   *differs_column; /* whether that row differs */
	bool		per_row;		/* batches: an outcome per row, not counts */
	bool		has_ordinality; /* a column is named "ordinality" */
	/*
	 * The parameters the key depends on: every column the arbiter's key,
	 * expressions and predicate read (up to the table's column count, not
	 * INDEX_MAX_KEYS).
	 */
	int			nkeyparams;
	int		   *keyparams;
	int			natts;			/* the table's attributes, dropped ones too */
} UgTarget;

/* The statements of a plan-cache entry, by slot. */
typedef enum UgPlanSlot
{
	UG_PLAN_SELECT,				/* NULL for increment */
	UG_PLAN_INSERT,
	UG_PLAN_UPDATE,				/* NULL for select_or_insert */
	UG_PLAN_CHECK,				/* named arbiter with expressions or a
								 * predicate: does new_row have a key? */
	UG_NPLANS
} UgPlanSlot;

/* a batch's one statement sits in the first slot */
#define UG_PLAN_BATCH UG_PLAN_SELECT

/*
 * A plan-cache entry's usable part, for one call.  ug_run_plan refreshes
 * it in place when code the call ran (a domain's check, a trigger) made
 * the plans stale: see plancache.c.
 */
typedef struct UgPlans
{
	const UgTarget *target;
	SPIPlanPtr	plans[UG_NPLANS];
	const UgRequest *req;		/* what the entry was built from */
	void	   *entry;			/* plancache.c's */
	uint64		generation;		/* plancache.c's, when fetched */
	SPITupleTable *result;		/* the last statement's rows, or NULL */
} UgPlans;

/* A SQL-callable call: its name, arguments and one round of its loop. */
typedef struct UgCallKind
{
	UgKind		kind;
	const char *name;			/* for error context: "select_or_insert" */
	const char *action;			/* for giving up: "select or insert" */
	UgArgLayout args;
	bool		per_row;		/* batches: an outcome per row, not counts */
	/* one round: true and the row and outcome when done */
	bool		(*round) (UgPlans *plans, Datum *values, const char *nulls,
						  const char **outcome, Datum *row);
} UgCallKind;

/* A guard as its trigger on one relation sees it. */
typedef struct UgGuard
{
	char	   *name;
	Oid			relid;			/* the table it is declared on */
	Oid			trigrelid;		/* the relation the trigger fires on: relid,
								 * or a partition of it */
	char		relkind;		/* relid's */
	Oid			owner;			/* relid's owner: checks run as this role */
	char	   *relname;		/* unquoted, for messages */
	char	   *qualified;		/* quoted schema.table, for SQL */
	Oid			rowtype;		/* trigrelid's row type: the check's $1 */
	char	   *conflict;		/* the condition over "new" and "other" */
	int32		max_conflicts;
	uint64		namespace_hash; /* the lock key's first step */
	int			nkeys;
	AttrNumber	attnums[INDEX_MAX_KEYS];	/* in trigrelid */
	char	   *keynames[INDEX_MAX_KEYS];	/* unquoted */
	Oid			keytypes[INDEX_MAX_KEYS];
	Oid			collations[INDEX_MAX_KEYS];
	Oid			eqops[INDEX_MAX_KEYS];
	FmgrInfo	hashfns[INDEX_MAX_KEYS];	/* extended hash, for lock keys */
} UgGuard;

/* args.c */
extern void ug_decode_call(FunctionCallInfo fcinfo, const UgCallKind *kind,
						   UgRequest *req);
extern void ug_convert_values(const UgRequest *req, const UgTarget *target,
							  Datum *values, char *nulls);
extern int	ug_compare_attnums(const void *a, const void *b);
extern char *ug_format_key(int n, char *const *names, const Oid *outputs,
						   const Datum *values, const bool *isnull);
extern char *ug_describe_key(const UgTarget *target, const Datum *values,
							 const char *nulls);
extern const char *ug_row_argument(UgKind kind);

/* target.c */
extern UgTarget *ug_build_target(const UgRequest *req);

/* sqlgen.c */
extern char *ug_sql_select(const UgTarget *target);
extern char *ug_sql_insert(const UgTarget *target);
extern char *ug_sql_update(const UgTarget *target);
extern char *ug_sql_check(const UgTarget *target);
extern char *ug_sql_batch(const UgTarget *target);
extern char *ug_sql_guard_check(const UgGuard *guard);
extern char *ug_sql_guard_validate(const UgGuard *guard);

/* plancache.c */
extern void ug_plancache_init(void);
extern int	ug_plan_cache_size;
extern UgPlans ug_plancache_get(const UgRequest *req);
extern void ug_plancache_refresh(UgPlans *plans);
extern void ug_plancache_pin(void);
extern void ug_plancache_unpin(void);
extern UgGuard *ug_plancache_guard(Relation rel, const Trigger *trigger,
								   SPIPlanPtr *check_plan);

/* locks.c */
extern uint64 ug_lock_key_start(const char *namespace, int len);
extern uint64 ug_lock_key_add(uint64 h, FmgrInfo *hash_extended,
							  Oid collation, Datum value);
extern void ug_lock_hash_function(Oid type, FmgrInfo *finfo,
								  MemoryContext cxt, const char *what);
extern bool ug_lock_take(uint64 key, bool wait);

/* guard.c */
extern UgGuard *ug_load_guard(const char *name, Relation rel);
extern UgGuard *ug_build_guard(const char *name, Oid relid, Oid trigrelid,
							   int nkeys, char **keys, const char *conflict,
							   int32 max_conflicts);
extern char *ug_relation_qualified(Oid relid);
extern Oid	ug_relation_owner(Oid relid);

/* stats.c: the rows and columns of upsert_guard.backend_stats() */
typedef enum UgStatCall
{
	UG_STAT_SELECT_OR_INSERT,
	UG_STAT_IDEMPOTENT_UPSERT,
	UG_STAT_INCREMENT,
	UG_STAT_BATCH,				/* idempotent_upsert_batch and _from */
	UG_STAT_GUARD,				/* rows a guard's trigger checked */
	UG_STAT_NCALLS
} UgStatCall;

typedef enum UgStatCounter
{
	UG_STAT_CALLS,
	UG_STAT_FOUND,
	UG_STAT_INSERTED,
	UG_STAT_UPDATED,
	UG_STAT_UNCHANGED,
	UG_STAT_RETRIES,			/* rounds after a call's first */
	UG_STAT_EXHAUSTED,			/* calls that gave up after max_attempts */
	UG_STAT_WAITS,				/* guard checks that waited for a key's lock */
	UG_STAT_VIOLATIONS,			/* rows a guard refused (23P01 or 40001) */
	UG_STAT_NCOUNTERS
} UgStatCounter;

extern void ug_stats_init(void);
extern void ug_stat_add(UgStatCall call, UgStatCounter counter, uint64 n);
extern UgStatCall ug_stat_call(UgKind kind);
extern UgStatCounter ug_stat_outcome(const char *outcome);

/* call.c */
typedef Datum (*UgBody) (const UgCallKind *kind, const UgRequest *req, void *arg);

/* upsert_guard.max_attempts: enough for any real churn, and a bound on it */
#define UG_MAX_ATTEMPTS_LIMIT 1000
extern int	ug_max_attempts;
extern void ug_call_init(void);
extern int	ug_fixed_parser_settings(bool evaluation);
extern Datum ug_guarded_call(FunctionCallInfo fcinfo, const UgCallKind *kind,
							 UgBody body, void *arg);
extern void ug_give_up(const UgCallKind *kind, const UgTarget *target,
					   const char *key);
extern Datum ug_call(FunctionCallInfo fcinfo, const UgCallKind *kind,
					 const char **outcome);
extern Datum ug_call_with_outcome(FunctionCallInfo fcinfo,
								  const UgCallKind *kind);
extern bool ug_run_plan(UgPlans *plans, UgPlanSlot slot, Datum *values,
						const char *nulls, Datum *row, bool *flag);

#endif							/* UPSERT_GUARD_H */
