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
 * Arbiter rules.  Named by conflict columns (or inferred from new_row), it
 * is what INSERT ... ON CONFLICT (cols) accepts: a valid unique index
 * without expressions or predicate whose key columns are exactly the
 * conflict columns, in any order.  Named by argument "arbiter", it is any
 * valid unique index or unique constraint, expression and partial ones
 * included.  A deferrable one makes PostgreSQL refuse the whole ON
 * CONFLICT clause, so it is refused here first, with the same SQLSTATE.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "access/htup_details.h"
#include "access/genam.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "catalog/dependency.h"
#include "access/stratnum.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/ruleutils.h"
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
static void fill_param(Relation rel, UgParam *p, AttrNumber attnum,
					   bool base_type);
static const UniqueIndex *find_named_arbiter(Relation rel, UniqueIndex *idx,
											 int nidx, const char *name);
static void fill_keys(Relation rel, UgTarget *target, const UniqueIndex *arbiter);
static void deparse_three(Relation rel, UgTarget *target, Node *expr,
						  char **row, char **new, char **infer, char **batch);
static Node *vars_to_params(Node *node, void *context);
static int	param_of_attnum(const UgTarget *target, AttrNumber attnum);
static void fill_update_columns(const UgRequest *req, UgTarget *target);
static void fill_deltas(UgTarget *target);
static bool is_key_param(const UgTarget *target, int param);
static bool keys_in_request(const UniqueIndex *ui, const UgRequest *req);
static void refuse_deferrable(Relation rel, const UniqueIndex *ui);
static bool same_columns(const UniqueIndex *ui, int n, const AttrNumber *cols);
static char *describe_index(Relation rel, const UniqueIndex *ui);
static char *describe_columns(Relation rel, int n, const AttrNumber *cols);
static char *choose_alias(Oid relid, const char *base);

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
	const UniqueIndex *arbiter;
	int			i;

	target->relid = req->relid;
	target->relkind = rel->rd_rel->relkind;
	target->natts = RelationGetDescr(rel)->natts;
	target->relname = pstrdup(RelationGetRelationName(rel));
	target->qualified = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel));
	target->alias = choose_alias(req->relid, "r");
	target->ord_column = choose_alias(req->relid, "ord");
	target->rid_column = choose_alias(req->relid, "rid");
	target->rel_column = choose_alias(req->relid, "rel");
	target->differs_column = choose_alias(req->relid, "differs");
	target->per_row = req->per_row;
	target->has_ordinality = get_attnum(req->relid, "ordinality") != InvalidAttrNumber;
	target->lock = req->lock;
	target->source = req->source;
	if (OidIsValid(req->source))
		target->source_qualified =
			quote_qualified_identifier(get_namespace_name(get_rel_namespace(req->source)),
									   get_rel_name(req->source));

	target->kind = req->kind;
	target->ncolumns = req->ncolumns;
	target->nparams = req->ncolumns +
		(req->kind == UG_INCREMENT ? req->nchanges : 0);
	target->params = palloc0(sizeof(UgParam) * Max(target->nparams, 1));
	for (i = 0; i < target->nparams; i++)
		fill_param(rel, &target->params[i], i < req->ncolumns ?
				   req->columns[i].attnum :
				   req->changes[i - req->ncolumns].attnum,
				   i >= req->ncolumns);

	nidx = load_unique_indexes(rel, &idx);
	if (req->arbiter != NULL)
		arbiter = find_named_arbiter(rel, idx, nidx, req->arbiter);
	else
	{
		if (nconflict == 0)
			infer_conflict(rel, req, idx, nidx, &nconflict, conflict);
		else
			memcpy(conflict, req->conflict, sizeof(AttrNumber) * nconflict);
		arbiter = choose_arbiter(rel, idx, nidx, nconflict, conflict);
	}

	fill_keys(rel, target, arbiter);
	if (req->kind == UG_IDEMPOTENT_UPSERT || req->kind == UG_UPSERT_ROWS ||
		req->kind == UG_UPSERT_FROM)
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
				 errdetail("No unique index that can be inferred has all of its columns in new_row. Not inferred: %s.",
						   skipped.data),
				 skipped.len == 0 ?
				 errhint("Include the columns of a unique index in new_row, or name them in argument \"conflict\".") :
				 errhint("A partial or expression unique index can be named in argument \"arbiter\".")));
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
		refuse_deferrable(rel, ui);
		if (ui->partial)
			partial = ui;
		else if (arbiter == NULL)
			arbiter = ui;
	}

	if (arbiter != NULL)
		return arbiter;

	if (partial != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("partial unique index \"%s\" cannot be named by its columns",
						get_rel_name(partial->indexoid)),
				 errdetail("Conflict columns name only unique indexes without a WHERE clause."),
				 errhint("Name the index in argument \"arbiter\" instead.")));

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
 * The arbiter the caller named: a valid unique index of the table, by its
 * own name or by the name of the constraint it implements.  Partial and
 * expression indexes can serve here; a deferrable one cannot.
 */
