/*-------------------------------------------------------------------------
 *
 * args.c
 *	  Decoding of the arguments of every upsert_guard call: the target row
 *	  type, the new_row object, the conflict columns, the lock mode, the
 *	  update columns and the deltas; and the conversion of JSON values into
 *	  column values.
 *
 * Nothing here builds SQL or touches plans.  Names are checked against
 * the catalog here, so that everything downstream works on attribute
 * numbers only.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/syscache.h"

static void decode_target(FunctionCallInfo fcinfo, UgRequest *req);
static void check_privileges(Oid relid, AclMode modes);
static AclMode privileges_needed(UgKind kind);
static void lock_table(UgRequest *req);
static void decode_new_row(FunctionCallInfo fcinfo, UgRequest *req);
static void decode_rows(FunctionCallInfo fcinfo, UgRequest *req);
static void decode_source(FunctionCallInfo fcinfo, UgRequest *req);
static void decode_conflict(FunctionCallInfo fcinfo, int argno, UgRequest *req);
static UgLockMode decode_lock(FunctionCallInfo fcinfo, int argno);
static void decode_update_columns(FunctionCallInfo fcinfo, int argno,
								  UgRequest *req);
static void decode_deltas(FunctionCallInfo fcinfo, int argno, UgRequest *req);
static int	decode_object(FunctionCallInfo fcinfo, int argno, const char *argname,
						  const UgRequest *req, UgColumnValue **out);
static int	decode_names(FunctionCallInfo fcinfo, int argno, const char *argname,
						 const UgRequest *req, AttrNumber **out);
static bool in_new_row(const UgRequest *req, AttrNumber attnum);
static bool empty_batch(const UgRequest *req);
static int	object_columns(JsonbContainer *obj, const UgRequest *req,
						   UgColumnValue **out);
static bool same_keys(JsonbContainer *a, JsonbContainer *b);
static void decode_arbiter(FunctionCallInfo fcinfo, int argno, UgRequest *req);
static AttrNumber column_attnum(const UgRequest *req, const char *name);
static int	compare_column_values(const void *a, const void *b);
static char *json_value_text(const JsonbValue *v, bool as_json);
static void conversion_error_callback(void *arg);

/* Every call takes these two first; the rest are in UgArgLayout. */
#define ARG_TARGET		0
#define ARG_NEW_ROW		1

/*
 * Decode a call's arguments, those its kind takes.
 */
void
ug_decode_call(FunctionCallInfo fcinfo, const UgCallKind *kind, UgRequest *req)
{
	memset(req, 0, sizeof(UgRequest));
	req->kind = kind->kind;
	req->per_row = kind->per_row;
	decode_target(fcinfo, req);
	check_privileges(req->relid, privileges_needed(req->kind));
	lock_table(req);
	if (kind->kind == UG_UPSERT_ROWS)
		decode_rows(fcinfo, req);
	else if (kind->kind == UG_UPSERT_FROM)
		decode_source(fcinfo, req);
	else
		decode_new_row(fcinfo, req);
	if (kind->args.conflict >= 0)
		decode_conflict(fcinfo, kind->args.conflict, req);
	req->lock = kind->args.lock >= 0 ?
		decode_lock(fcinfo, kind->args.lock) : UG_LOCK_NONE;
	if (kind->args.update_columns >= 0)
		decode_update_columns(fcinfo, kind->args.update_columns, req);
	if (kind->args.deltas >= 0)
		decode_deltas(fcinfo, kind->args.deltas, req);
	if (kind->args.arbiter >= 0)
		decode_arbiter(fcinfo, kind->args.arbiter, req);
}

/*
 * target: NULL::some_table names the table and the result type.
 */
