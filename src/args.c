/*-------------------------------------------------------------------------
 *
 * args.c
 *	  Decoding of the arguments every upsert_guard call shares: the target
 *	  row type, the new_row object, the conflict columns and the lock mode;
 *	  and the conversion of new_row's JSON values into column values.
 *
 * Nothing here builds SQL or touches plans.  Names are checked against
 * the catalog here, so that everything downstream works on attribute
 * numbers only.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/syscache.h"

static void decode_target(FunctionCallInfo fcinfo, UgRequest *req);
static void lock_table(UgRequest *req);
static void decode_new_row(FunctionCallInfo fcinfo, UgRequest *req);
static void decode_conflict(FunctionCallInfo fcinfo, UgRequest *req);
static UgLockMode decode_lock(FunctionCallInfo fcinfo);
static AttrNumber column_attnum(const UgRequest *req, const char *name);
static int	compare_column_values(const void *a, const void *b);
static char *json_value_text(const JsonbValue *v, bool as_json);
static void conversion_error_callback(void *arg);

/* Argument positions shared by every function of the extension. */
#define ARG_TARGET		0
#define ARG_NEW_ROW		1
#define ARG_CONFLICT	2
#define ARG_LOCK		3

/*
 * Decode target, new_row, conflict and (for the calls that take one) lock.
 */
void
ug_decode_call(FunctionCallInfo fcinfo, bool with_lock, UgRequest *req)
{
	memset(req, 0, sizeof(UgRequest));
	decode_target(fcinfo, req);
	lock_table(req);
	decode_new_row(fcinfo, req);
	decode_conflict(fcinfo, req);
	req->lock = with_lock ? decode_lock(fcinfo) : UG_LOCK_NONE;
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
	Jsonb	   *jb;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;

	if (PG_ARGISNULL(ARG_NEW_ROW))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"new_row\" must not be null")));

	jb = PG_GETARG_JSONB_P(ARG_NEW_ROW);
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"new_row\" must be a JSON object"),
				 errdetail("The value given is a JSON %s.",
						   JB_ROOT_IS_SCALAR(jb) ? "scalar" : "array")));

	req->columns = palloc(sizeof(UgColumnValue) * Max(JB_ROOT_COUNT(jb), 1));

	it = JsonbIteratorInit(&jb->root);
	tok = JsonbIteratorNext(&it, &v, false);	/* WJB_BEGIN_OBJECT */
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		UgColumnValue *col;

		if (tok != WJB_KEY)
			continue;			/* WJB_END_OBJECT */

		col = &req->columns[n++];
		col->attnum = column_attnum(req, pnstrdup(v.val.string.val,
												  v.val.string.len));

		tok = JsonbIteratorNext(&it, &col->value, true);
		Assert(tok == WJB_VALUE);
	}
	req->ncolumns = n;

	/* parameters follow attribute-number order, whatever new_row's order */
	qsort(req->columns, n, sizeof(UgColumnValue), compare_column_values);
}

/*
 * conflict: the columns of the unique index that decides "already there";
 * NULL means infer it.
 */
static void
decode_conflict(FunctionCallInfo fcinfo, UgRequest *req)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *elemnulls;
	int			nelems;
	int			i;

	if (PG_NARGS() <= ARG_CONFLICT || PG_ARGISNULL(ARG_CONFLICT))
		return;

	arr = PG_GETARG_ARRAYTYPE_P(ARG_CONFLICT);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("argument \"conflict\" must be a one-dimensional array")));

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elemnulls, &nelems);
	if (nelems == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"conflict\" must name at least one column"),
				 errhint("Pass NULL to infer the conflict columns from new_row.")));
	if (nelems > INDEX_MAX_KEYS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("argument \"conflict\" names %d columns, but an index has at most %d",
						nelems, INDEX_MAX_KEYS)));

	for (i = 0; i < nelems; i++)
	{
		char	   *name;
		AttrNumber	attnum;
		int			j;
		bool		in_new_row = false;

		if (elemnulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"conflict\" must not contain null elements")));

		name = TextDatumGetCString(elems[i]);
		attnum = column_attnum(req, name);

		for (j = 0; j < i; j++)
			if (req->conflict[j] == attnum)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" appears more than once in argument \"conflict\"",
								name)));

		for (j = 0; j < req->ncolumns; j++)
			if (req->columns[j].attnum == attnum)
				in_new_row = true;
		if (!in_new_row)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("conflict column \"%s\" has no value in argument \"new_row\"",
							name),
					 errdetail("The existing row is looked up by the values of the conflict columns.")));

		req->conflict[i] = attnum;
	}
	req->nconflict = nelems;
	qsort(req->conflict, nelems, sizeof(AttrNumber), ug_compare_attnums);
}

/*
 * lock: the row lock taken on an existing row.
 */
static UgLockMode
decode_lock(FunctionCallInfo fcinfo)
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

	if (PG_ARGISNULL(ARG_LOCK))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"lock\" must not be null"),
				 errhint("Pass 'none' to take no row lock.")));

	s = TextDatumGetCString(PG_GETARG_DATUM(ARG_LOCK));
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
 * Convert new_row's JSON values into the $n parameter values.
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
	const char *column = NULL;
	int			i;

	errcb.callback = conversion_error_callback;
	errcb.arg = &column;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	Assert(req->ncolumns == target->nparams);
	for (i = 0; i < target->nparams; i++)
	{
		const UgParam *p = &target->params[i];
		const JsonbValue *v = &req->columns[i].value;

		Assert(req->columns[i].attnum == p->attnum);
		column = p->name;
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

/* Name the column whose value failed to convert. */
static void
conversion_error_callback(void *arg)
{
	const char *column = *(const char **) arg;

	if (column != NULL)
		errcontext("value of column \"%s\" in argument \"new_row\"", column);
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
 * "(a, b)=(1, x)": the key of a call, for error details, in the form
 * PostgreSQL's own unique-violation details use.
 */
char *
ug_describe_key(const UgTarget *target, const Datum *values, const char *nulls)
{
	StringInfoData names;
	StringInfoData vals;
	int			i;

	initStringInfo(&names);
	initStringInfo(&vals);
	for (i = 0; i < target->nkeys; i++)
	{
		const UgParam *p = &target->params[target->keys[i].param];
		int			n = target->keys[i].param;

		if (i > 0)
		{
			appendStringInfoString(&names, ", ");
			appendStringInfoString(&vals, ", ");
		}
		appendStringInfoString(&names, quote_identifier(p->name));
		if (nulls[n] == 'n')
			appendStringInfoString(&vals, "null");
		else
			appendStringInfoString(&vals, OidOutputFunctionCall(p->output, values[n]));
	}
	return psprintf("(%s)=(%s)", names.data, vals.data);
}
