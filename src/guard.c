/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Guards as data: add_guard and drop_guard, the definitions table, and
 *	  building a guard from its definition for the trigger (guard_check.c)
 *	  and for validation.
 *
 * Glossary:
 *	  guard		a named rule on a table: key columns that group its rows,
 *				a condition over "new" and "other" saying when another row
 *				of the same key conflicts with a row written, and how many
 *				such rows a row may have (max_conflicts)
 *	  definition	its row in upsert_guard.guard_definitions (names, not
 *				numbers, so pg_dump can restore it)
 *	  trigger	what enforces it: AFTER INSERT OR UPDATE OR DELETE FOR
 *				EACH ROW, named like the guard, with the guard's name as
 *				its argument
 *
 * Who may do what: only the owner of a table adds or drops its guards.
 * Nobody writes the definitions table directly (PUBLIC may read it); these
 * functions write it as the table's owner after checking the caller.  The
 * check itself runs as the guarded table's owner, like a foreign key's, so
 * it sees every row whatever the writer's privileges and row-level
 * security; the condition is that owner's code.  Everything here parses
 * and plans under search_path "pg_catalog, pg_temp", so a caller's
 * search_path cannot redirect a name in the condition.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(upsert_guard_add_guard);
PG_FUNCTION_INFO_V1(upsert_guard_drop_guard);

#define DEFINITIONS "upsert_guard.guard_definitions"

static void check_guard_name(const char *name);
static Oid	check_guarded_table(Oid relid);
static void check_owner(Oid relid);
static int	decode_key_columns(ArrayType *arr, Oid relid, char **names);
static void check_condition_is_expression(const char *conflict);
static bool find_param_ref(Node *node, void *context);
static bool parentheses_nest(const char *text);
static void condition_error_callback(void *arg);
static void validate_existing_rows(UgGuard *guard);
static Oid	definitions_owner(void);
static void write_definitions(const char *sql, int nargs, Oid *types,
							  Datum *values);

/*
 * add_guard(guard text, target regclass, key_columns text[],
 *			 conflict text, max_conflicts integer DEFAULT 0) RETURNS void
 *
 * Records the definition, installs the trigger, and checks that the rows
 * already in the table keep the rule.  The trigger's lock on the table
 * (SHARE ROW EXCLUSIVE) holds writers off until the caller commits, so
 * none can slip in between the validation and the trigger.
 */