static void
decode_target(FunctionCallInfo fcinfo, UgRequest *req)
{
	Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, ARG_TARGET);
	Oid			relid;

	if (!OidIsValid(typid))
		elog(ERROR, "could not determine the type of argument \"target\"");

	relid = get_typ_typrelid(typid);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("argument \"target\" must have the row type of a table"),
				 errdetail("Type %s is not the row type of a table.",
						   format_type_be(typid)),
				 errhint("Pass NULL::tablename as the first argument.")));

	if (!PG_ARGISNULL(ARG_TARGET))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"target\" must be a null value"),
				 errdetail("The first argument only names the table; its value would be ignored."),
				 errhint("Pass NULL::%s as the first argument.",
						 format_type_be(typid))));

	req->relid = relid;
}

/*
 * The privileges every call of a kind needs, whatever its rows turn out
 * to be: the lookup (or increment's UPDATE ... RETURNING) reads the row,
 * increment always updates, a batch's one statement inserts and updates.
 */
static AclMode
privileges_needed(UgKind kind)
{
	switch (kind)
	{
		case UG_SELECT_OR_INSERT:
		case UG_IDEMPOTENT_UPSERT:
			return ACL_SELECT;
		case UG_INCREMENT:
			return ACL_SELECT | ACL_UPDATE;
		case UG_UPSERT_ROWS:
		case UG_UPSERT_FROM:
			return ACL_SELECT | ACL_INSERT | ACL_UPDATE;
	}
	pg_unreachable();
}

/*
 * Refuse (42501) a caller without each of the privileges, on the table
 * or on at least one of its columns, before anything is locked: a role
 * that may not use the table must not hold a lock that queues its DDL,
 * VACUUM FULL or REINDEX, as LOCK TABLE refuses it.  The statements check
 * the exact column privileges when they run.
 */
static void
check_privileges(Oid relid, AclMode modes)
{
	static const AclMode each[] = {ACL_SELECT, ACL_INSERT, ACL_UPDATE};
	Oid			userid = GetUserId();
	size_t		i;

	for (i = 0; i < lengthof(each); i++)
	{
		char	   *relname;

		if ((modes & each[i]) == 0 ||
			pg_class_aclcheck(relid, userid, each[i]) == ACLCHECK_OK ||
			pg_attribute_aclcheck_all(relid, userid, each[i], ACLMASK_ANY) == ACLCHECK_OK)
			continue;
		relname = get_rel_name(relid);
		if (relname == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", relid)));
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(get_rel_relkind(relid)),
					   relname);
	}
}

/*
 * Lock the table, then read its name and kind.  Taking the lock processes
 * pending invalidations, and holding it keeps concurrent DDL from renaming
 * or dropping what the rest of the call resolves until the transaction
 * ends.
 */
static void
lock_table(UgRequest *req)
{
	HeapTuple	tup;
	Form_pg_class form;

	LockRelationOid(req->relid, AccessShareLock);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(req->relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the table of argument \"target\" was dropped by a concurrent transaction")));
	form = (Form_pg_class) GETSTRUCT(tup);
	req->relname = pstrdup(NameStr(form->relname));
	if (form->relkind != RELKIND_RELATION &&
		form->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", req->relname),
				 errdetail("Only ordinary and partitioned tables can be targets.")));
	ReleaseSysCache(tup);
}

/*
 * new_row: a JSON object of column name to value.
 */
static void
decode_new_row(FunctionCallInfo fcinfo, UgRequest *req)
{
	req->ncolumns = decode_object(fcinfo, ARG_NEW_ROW, "new_row", req,
								  &req->columns);
}

/*
 * rows (idempotent_upsert_batch): a JSON array of objects, every one with
 * the same keys; the columns are those keys, their values are read by the
 * statement itself (jsonb_populate_record).
 */
