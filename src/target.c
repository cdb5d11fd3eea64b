/*-------------------------------------------------------------------------
 *
 * target.c
 *	  Resolve a decoded call against the catalog: the table's quoted name,
 *	  the parameters' types and input functions, and the arbiter, the
 *	  unique index that decides "this row already exists".
 *
 * The result (a UgTarget) is what the SQL generator and the value
 * conversion need; the plan cache builds one per entry, so this runs only
 * when an entry is built or rebuilt, never on the hot path.
 *
 * Arbiter rules, mirroring what INSERT ... ON CONFLICT (cols) accepts:
 * a valid unique index whose key columns are exactly the conflict
 * columns, in any order.  Partial and expression indexes cannot serve
 * yet; a deferrable one makes PostgreSQL refuse the whole ON CONFLICT
 * clause, so it is refused here first, with the same SQLSTATE.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "parser/parse_coerce.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

/* What target.c needs to know of one unique index of the table. */
typedef struct UniqueIndex
{
	Oid			indexoid;
	int			nkeys;
	AttrNumber	keys[INDEX_MAX_KEYS];	/* in index order; 0 = expression */
	AttrNumber	sorted[INDEX_MAX_KEYS];
	bool		expressions;
	bool		partial;
	bool		deferrable;
	bool		nulls_not_distinct;
} UniqueIndex;

static int	load_unique_indexes(Relation rel, UniqueIndex **out);
static void infer_conflict(Relation rel, const UgRequest *req,
						   UniqueIndex *idx, int nidx,
						   int *nconflict, AttrNumber *conflict);
static const UniqueIndex *choose_arbiter(Relation rel, UniqueIndex *idx, int nidx,
										 int nconflict, const AttrNumber *conflict);
static void fill_param(Relation rel, UgParam *p, AttrNumber attnum);
static void fill_keys(Relation rel, UgTarget *target, const UniqueIndex *arbiter,
					  int nconflict, const AttrNumber *conflict);
static void fill_update_columns(const UgRequest *req, UgTarget *target);
static void fill_deltas(UgTarget *target);
static bool is_key_param(const UgTarget *target, int param);
static bool keys_in_request(const UniqueIndex *ui, const UgRequest *req);
static bool same_columns(const UniqueIndex *ui, int n, const AttrNumber *cols);
static char *describe_index(Relation rel, const UniqueIndex *ui);
static char *describe_columns(Relation rel, int n, const AttrNumber *cols);
static char *choose_alias(Oid relid);

/*
 * Build the target of a request.  The caller holds a lock on the table
 * and has made the memory context the result should live in current.
 */
UgTarget *
ug_build_target(const UgRequest *req)
{
	UgTarget   *target = palloc0(sizeof(UgTarget));
	Relation	rel = relation_open(req->relid, NoLock);
	UniqueIndex *idx;
	int			nidx;
	int			nconflict = req->nconflict;
	AttrNumber	conflict[INDEX_MAX_KEYS];
	int			i;

	target->relid = req->relid;
	target->relkind = rel->rd_rel->relkind;
	target->relname = pstrdup(RelationGetRelationName(rel));
	target->qualified = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel));
	target->alias = choose_alias(req->relid);
	target->lock = req->lock;

	target->kind = req->kind;
	target->ncolumns = req->ncolumns;
	target->nparams = req->ncolumns +
		(req->kind == UG_INCREMENT ? req->nchanges : 0);
	target->params = palloc0(sizeof(UgParam) * Max(target->nparams, 1));
	for (i = 0; i < target->nparams; i++)
		fill_param(rel, &target->params[i], i < req->ncolumns ?
				   req->columns[i].attnum :
				   req->changes[i - req->ncolumns].attnum);

	nidx = load_unique_indexes(rel, &idx);
	if (nconflict == 0)
		infer_conflict(rel, req, idx, nidx, &nconflict, conflict);
	else
		memcpy(conflict, req->conflict, sizeof(AttrNumber) * nconflict);

	fill_keys(rel, target, choose_arbiter(rel, idx, nidx, nconflict, conflict),
			  nconflict, conflict);
	if (req->kind == UG_IDEMPOTENT_UPSERT)
		fill_update_columns(req, target);
	else if (req->kind == UG_INCREMENT)
		fill_deltas(target);

	relation_close(rel, NoLock);
	return target;
}