static const UniqueIndex *
find_named_arbiter(Relation rel, UniqueIndex *idx, int nidx, const char *name)
{
	StringInfoData all;
	int			i;

	initStringInfo(&all);
	for (i = 0; i < nidx; i++)
	{
		const UniqueIndex *ui = &idx[i];
		Oid			conoid = get_index_constraint(ui->indexoid);
		char	   *conname = OidIsValid(conoid) ? get_constraint_name(conoid) : NULL;

		if (strcmp(get_rel_name(ui->indexoid), name) != 0 &&
			(conname == NULL || strcmp(conname, name) != 0))
		{
			appendStringInfo(&all, "%s%s", all.len > 0 ? ", " : "",
							 describe_index(rel, ui));
			continue;
		}
		refuse_deferrable(rel, ui);
		return ui;
	}

	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("table \"%s\" has no unique index or unique constraint named \"%s\"",
					RelationGetRelationName(rel), name),
			 all.len > 0 ?
			 errdetail("Its unique indexes are: %s.", all.data) :
			 errdetail("The table has no unique index."),
			 errhint("Exclusion constraints and indexes still being built cannot decide conflicts.")));
	pg_unreachable();
}

/*
 * Record, for each key column or expression of the arbiter, how the
 * lookup compares it: the parameter (or the deparsed expression) and the
 * equality operator and collation of the arbiter's opclass, so the lookup
 * calls equal exactly what the unique index calls equal.  A partial
 * arbiter's predicate is deparsed too.  Every column the index uses must
 * have a value in new_row: the key of the row is computed from them.
 */
static void
fill_keys(Relation rel, UgTarget *target, const UniqueIndex *arbiter)
{
	Relation	irel = index_open(arbiter->indexoid, AccessShareLock);
	List	   *exprs = RelationGetIndexExpressions(irel);
	List	   *pred = RelationGetIndexPredicate(irel);
	ListCell   *next_expr = list_head(exprs);
	Bitmapset  *used = NULL;
	int			attno;
	int			pos;

	/* the columns the index uses, all of which new_row must give */
	for (pos = 0; pos < arbiter->nkeys; pos++)
		if (arbiter->keys[pos] != 0)
			used = bms_add_member(used, arbiter->keys[pos] -
								  FirstLowInvalidHeapAttributeNumber);
	pull_varattnos((Node *) exprs, 1, &used);
	pull_varattnos((Node *) pred, 1, &used);
	target->keyparams = palloc(sizeof(int) * Max(bms_num_members(used), 1));
	Assert(arbiter->nkeys > 0 && arbiter->nkeys <= INDEX_MAX_KEYS);
	attno = -1;
	while ((attno = bms_next_member(used, attno)) >= 0)
	{
		AttrNumber	a = attno + FirstLowInvalidHeapAttributeNumber;
		int			p;

		if (a <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("unique index \"%s\" cannot decide conflicts for upsert_guard",
							RelationGetRelationName(irel)),
					 errdetail("Its expressions or predicate use the whole row of table \"%s\", which a call cannot compute from its argument \"%s\".",
							   RelationGetRelationName(rel),
							   ug_row_argument(target->kind)),
					 errhint("Name a unique index over columns or expressions of columns.")));
		p = param_of_attnum(target, a);
		if (p < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" has no value in argument \"%s\"",
							get_attname(RelationGetRelid(rel), a, false),
							ug_row_argument(target->kind)),
					 errdetail("Unique index \"%s\" uses the column, so the key of the row depends on it.",
							   RelationGetRelationName(irel))));
		target->keyparams[target->nkeyparams++] = p;
	}

	target->nkeys = arbiter->nkeys;
	for (pos = 0; pos < arbiter->nkeys; pos++)
	{
		UgKeyColumn *key = &target->keys[pos];
		Oid			opfamily = irel->rd_opfamily[pos];
		Oid			opcintype = irel->rd_opcintype[pos];
		Oid			indcoll = irel->rd_indcollation[pos];
		Oid			keycoll;

		key->eqop = get_opfamily_member(opfamily, opcintype, opcintype,
										BTEqualStrategyNumber);
		if (!OidIsValid(key->eqop))
			elog(ERROR, "missing equality operator for operator family %u", opfamily);

		if (arbiter->keys[pos] != 0)
		{
			key->param = param_of_attnum(target, arbiter->keys[pos]);
			keycoll = TupleDescAttr(RelationGetDescr(rel),
									arbiter->keys[pos] - 1)->attcollation;
		}
		else
		{
			Node	   *expr = (Node *) lfirst(next_expr);

			next_expr = lnext(exprs, next_expr);
			key->param = -1;
			keycoll = exprCollation(expr);
			deparse_three(rel, target, expr, &key->expr_row, &key->expr_new,
						  &key->expr_infer, &key->expr_batch);
		}
		key->collation = (OidIsValid(indcoll) && indcoll != keycoll) ?
			indcoll : InvalidOid;
	}

	if (pred != NIL)
		deparse_three(rel, target, (Node *) make_ands_explicit(pred),
					  &target->pred_row, &target->pred_new, &target->pred_infer,
					  &target->pred_batch);

	target->index_name = pstrdup(RelationGetRelationName(irel));
	target->nulls_not_distinct = arbiter->nulls_not_distinct;
	index_close(irel, AccessShareLock);
}