static void
decode_rows(FunctionCallInfo fcinfo, UgRequest *req)
{
	Jsonb	   *jb;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbContainer *first = NULL;

	if (PG_ARGISNULL(ARG_NEW_ROW))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"rows\" must not be null")));
	jb = PG_GETARG_JSONB_P(ARG_NEW_ROW);
	if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"rows\" must be a JSON array of objects")));

	it = JsonbIteratorInit(&jb->root);
	tok = JsonbIteratorNext(&it, &v, false);	/* WJB_BEGIN_ARRAY */
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;			/* WJB_END_ARRAY */
		req->nrows++;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("element %lld of argument \"rows\" is not a JSON object",
							(long long) req->nrows)));
		if (first == NULL)
		{
			first = v.val.binary.data;
			req->ncolumns = object_columns(first, req, &req->columns);
		}
		else if (!same_keys(first, v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("element %lld of argument \"rows\" has other keys than element 1",
							(long long) req->nrows),
					 errdetail("Every row of a batch must give the same columns.")));
	}
}

/* The argument that gives a call's column values, for messages. */
const char *
ug_row_argument(UgKind kind)
{
	switch (kind)
	{
		case UG_UPSERT_ROWS:
			return "rows";
		case UG_UPSERT_FROM:
			return "source";
		default:
			return "new_row";
	}
}

/*
 * source (idempotent_upsert_from): a relation whose columns, matched by
 * name, are columns of the table.
 */
static void
decode_source(FunctionCallInfo fcinfo, UgRequest *req)
{
	Relation	src;
	TupleDesc	desc;
	int			i;

	if (PG_ARGISNULL(ARG_NEW_ROW))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"source\" must not be null")));
	req->source = PG_GETARG_OID(ARG_NEW_ROW);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(req->source)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", req->source),
				 errdetail("Argument \"source\" names no relation.")));
	check_privileges(req->source, ACL_SELECT);
	src = try_relation_open(req->source, AccessShareLock);
	if (src == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", req->source),
				 errdetail("Argument \"source\" names no relation.")));
	desc = RelationGetDescr(src);
	req->columns = palloc0(sizeof(UgColumnValue) * Max(desc->natts, 1));
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		req->columns[req->ncolumns++].attnum =
			column_attnum(req, NameStr(att->attname));
	}
	relation_close(src, NoLock);
	qsort(req->columns, req->ncolumns, sizeof(UgColumnValue), compare_column_values);
}

/*
 * The keys of a JSON object as columns, with their values, sorted by
 * attnum: parameters follow attribute-number order, whatever the object's
 * order.
 */
static int
object_columns(JsonbContainer *obj, const UgRequest *req, UgColumnValue **out)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;
	UgColumnValue *columns = palloc0(sizeof(UgColumnValue) *
									 Max(JsonContainerSize(obj), 1));
	int			n = 0;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		UgColumnValue *col;

		if (tok != WJB_KEY)
			continue;			/* WJB_BEGIN_OBJECT, WJB_END_OBJECT */

		col = &columns[n++];
		col->attnum = column_attnum(req, pnstrdup(v.val.string.val,
												  v.val.string.len));
		tok = JsonbIteratorNext(&it, &col->value, true);
		Assert(tok == WJB_VALUE);
	}
	qsort(columns, n, sizeof(UgColumnValue), compare_column_values);
	*out = columns;
	return n;
}

/*
 * Whether two objects have the same keys.  jsonb stores an object's keys
 * sorted, first, and back to back: their entries (type and length, or
 * offset at fixed strides) and then their bytes.  Two objects have the
 * same keys exactly when both match byte for byte, which costs two
 * memcmp calls per row of a 100k-row batch instead of a walk.
 */
static bool
same_keys(JsonbContainer *a, JsonbContainer *b)
{
	uint32		n = JsonContainerSize(a);
	uint32		len = 0;
	int			i;

	if (n != JsonContainerSize(b))
		return false;
	if (memcmp(a->children, b->children, sizeof(JEntry) * n) != 0)
		return false;

	/* the keys' bytes end where the first value's begin */
	for (i = (int) n - 1; i >= 0; i--)
	{
		len += JBE_OFFLENFLD(a->children[i]);
		if (JBE_HAS_OFF(a->children[i]))
			break;
	}
	return memcmp(&a->children[2 * n], &b->children[2 * n], len) == 0;
}