/*
 * Every valid unique index of the table (exclusion constraints are not
 * unique indexes and cannot decide "the same row").
 */
static int
load_unique_indexes(Relation rel, UniqueIndex **out)
{
	List	   *indexes = RelationGetIndexList(rel);
	UniqueIndex *result = palloc0(sizeof(UniqueIndex) * Max(list_length(indexes), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		Form_pg_index form;
		UniqueIndex *ui;
		int			k;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for index %u", indexoid);
		form = (Form_pg_index) GETSTRUCT(tup);
		if (!form->indisunique || !form->indisvalid)
		{
			ReleaseSysCache(tup);
			continue;
		}

		ui = &result[n++];
		ui->indexoid = indexoid;
		ui->nkeys = form->indnkeyatts;
		for (k = 0; k < ui->nkeys; k++)
		{
			ui->keys[k] = form->indkey.values[k];
			ui->sorted[k] = form->indkey.values[k];
			if (ui->keys[k] == 0)
				ui->expressions = true;
		}
		qsort(ui->sorted, ui->nkeys, sizeof(AttrNumber), ug_compare_attnums);
		ui->partial = !heap_attisnull(tup, Anum_pg_index_indpred, NULL);
		ui->deferrable = !form->indimmediate;
#if PG_VERSION_NUM >= 150000
		ui->nulls_not_distinct = form->indnullsnotdistinct;
#endif
		ReleaseSysCache(tup);
	}
	list_free(indexes);
	*out = result;
	return n;
}

/*
 * conflict => NULL: the one column set of a usable unique index whose
 * columns all have a value in new_row.  Indexes with the same columns
 * count once; partial, expression and deferrable ones are named in the
 * error when nothing else serves.
 */
static void
infer_conflict(Relation rel, const UgRequest *req, UniqueIndex *idx, int nidx,
			   int *nconflict, AttrNumber *conflict)
{
	const UniqueIndex *found = NULL;
	StringInfoData candidates;
	StringInfoData skipped;
	int			ncandidates = 0;
	int			i;

	initStringInfo(&candidates);
	initStringInfo(&skipped);
	for (i = 0; i < nidx; i++)
	{
		const UniqueIndex *ui = &idx[i];

		if (!keys_in_request(ui, req))
			continue;
		if (ui->expressions || ui->partial || ui->deferrable)
		{
			appendStringInfo(&skipped, "%s%s is %s", skipped.len > 0 ? "; " : "",
							 describe_index(rel, ui),
							 ui->expressions ? "an expression index" :
							 ui->partial ? "partial" : "deferrable");
			continue;
		}
		if (ncandidates > 0)
			appendStringInfoString(&candidates, ", ");
		appendStringInfoString(&candidates, describe_index(rel, ui));
		if (found == NULL || !same_columns(found, ui->nkeys, ui->sorted))
			ncandidates++;
		if (found == NULL)
			found = ui;
	}

	if (ncandidates == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("could not infer the conflict columns for table \"%s\"",
						RelationGetRelationName(rel)),
				 skipped.len == 0 ?
				 errdetail("No unique index of the table has all of its columns in new_row.") :
				 errdetail("No usable unique index has all of its columns in new_row. Not usable yet: %s.",
						   skipped.data),
				 errhint("Include the columns of a unique index in new_row, or name them in argument \"conflict\".")));
	if (ncandidates > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("could not infer the conflict columns for table \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("Several unique indexes have all of their columns in new_row: %s.",
						   candidates.data),
				 errhint("Name the conflict columns in argument \"conflict\".")));

	*nconflict = found->nkeys;
	memcpy(conflict, found->sorted, sizeof(AttrNumber) * found->nkeys);
}

/*
 * The unique index whose key columns are exactly the conflict columns.
 */