Datum
upsert_guard_add_guard(PG_FUNCTION_ARGS)
{
	const char *argnames[] = {"guard", "target", "key_columns", "conflict",
	"max_conflicts"};
	char	   *name;
	Oid			relid;
	char	   *keys[INDEX_MAX_KEYS];
	int			nkeys;
	char	   *conflict;
	int32		max_conflicts;
	UgGuard    *guard;
	int			guc_nest;
	int			i;
	Oid			types[5] = {TEXTOID, REGCLASSOID, TEXTARRAYOID, TEXTOID, INT4OID};
	Datum		values[5];

	for (i = 0; i < PG_NARGS(); i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not be null", argnames[i])));

	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	check_guard_name(name);
	relid = check_guarded_table(PG_GETARG_OID(1));
	nkeys = decode_key_columns(PG_GETARG_ARRAYTYPE_P(2), relid, keys);
	conflict = text_to_cstring(PG_GETARG_TEXT_PP(3));
	max_conflicts = PG_GETARG_INT32(4);
	if (max_conflicts < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_conflicts must not be negative")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	guc_nest = ug_fixed_parser_settings(true);
	check_condition_is_expression(conflict);

	/* two calls adding the same name: the second waits, then sees it */
	{
		char	   *ns = psprintf("upsert_guard.add_guard %s", name);

		(void) ug_lock_take(ug_lock_key_start(ns, strlen(ns)), true);
	}

	/* definitions whose table is gone enforce nothing: clear them away */
	write_definitions("DELETE FROM " DEFINITIONS " AS d WHERE NOT EXISTS"
					  " (SELECT FROM pg_catalog.pg_class AS c"
					  " WHERE c.oid OPERATOR(pg_catalog.=) d.table_name)",
					  0, NULL, NULL);
	values[0] = PG_GETARG_DATUM(0);
	if (SPI_execute_with_args("SELECT FROM " DEFINITIONS
							  " WHERE guard OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("guard \"%s\" already exists", name),
				 errhint("Drop it with upsert_guard.drop_guard first, or choose another name.")));

	{
		Datum		keydatums[INDEX_MAX_KEYS];

		for (i = 0; i < nkeys; i++)
			keydatums[i] = CStringGetTextDatum(keys[i]);
		values[0] = CStringGetTextDatum(name);
		values[1] = ObjectIdGetDatum(relid);
		values[2] = PointerGetDatum(construct_array(keydatums, nkeys, TEXTOID,
													-1, false, TYPALIGN_INT));
		values[3] = CStringGetTextDatum(conflict);
		values[4] = Int32GetDatum(max_conflicts);
	}
	write_definitions("INSERT INTO " DEFINITIONS
					  " (guard, table_name, key_columns, conflict, max_conflicts)"
					  " VALUES ($1, $2, $3, $4, $5)", 5, types, values);

	/* the trigger, as the caller (the table's owner) */
	if (SPI_execute(psprintf("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s"
							 " FOR EACH ROW EXECUTE FUNCTION upsert_guard._guard_trigger(%s)",
							 quote_identifier(name),
							 ug_relation_qualified(relid),
							 quote_literal_cstr(name)),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "CREATE TRIGGER failed");

	guard = ug_build_guard(name, relid, relid, nkeys, keys, conflict, max_conflicts);
	validate_existing_rows(guard);

	AtEOXact_GUC(true, guc_nest);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * drop_guard(guard text, missing_ok boolean DEFAULT false) RETURNS boolean
 *
 * Drops the trigger (if its table and it are still there) and the
 * definition.  A definition whose table is gone may be dropped by anyone:
 * it enforces nothing.
 */
Datum
upsert_guard_drop_guard(PG_FUNCTION_ARGS)
{
	char	   *name;
	bool		missing_ok;
	Oid			relid;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int			guc_nest;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null",
						PG_ARGISNULL(0) ? "guard" : "missing_ok")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	missing_ok = PG_GETARG_BOOL(1);
	values[0] = PG_GETARG_DATUM(0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	guc_nest = ug_fixed_parser_settings(false);

	if (SPI_execute_with_args("SELECT table_name FROM " DEFINITIONS
							  " WHERE guard OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed == 0)
	{
		if (!missing_ok)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("guard \"%s\" does not exist", name)));
		ereport(NOTICE,
				(errmsg("guard \"%s\" does not exist, skipping", name)));
		AtEOXact_GUC(true, guc_nest);
		SPI_finish();
		PG_RETURN_BOOL(false);
	}
	relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));

	/* the owner only; checked before the lock as in add_guard, and after */
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		check_owner(relid);
	LockRelationOid(relid, AccessExclusiveLock);
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
	{
		Oid			argtypes[2] = {OIDOID, TEXTOID};
		Datum		args[2];

		check_owner(relid);
		args[0] = ObjectIdGetDatum(relid);
		args[1] = values[0];
		if (SPI_execute_with_args("SELECT FROM pg_catalog.pg_trigger"
								  " WHERE tgrelid OPERATOR(pg_catalog.=) $1"
								  " AND tgname OPERATOR(pg_catalog.=) $2"
								  " AND tgfoid OPERATOR(pg_catalog.=)"
								  " 'upsert_guard._guard_trigger()'::pg_catalog.regprocedure",
								  2, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed");
		if (SPI_processed > 0 &&
			SPI_execute(psprintf("DROP TRIGGER %s ON %s", quote_identifier(name),
								 ug_relation_qualified(relid)),
						false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "DROP TRIGGER failed");
	}
	else
		UnlockRelationOid(relid, AccessExclusiveLock);

	write_definitions("DELETE FROM " DEFINITIONS " WHERE guard OPERATOR(pg_catalog.=) $1",
					  1, types, values);

	AtEOXact_GUC(true, guc_nest);
	SPI_finish();
	PG_RETURN_BOOL(true);
}

/*
 * The guard a trigger on rel enforces, from its definition.  The trigger
 * must be on the guard's table or, for a partitioned table, on one of its
 * partitions: a trigger someone else created on another table, naming a
 * guard, must not make the check run as that guard's owner.
 */
UgGuard *
ug_load_guard(const char *name, Relation rel)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Oid			relid;
	ArrayType  *arr;
	char	   *keys[INDEX_MAX_KEYS];
	Datum	   *elems;
	int			nkeys;
	int			i;

	values[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("SELECT table_name, key_columns, conflict, max_conflicts"
							  " FROM " DEFINITIONS " WHERE guard OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	/* SPI leaves its own context current: build the guard in the caller's */
	MemoryContextSwitchTo(cxt);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("guard \"%s\" does not exist", name),
				 errdetail("Trigger \"%s\" on table \"%s\" enforces a guard that has no definition.",
						   name, RelationGetRelationName(rel)),
				 errhint("Drop the trigger, or declare the guard again with upsert_guard.add_guard.")));

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	if (relid != RelationGetRelid(rel) &&
		!(rel->rd_rel->relispartition &&
		  list_member_oid(get_partition_ancestors(RelationGetRelid(rel)), relid)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("trigger on table \"%s\" does not belong to guard \"%s\"",
						RelationGetRelationName(rel), name),
				 errdetail("Guard \"%s\" is declared on another table.", name),
				 errhint("Drop the trigger; declare guards with upsert_guard.add_guard.")));

	arr = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nkeys);
	if (nkeys < 1 || nkeys > INDEX_MAX_KEYS)
		elog(ERROR, "guard \"%s\" has %d key columns", name, nkeys);
	for (i = 0; i < nkeys; i++)
		keys[i] = TextDatumGetCString(elems[i]);

	return ug_build_guard(name, relid, RelationGetRelid(rel), nkeys, keys,
						  TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull)),
						  DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull)));
}