/*
 * A JSON object argument of column name to value, as (attnum, value)
 * pairs sorted by attnum.
 */
static int
decode_object(FunctionCallInfo fcinfo, int argno, const char *argname,
			  const UgRequest *req, UgColumnValue **out)
{
	Jsonb	   *jb;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", argname)));

	jb = PG_GETARG_JSONB_P(argno);
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must be a JSON object", argname),
				 errdetail("The value given is a JSON %s.",
						   JB_ROOT_IS_SCALAR(jb) ? "scalar" : "array")));

	return object_columns(&jb->root, req, out);
}

/*
 * conflict: the columns of the unique index that decides "already there";
 * NULL means infer it.
 */
static void
decode_conflict(FunctionCallInfo fcinfo, int argno, UgRequest *req)
{
	AttrNumber *attnums;
	int			n;
	int			i;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return;

	n = decode_names(fcinfo, argno, "conflict", req, &attnums);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"conflict\" must name at least one column"),
				 errhint("Pass NULL to infer the conflict columns from new_row.")));
	if (n > INDEX_MAX_KEYS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("argument \"conflict\" names %d columns, but an index has at most %d",
						n, INDEX_MAX_KEYS)));

	for (i = 0; i < n; i++)
	{
		if (!in_new_row(req, attnums[i]) && !empty_batch(req))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("conflict column \"%s\" has no value in argument \"%s\"",
							get_attname(req->relid, attnums[i], false),
							ug_row_argument(req->kind)),
					 errdetail("The existing row is looked up by the values of the conflict columns.")));
		req->conflict[i] = attnums[i];
	}
	req->nconflict = n;
}

/*
 * update_columns: the columns idempotent_upsert may change on an existing
 * row; NULL means every column of new_row outside the conflict key (which
 * is known only once the arbiter is, see target.c).
 */
static void
decode_update_columns(FunctionCallInfo fcinfo, int argno, UgRequest *req)
{
	AttrNumber *attnums;
	int			n;
	int			i;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
	{
		req->changes_default = true;
		return;
	}

	n = decode_names(fcinfo, argno, "update_columns", req, &attnums);
	req->changes = palloc0(sizeof(UgColumnValue) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (!in_new_row(req, attnums[i]) && !empty_batch(req))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("update column \"%s\" has no value in argument \"%s\"",
							get_attname(req->relid, attnums[i], false),
							ug_row_argument(req->kind)),
					 errdetail("An existing row is updated to the values %s gives.",
							   ug_row_argument(req->kind))));
		req->changes[i].attnum = attnums[i];
	}
	req->nchanges = n;
}

/*
 * deltas: a JSON object of column name to the amount increment adds.
 */
static void
decode_deltas(FunctionCallInfo fcinfo, int argno, UgRequest *req)
{
	int			i;

	req->nchanges = decode_object(fcinfo, argno, "deltas", req, &req->changes);
	if (req->nchanges == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"deltas\" must name at least one column")));
	for (i = 0; i < req->nchanges; i++)
		if (req->changes[i].value.type == jbvNull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("delta of column \"%s\" must not be null",
							get_attname(req->relid, req->changes[i].attnum, false))));
}

/*
 * arbiter: the name of a unique index or unique constraint of the table,
 * instead of conflict columns.
 */
static void
decode_arbiter(FunctionCallInfo fcinfo, int argno, UgRequest *req)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return;
	if (req->nconflict > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arguments \"conflict\" and \"arbiter\" cannot both be given"),
				 errhint("Name either the conflict columns or the unique index.")));
	req->arbiter = TextDatumGetCString(PG_GETARG_DATUM(argno));
	if (req->arbiter[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table \"%s\" has no unique index or unique constraint named \"\"",
						req->relname),
				 errdetail("An empty name names nothing.")));
	if (strlen(req->arbiter) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table \"%s\" has no unique index or unique constraint named \"%s\"",
						req->relname, req->arbiter),
				 errdetail("The name is longer than an identifier can be.")));
}