static const UniqueIndex *
choose_arbiter(Relation rel, UniqueIndex *idx, int nidx,
			   int nconflict, const AttrNumber *conflict)
{
	const UniqueIndex *arbiter = NULL;
	const UniqueIndex *partial = NULL;
	StringInfoData all;
	int			i;

	initStringInfo(&all);
	for (i = 0; i < nidx; i++)
	{
		const UniqueIndex *ui = &idx[i];

		if (i > 0)
			appendStringInfoString(&all, ", ");
		appendStringInfoString(&all, describe_index(rel, ui));

		if (ui->expressions || !same_columns(ui, nconflict, conflict))
			continue;
		if (ui->deferrable)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("deferrable unique index \"%s\" cannot decide conflicts",
							get_rel_name(ui->indexoid)),
					 errdetail("INSERT ... ON CONFLICT does not support deferrable unique constraints as arbiters."),
					 errtableconstraint(rel, get_rel_name(ui->indexoid))));
		if (ui->partial)
			partial = ui;
		else if (arbiter == NULL)
			arbiter = ui;
	}

	if (arbiter != NULL)
		return arbiter;

	if (partial != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("partial unique index \"%s\" cannot be used as a conflict target yet",
						get_rel_name(partial->indexoid)),
				 errdetail("Only unique indexes without a WHERE clause and without expressions are supported.")));

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
			 errmsg("there is no unique index on table \"%s\" with exactly the columns %s",
					RelationGetRelationName(rel),
					describe_columns(rel, nconflict, conflict)),
			 nidx > 0 ?
			 errdetail("The unique indexes of the table are: %s.", all.data) :
			 errdetail("The table has no unique index.")));
	pg_unreachable();
}

/*
 * Record, for each conflict column, its parameter and the equality
 * operator and collation of the arbiter's opclass: the lookup must call
 * equal exactly what the unique index calls equal.
 */
static void
fill_keys(Relation rel, UgTarget *target, const UniqueIndex *arbiter,
		  int nconflict, const AttrNumber *conflict)
{
	HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(arbiter->indexoid));
	Datum		d;
	bool		isnull;
	oidvector  *indclass;
	oidvector  *indcollation;
	int			i;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", arbiter->indexoid);
	d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indclass, &isnull);
	Assert(!isnull);
	indclass = (oidvector *) DatumGetPointer(d);
	d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indcollation, &isnull);
	Assert(!isnull);
	indcollation = (oidvector *) DatumGetPointer(d);

	target->nkeys = nconflict;
	for (i = 0; i < nconflict; i++)
	{
		UgKeyColumn *key = &target->keys[i];
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), conflict[i] - 1);
		int			pos;
		int			p;
		Oid			opclass;
		Oid			opcintype;

		for (pos = 0; arbiter->keys[pos] != conflict[i]; pos++)
			Assert(pos < arbiter->nkeys);
		for (p = 0; target->params[p].attnum != conflict[i]; p++)
			Assert(p < target->ncolumns);

		key->param = p;
		opclass = indclass->values[pos];
		opcintype = get_opclass_input_type(opclass);
		key->eqop = get_opfamily_member(get_opclass_family(opclass),
										opcintype, opcintype,
										BTEqualStrategyNumber);
		if (!OidIsValid(key->eqop))
			elog(ERROR, "missing equality operator for operator class %u", opclass);
		key->collation = InvalidOid;
		if (OidIsValid(indcollation->values[pos]) &&
			indcollation->values[pos] != att->attcollation)
			key->collation = indcollation->values[pos];
	}
	ReleaseSysCache(tup);

	target->index_name = get_rel_name(arbiter->indexoid);
	target->nulls_not_distinct = arbiter->nulls_not_distinct;
}

/* A parameter: a column's name, type and conversion functions. */
static void
fill_param(Relation rel, UgParam *p, AttrNumber attnum)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	Oid			infunc;
	bool		isvarlena;

	p->attnum = attnum;
	p->name = pstrdup(NameStr(att->attname));
	p->type = att->atttypid;
	p->typmod = att->atttypmod;
	p->direct_jsonb = (p->type == JSONBOID);
	p->json_text = (getBaseType(p->type) == JSONOID ||
					getBaseType(p->type) == JSONBOID);
	getTypeInputInfo(p->type, &infunc, &p->ioparam);
	fmgr_info(infunc, &p->input);
	getTypeOutputInfo(p->type, &p->output, &isvarlena);
}

/*
 * idempotent_upsert: the columns an existing row is updated in, each with
 * the equality operator that decides whether its value changed.  By
 * default every column of new_row outside the conflict key.
 */