/*
 * A guard as a trigger on trigrelid (the guard's table, or a partition of
 * it) sees it: key columns resolved by name, with their equality
 * operators and hash functions.  Allocated in the current context.
 */
UgGuard *
ug_build_guard(const char *name, Oid relid, Oid trigrelid, int nkeys,
			   char **keys, const char *conflict, int32 max_conflicts)
{
	UgGuard    *guard = palloc0(sizeof(UgGuard));
	int			i;

	guard->name = pstrdup(name);
	guard->relid = relid;
	guard->trigrelid = trigrelid;
	guard->relkind = get_rel_relkind(relid);
	guard->owner = ug_relation_owner(relid);
	guard->relname = get_rel_name(relid);
	guard->qualified = ug_relation_qualified(relid);
	guard->rowtype = get_rel_type_id(trigrelid);
	guard->conflict = pstrdup(conflict);
	guard->max_conflicts = max_conflicts;
	guard->namespace_hash = ug_lock_key_start(name, strlen(name));
	guard->nkeys = nkeys;
	for (i = 0; i < nkeys; i++)
	{
		AttrNumber	attnum = get_attnum(trigrelid, keys[i]);
		int32		typmod;
		TypeCacheEntry *tc;
		char	   *what;

		if (attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of guard \"%s\" does not exist",
							keys[i], name),
					 errhint("A guard's key columns are kept by name: renaming or "
							 "dropping one breaks the guard; drop it and add it again.")));
		guard->attnums[i] = attnum;
		guard->keynames[i] = pstrdup(keys[i]);
		get_atttypetypmodcoll(trigrelid, attnum, &guard->keytypes[i], &typmod,
							  &guard->collations[i]);
		tc = lookup_type_cache(guard->keytypes[i], TYPECACHE_EQ_OPR);
		if (!OidIsValid(tc->eq_opr))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("could not identify an equality operator for type %s",
							format_type_be(guard->keytypes[i])),
					 errdetail("Key column \"%s\" of guard \"%s\" needs one.",
							   keys[i], name)));
		guard->eqops[i] = tc->eq_opr;
		what = psprintf("Key column \"%s\"", keys[i]);
		ug_lock_hash_function(guard->keytypes[i], &guard->hashfns[i],
							  CurrentMemoryContext, what);
	}
	return guard;
}

