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
 *				keyed by table, column set, conflict columns and lock mode
 *				(plancache.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef UPSERT_GUARD_H
#define UPSERT_GUARD_H

#include "postgres.h"

#include "access/attnum.h"
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

/* One key column of the arbiter index. */
typedef struct UgKeyColumn
{
	int			param;			/* index into UgTarget.params */
	Oid			eqop;			/* the index opclass's equality operator */
	Oid			collation;		/* explicit collation, or InvalidOid */
} UgKeyColumn;

/* The table and arbiter as the generated SQL sees them. */
typedef struct UgTarget
{
	Oid			relid;
	char		relkind;
	char	   *relname;		/* unquoted, for messages */
	char	   *qualified;		/* quoted schema.table, for SQL */
	char	   *alias;			/* quoted alias that no column shadows */
	UgLockMode	lock;
	int			nparams;
	UgParam    *params;
	int			nkeys;
	UgKeyColumn keys[INDEX_MAX_KEYS];
	char	   *index_name;		/* the arbiter index, for messages */
	bool		nulls_not_distinct;
} UgTarget;

/* A plan-cache entry's usable part. */
typedef struct UgPlans
{
	const UgTarget *target;
	SPIPlanPtr	select_plan;
	SPIPlanPtr	insert_plan;
} UgPlans;

/* args.c */
extern void ug_decode_call(FunctionCallInfo fcinfo, bool with_lock,
						   UgRequest *req);
extern void ug_convert_values(const UgRequest *req, const UgTarget *target,
							  Datum *values, char *nulls);
extern int	ug_compare_attnums(const void *a, const void *b);
extern char *ug_describe_key(const UgTarget *target, const Datum *values,
							 const char *nulls);

/* target.c */
extern UgTarget *ug_build_target(const UgRequest *req);

/* sqlgen.c */
extern char *ug_sql_select(const UgTarget *target);
extern char *ug_sql_insert(const UgTarget *target);

/* plancache.c */
extern void ug_plancache_init(void);
extern UgPlans ug_plancache_get(const UgRequest *req);
extern void ug_plancache_pin(void);
extern void ug_plancache_unpin(void);

/* select_or_insert.c */
extern void ug_select_or_insert_init(void);

#endif							/* UPSERT_GUARD_H */