static void
fill_update_columns(const UgRequest *req, UgTarget *target)
{
	int			i;

	target->changes = palloc0(sizeof(UgChange) * Max(target->ncolumns, 1));
	for (i = 0; i < target->ncolumns; i++)
	{
		const UgParam *p = &target->params[i];
		UgChange   *change;
		bool		wanted = req->changes_default && !is_key_param(target, i);
		int			c;
		TypeCacheEntry *tc;

		for (c = 0; c < req->nchanges; c++)
			wanted |= (req->changes[c].attnum == p->attnum);
		if (!wanted)
			continue;
		if (is_key_param(target, i))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("update column \"%s\" is a conflict column", p->name),
					 errdetail("The conflict columns find the row; they are never updated.")));

		tc = lookup_type_cache(p->type, TYPECACHE_EQ_OPR);
		if (!OidIsValid(tc->eq_opr))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("could not identify an equality operator for type %s of column \"%s\"",
							format_type_be(p->type), p->name),
					 errdetail("An existing row is updated only when a value differs, which needs an equality operator."),
					 errhint("Leave the column out of update_columns, or give it a type with equality, such as jsonb instead of json.")));

		change = &target->changes[target->nchanges++];
		change->param = i;
		change->eqop = tc->eq_opr;
		change->collatable = type_is_collatable(p->type);
	}
}

/*
 * increment: each delta is a parameter after new_row's columns, and its
 * column must be numeric and outside the conflict key.
 */
static void
fill_deltas(UgTarget *target)
{
	int			i;

	target->nchanges = target->nparams - target->ncolumns;
	target->changes = palloc0(sizeof(UgChange) * Max(target->nchanges, 1));
	for (i = 0; i < target->nchanges; i++)
	{
		int			param = target->ncolumns + i;
		const UgParam *p = &target->params[param];
		int			k;

		for (k = 0; k < target->nkeys; k++)
			if (target->params[target->keys[k].param].attnum == p->attnum)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("conflict column \"%s\" cannot be incremented", p->name),
						 errdetail("The conflict columns find the row; they are never updated.")));
		if (TypeCategory(getBaseType(p->type)) != TYPCATEGORY_NUMERIC)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" cannot be incremented", p->name),
					 errdetail("Its type %s is not numeric.", format_type_be(p->type))));
		target->changes[i].param = param;
	}
}

static bool
is_key_param(const UgTarget *target, int param)
{
	int			k;

	for (k = 0; k < target->nkeys; k++)
		if (target->keys[k].param == param)
			return true;
	return false;
}

static bool
keys_in_request(const UniqueIndex *ui, const UgRequest *req)
{
	int			k;

	for (k = 0; k < ui->nkeys; k++)
	{
		bool		present = (ui->keys[k] == 0);	/* an expression */
		int			c;

		for (c = 0; c < req->ncolumns && !present; c++)
			present = (req->columns[c].attnum == ui->keys[k]);
		if (!present)
			return false;
	}
	return true;
}

static bool
same_columns(const UniqueIndex *ui, int n, const AttrNumber *cols)
{
	return ui->nkeys == n &&
		memcmp(ui->sorted, cols, sizeof(AttrNumber) * n) == 0;
}

/* "name (a, b)" for messages; an expression shows as "expression". */
static char *
describe_index(Relation rel, const UniqueIndex *ui)
{
	StringInfoData buf;
	int			k;

	initStringInfo(&buf);
	appendStringInfo(&buf, "\"%s\" (", get_rel_name(ui->indexoid));
	for (k = 0; k < ui->nkeys; k++)
	{
		if (k > 0)
			appendStringInfoString(&buf, ", ");
		if (ui->keys[k] == 0)
			appendStringInfoString(&buf, "expression");
		else
			appendStringInfoString(&buf,
								   quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(rel), ui->keys[k] - 1)->attname)));
	}
	appendStringInfoChar(&buf, ')');
	if (ui->partial)
		appendStringInfoString(&buf, " WHERE ...");
	return buf.data;
}

/* "(a, b)" */
static char *
describe_columns(Relation rel, int n, const AttrNumber *cols)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf,
							   quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(rel), cols[i] - 1)->attname)));
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * A table alias that no column of the table shadows, so that a bare
 * alias in the generated SQL is always the whole row.
 */
static char *
choose_alias(Oid relid)
{
	char		name[NAMEDATALEN];
	int			i = 0;

	strlcpy(name, "r", sizeof(name));
	while (get_attnum(relid, name) != InvalidAttrNumber)
		snprintf(name, sizeof(name), "r%d", ++i);
	return pstrdup(quote_identifier(name));
}