/* quoted schema.table */
char *
ug_relation_qualified(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

Oid
ug_relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* A guard's name is its trigger's name and its lock namespace. */
static void
check_guard_name(const char *name)
{
	if (name[0] == '\0' || strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid guard name \"%s\"", name),
				 errdetail("A guard's name must have 1 to %d bytes: it names its trigger.",
						   NAMEDATALEN - 1)));
}

/*
 * A table (or partitioned table) the caller owns, locked against writes.
 * Ownership is checked before the lock too, so a caller who may not add a
 * guard cannot queue a lock on a busy table that blocks its writers.
 */
static Oid
check_guarded_table(Oid relid)
{
	char		relkind;

	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		check_owner(relid);
	LockRelationOid(relid, ShareRowExclusiveLock);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(relid)),
				 errdetail("Guards are enforced by row triggers on tables and partitioned tables.")));
	if (relkind == RELKIND_RELATION && has_subclass(relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot add a guard to table \"%s\", which has inheritance children",
						get_rel_name(relid)),
				 errdetail("Rows written to a child table would not be guarded.")));
	check_owner(relid);
	return relid;
}

/* Only a table's owner adds or drops its guards (42501). */
static void
check_owner(Oid relid)
{
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER,
					   get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
}

/* Key column names: 1 to INDEX_MAX_KEYS user columns, no repeats. */
static int
decode_key_columns(ArrayType *arr, Oid relid, char **names)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	int			j;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("key_columns must be a one-dimensional array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n < 1 || n > INDEX_MAX_KEYS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a guard must have 1 to %d key columns, not %d",
						INDEX_MAX_KEYS, n)));
	for (i = 0; i < n; i++)
	{
		AttrNumber	attnum;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("key_columns must not contain nulls")));
		names[i] = TextDatumGetCString(elems[i]);
		attnum = get_attnum(relid, names[i]);
		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							names[i], get_rel_name(relid))));
		if (attnum < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("system column \"%s\" cannot be a guard's key column",
							names[i])));
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" appears twice in key_columns",
								names[i])));
	}
	return n;
}

/*
 * The condition goes into generated SQL as text, so it must be one
 * expression and nothing else: "SELECT (<it>)" must parse as a single
 * SELECT of one value with no other clause.  Text that closes the
 * parenthesis to add a FROM, a second statement or a comment cannot.
 */
static void
check_condition_is_expression(const char *conflict)
{
	List	   *raw;
	SelectStmt *s = NULL;
	bool		ok = false;
	ErrorContextCallback errcb;

	errcb.callback = condition_error_callback;
	errcb.arg = (void *) conflict;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	raw = raw_parser(psprintf("SELECT (\n%s\n)", conflict), RAW_PARSE_DEFAULT);
	error_context_stack = errcb.previous;

	/*
	 * The check embeds the condition as "... AND (\n<it>\n)": text that
	 * closes our parenthesis and opens one of its own, "true) OR (true",
	 * parses as one expression above but would escape the AND there.  No
	 * parenthesis of the condition may close one it did not open.
	 */
	if (!parentheses_nest(conflict))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("guard condition must be a single SQL expression"),
				 errdetail("A closing parenthesis in the condition has no opening one before it.")));

	if (list_length(raw) == 1 && IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
	{
		s = (SelectStmt *) ((RawStmt *) linitial(raw))->stmt;

		ok = s->op == SETOP_NONE && list_length(s->targetList) == 1 &&
			s->fromClause == NIL && s->whereClause == NULL &&
			s->groupClause == NIL && s->havingClause == NULL &&
			s->windowClause == NIL && s->sortClause == NIL &&
			s->limitCount == NULL && s->limitOffset == NULL &&
			s->lockingClause == NIL && s->withClause == NULL &&
			s->distinctClause == NIL && s->intoClause == NULL &&
			s->valuesLists == NIL;
	}
	if (ok)
	{
		ParamRef   *param = NULL;

		(void) find_param_ref(linitial(s->targetList), &param);
		if (param != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_PARAMETER),
					 errmsg("there is no parameter $%d in a guard condition", param->number),
					 errdetail("The condition refers to the rows as \"new\" and \"other\"; it has no parameters.")));
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("guard condition must be a single SQL expression"),
				 errdetail("The condition is a boolean expression over \"new\" "
						   "(the row written) and \"other\" (another row with "
						   "the same key).")));
}