/*
 * A text[] of column names as sorted attribute numbers: one dimension, no
 * NULL, no column twice.
 */
static int
decode_names(FunctionCallInfo fcinfo, int argno, const char *argname,
			 const UgRequest *req, AttrNumber **out)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(argno);
	Datum	   *elems;
	bool	   *elemnulls;
	int			nelems;
	AttrNumber *attnums;
	int			i;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("argument \"%s\" must be a one-dimensional array", argname)));

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elemnulls, &nelems);
	attnums = palloc(sizeof(AttrNumber) * Max(nelems, 1));
	for (i = 0; i < nelems; i++)
	{
		char	   *name;
		int			j;

		if (elemnulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not contain null elements", argname)));

		name = TextDatumGetCString(elems[i]);
		attnums[i] = column_attnum(req, name);
		for (j = 0; j < i; j++)
			if (attnums[j] == attnums[i])
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" appears more than once in argument \"%s\"",
								name, argname)));
	}
	qsort(attnums, nelems, sizeof(AttrNumber), ug_compare_attnums);
	*out = attnums;
	return nelems;
}

/* An empty jsonb batch names no columns: there is nothing to check. */
static bool
empty_batch(const UgRequest *req)
{
	return req->kind == UG_UPSERT_ROWS && req->nrows == 0;
}

static bool
in_new_row(const UgRequest *req, AttrNumber attnum)
{
	int			i;

	for (i = 0; i < req->ncolumns; i++)
		if (req->columns[i].attnum == attnum)
			return true;
	return false;
}

/*
 * lock: the row lock taken on an existing row.
 */
static UgLockMode
decode_lock(FunctionCallInfo fcinfo, int argno)
{
	static const struct
	{
		const char *name;
		UgLockMode	mode;
	}			modes[] =
	{
		{"none", UG_LOCK_NONE},
		{"key share", UG_LOCK_KEY_SHARE},
		{"share", UG_LOCK_SHARE},
		{"no key update", UG_LOCK_NO_KEY_UPDATE},
		{"update", UG_LOCK_UPDATE}
	};
	char	   *s;
	size_t		i;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"lock\" must not be null"),
				 errhint("Pass 'none' to take no row lock.")));

	s = TextDatumGetCString(PG_GETARG_DATUM(argno));
	for (i = 0; i < lengthof(modes); i++)
		if (pg_strcasecmp(s, modes[i].name) == 0)
			return modes[i].mode;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unrecognized lock mode \"%s\"", s),
			 errhint("Valid lock modes are 'none', 'key share', 'share', 'no key update' and 'update'.")));
	pg_unreachable();
}

/*
 * The attribute number of a user column of the table, or an error.
 *
 * Names are matched exactly: a name longer than an identifier can be is
 * not truncated, so it can never reach the column its prefix names.
 */
static AttrNumber
column_attnum(const UgRequest *req, const char *name)
{
	AttrNumber	attnum = InvalidAttrNumber;

	if (strlen(name) < NAMEDATALEN)
		attnum = get_attnum(req->relid, name);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						name, req->relname)));
	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("cannot assign to system column \"%s\"", name)));
	return attnum;
}

static int
compare_column_values(const void *a, const void *b)
{
	return ((const UgColumnValue *) a)->attnum - ((const UgColumnValue *) b)->attnum;
}

/* qsort comparator for attribute numbers */
int
ug_compare_attnums(const void *a, const void *b)
{
	return *(const AttrNumber *) a - *(const AttrNumber *) b;
}

/*
 * Convert the JSON values into the $n parameter values: new_row's columns,
 * then increment's deltas.
 *
 * Every value goes through the column type's input function with the
 * column's typmod, so it is checked exactly as a literal in an INSERT
 * would be; NULLs go through it too, so a domain's NOT NULL holds.
 */