/*
 * An index expression or predicate as SQL text: over the row ("r"."c",
 * for the lookup), over the parameters ($n, computed from new_row),
 * unqualified (for ON CONFLICT's inference clause) and over a batch's row
 * ("b"."c").  The caller has set a fixed search_path (call.c): names
 * outside pg_catalog come out schema-qualified, and the statements run
 * under the same path.
 */
static void
deparse_three(Relation rel, UgTarget *target, Node *expr,
			  char **row, char **new, char **infer, char **batch)
{
	char	   *alias = pstrdup(target->alias);
	Oid			relid = RelationGetRelid(rel);
	List	   *self = deparse_context_for(RelationGetRelationName(rel), relid);

	/* target->alias is quoted; the deparser quotes names itself */
	if (alias[0] == '"')
	{
		alias[strlen(alias) - 1] = '\0';
		alias++;
	}
	*row = deparse_expression(expr, deparse_context_for(alias, relid), true, false);
	*new = deparse_expression(vars_to_params(expr, target), self, false, false);
	*infer = deparse_expression(expr, self, false, false);
	*batch = deparse_expression(expr, deparse_context_for("b", relid), true, false);
}

/* Replace the row's columns by the $n parameters that carry new_row's. */
static Node *
vars_to_params(Node *node, void *context)
{
	const UgTarget *target = (const UgTarget *) context;

	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		Param	   *param = makeNode(Param);

		param->paramkind = PARAM_EXTERN;
		param->paramid = param_of_attnum(target, var->varattno) + 1;
		param->paramtype = var->vartype;
		param->paramtypmod = var->vartypmod;
		param->paramcollid = var->varcollid;
		param->location = -1;
		Assert(param->paramid > 0);
		return (Node *) param;
	}
	return expression_tree_mutator(node, vars_to_params, context);
}

/* The new_row parameter of a column, or -1. */
static int
param_of_attnum(const UgTarget *target, AttrNumber attnum)
{
	int			p;

	for (p = 0; p < target->ncolumns; p++)
		if (target->params[p].attnum == attnum)
			return p;
	return -1;
}

/*
 * A parameter: a column's name, type and conversion functions.  A delta
 * takes the column's base type: a domain's constraints apply to the sum,
 * not to the amount added.
 */
static void
fill_param(Relation rel, UgParam *p, AttrNumber attnum, bool base_type)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	Oid			infunc;
	bool		isvarlena;

	p->attnum = attnum;
	p->name = pstrdup(NameStr(att->attname));
	p->type = att->atttypid;
	p->typmod = att->atttypmod;
	if (base_type)
	{
		p->typmod = -1;
		p->type = getBaseTypeAndTypmod(att->atttypid, &p->typmod);
	}
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
 * column must be numeric and not read by the arbiter: adding to a column
 * of the key, of a key expression or of the predicate would change which
 * row the key finds, or move the row out of the index.
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
			if (target->keys[k].param >= 0 &&
				target->params[target->keys[k].param].attnum == p->attnum)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("conflict column \"%s\" cannot be incremented", p->name),
						 errdetail("The conflict columns find the row; they are never updated.")));
		for (k = 0; k < target->nkeyparams; k++)
			if (target->params[target->keyparams[k]].attnum == p->attnum)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" cannot be incremented", p->name),
						 errdetail("Unique index \"%s\" reads the column in its expressions or predicate, so changing it would change the row's key.",
								   target->index_name)));
		switch (p->type)		/* the base type, see fill_param */
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case NUMERICOID:
			case FLOAT4OID:
			case FLOAT8OID:
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("column \"%s\" cannot be incremented", p->name),
						 errdetail("Its type %s is not one of smallint, integer, bigint, numeric, real and double precision.",
								   format_type_be(p->type))));
		}
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

/*
 * PostgreSQL refuses a deferrable unique index as an arbiter of ON
 * CONFLICT: refuse it first, with the same SQLSTATE.
 */
static void
refuse_deferrable(Relation rel, const UniqueIndex *ui)
{
	if (ui->deferrable)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("deferrable unique index \"%s\" cannot decide conflicts",
						get_rel_name(ui->indexoid)),
				 errdetail("INSERT ... ON CONFLICT does not support deferrable unique constraints as arbiters."),
				 errtableconstraint(rel, get_rel_name(ui->indexoid))));
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

/* "name" (a, b) for messages; an expression shows as "expression". */
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
 * A name that no column of the table has: the table alias (so a bare
 * alias in the generated SQL is always the whole row), the batch's
 * ordinal column.
 */
static char *
choose_alias(Oid relid, const char *base)
{
	char		name[NAMEDATALEN];
	int			i = 0;

	strlcpy(name, base, sizeof(name));
	while (get_attnum(relid, name) != InvalidAttrNumber)
		snprintf(name, sizeof(name), "%s%d", base, ++i);
	return pstrdup(quote_identifier(name));
}