/*
 * Whether every ')' token of the text closes a '(' token before it.
 * Tokens, from PostgreSQL's own scanner: parentheses inside string
 * literals, quoted identifiers and comments are none.  Called once the
 * condition has parsed, so the scanner meets no error of its own.
 */
static bool
parentheses_nest(const char *text)
{
	core_yy_extra_type extra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	core_yyscan_t scanner;
	int			depth = 0;
	int			token;

	scanner = scanner_init(text, &extra, &ScanKeywords, ScanKeywordTokens);
	while ((token = core_yylex(&yylval, &yylloc, scanner)) != 0)
	{
		if (token == '(')
			depth++;
		else if (token == ')' && --depth < 0)
			break;
	}
	scanner_finish(scanner);
	return depth >= 0;
}

/* The first parameter reference ($n) in a raw expression tree, if any. */
static bool
find_param_ref(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, ParamRef))
	{
		*(ParamRef **) context = (ParamRef *) node;
		return true;
	}
	return raw_expression_tree_walker(node, find_param_ref, context);
}

/*
 * A syntax error's position is in our "SELECT (\n<condition>\n)": report
 * it in the condition itself, not in the caller's statement.
 */
static void
condition_error_callback(void *arg)
{
	const char *conflict = arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		pos -= strlen("SELECT (\n");
		pos = Max(pos, 1);
		pos = Min(pos, (int) strlen(conflict) + 1);
		errposition(0);
		internalerrposition(pos);
		internalerrquery(conflict);
	}
	errcontext("guard condition");
}

/*
 * Prepare the guard's check (which validates the condition: columns,
 * types, a boolean result) and look for a row of the table that already
 * breaks the rule, reading the latest committed rows.
 */
static void
validate_existing_rows(UgGuard *guard)
{
	Oid			types[3] = {guard->rowtype, OIDOID, TIDOID};
	Oid			vtypes[1] = {INT4OID};
	Datum		values[1];
	SPIPlanPtr	plan;
	Oid			save_userid;
	int			save_sec;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(guard->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);

	if (SPI_prepare(ug_sql_guard_check(guard), 3, types) == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));

	plan = SPI_prepare(ug_sql_guard_validate(guard), 1, vtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	values[0] = Int32GetDatum(guard->max_conflicts);
	if (SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(),
							 InvalidSnapshot, false, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed");

	SetUserIdAndSecContext(save_userid, save_sec);

	if (SPI_processed > 0)
	{
		char	   *row = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *other = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		ereport(ERROR,
				(errcode(ERRCODE_EXCLUSION_VIOLATION),
				 errmsg("existing rows of table \"%s\" violate guard \"%s\"",
						guard->relname, guard->name),
				 guard->max_conflicts == 0 ?
				 errdetail("Row %s conflicts with row %s.", row, other) :
				 errdetail("Row %s conflicts with more than %d rows; one of them is %s.",
						   row, guard->max_conflicts, other),
				 errhint("Fix or delete the rows that break the rule, then add the guard.")));
	}
}

/* The definitions table's owner: the role that writes it for callers. */
static Oid
definitions_owner(void)
{
	Oid			nsp = get_namespace_oid("upsert_guard", false);
	Oid			relid = get_relname_relid("guard_definitions", nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "table " DEFINITIONS " is missing");
	return ug_relation_owner(relid);
}

/* Run a statement on the definitions table as its owner. */
static void
write_definitions(const char *sql, int nargs, Oid *types, Datum *values)
{
	Oid			save_userid;
	int			save_sec;
	int			rc;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(definitions_owner(),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (rc != SPI_OK_INSERT && rc != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
}