void
ug_convert_values(const UgRequest *req, const UgTarget *target,
				  Datum *values, char *nulls)
{
	ErrorContextCallback errcb;
	const char *where[2] = {NULL, NULL};	/* column, argument */
	int			i;

	errcb.callback = conversion_error_callback;
	errcb.arg = where;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	Assert(target->nparams == req->ncolumns +
		   (req->kind == UG_INCREMENT ? req->nchanges : 0));
	for (i = 0; i < target->nparams; i++)
	{
		const UgParam *p = &target->params[i];
		const UgColumnValue *cv = i < req->ncolumns ? &req->columns[i] :
			&req->changes[i - req->ncolumns];
		const JsonbValue *v = &cv->value;

		Assert(cv->attnum == p->attnum);
		where[0] = p->name;
		where[1] = i < req->ncolumns ? "new_row" : "deltas";
		if (v->type != jbvNull && p->direct_jsonb)
		{
			values[i] = JsonbPGetDatum(JsonbValueToJsonb((JsonbValue *) v));
			nulls[i] = ' ';
			continue;
		}

		values[i] = InputFunctionCall((FmgrInfo *) &p->input,
									  json_value_text(v, p->json_text),
									  p->ioparam, p->typmod);
		nulls[i] = (v->type == jbvNull) ? 'n' : ' ';
	}
	error_context_stack = errcb.previous;
}

/* Name the column, and the argument, whose value failed to convert. */
static void
conversion_error_callback(void *arg)
{
	const char **where = (const char **) arg;

	if (where[0] != NULL)
		errcontext("value of column \"%s\" in argument \"%s\"", where[0], where[1]);
}

/*
 * The text a JSON value hands to an input function: strings unquoted,
 * numbers as written, containers as JSON text; NULL for JSON null.
 * A json or jsonb column receives JSON text, quoted strings included.
 */
static char *
json_value_text(const JsonbValue *v, bool as_json)
{
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			if (!as_json)
				return pnstrdup(v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			break;
	}

	/* a JSON string for a json-typed column */
	{
		Jsonb	   *jb = JsonbValueToJsonb((JsonbValue *) v);

		return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
}

/*
 * "(a, b)=(1, x)": a key for error details, in the form PostgreSQL's own
 * unique-violation details use: quoted column names, and each value
 * through its output function (or "null").  Calls and guards both say
 * keys this way.
 */
char *
ug_format_key(int n, char *const *names, const Oid *outputs,
			  const Datum *values, const bool *isnull)
{
	StringInfoData cols;
	StringInfoData vals;
	int			i;

	initStringInfo(&cols);
	initStringInfo(&vals);
	for (i = 0; i < n; i++)
	{
		if (i > 0)
		{
			appendStringInfoString(&cols, ", ");
			appendStringInfoString(&vals, ", ");
		}
		appendStringInfoString(&cols, quote_identifier(names[i]));
		appendStringInfoString(&vals, isnull[i] ? "null" :
							   OidOutputFunctionCall(outputs[i], values[i]));
	}
	return psprintf("(%s)=(%s)", cols.data, vals.data);
}

/*
 * The key of a call: the columns the arbiter uses and new_row's values
 * for them.  An arbiter's expressions and predicate can read every column
 * of the table, so there are nkeyparams of them, not INDEX_MAX_KEYS.
 */
char *
ug_describe_key(const UgTarget *target, const Datum *values, const char *nulls)
{
	int			n = target->nkeyparams;
	char	  **names = palloc(sizeof(char *) * Max(n, 1));
	Oid		   *outputs = palloc(sizeof(Oid) * Max(n, 1));
	Datum	   *vals = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *isnull = palloc(sizeof(bool) * Max(n, 1));
	int			i;

	Assert(n >= 0 && n <= target->ncolumns);
	for (i = 0; i < n; i++)
	{
		int			p = target->keyparams[i];

		Assert(p >= 0 && p < target->ncolumns);
		names[i] = target->params[p].name;
		outputs[i] = target->params[p].output;
		vals[i] = values[p];
		isnull[i] = nulls[p] == 'n';
	}
	return ug_format_key(n, names, outputs, vals, isnull);
}
