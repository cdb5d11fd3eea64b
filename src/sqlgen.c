/*-------------------------------------------------------------------------
 *
 * sqlgen.c
 *	  Every statement upsert_guard generates is built here, and only here.
 *
 * The rules the text follows, so that neither a hostile search_path nor a
 * hostile name can redirect it:
 *	  - the table is schema-qualified and quoted; columns are quoted names
 *		read from the catalog, never the caller's spelling;
 *	  - comparisons use the arbiter opclass's equality operator, written
 *		OPERATOR(schema.op), and its collation where it differs from the
 *		column's, written COLLATE schema.name;
 *	  - values appear only as $n parameters, $n being the n-th column of
 *		new_row in attribute-number order; both statements of an entry
 *		take the same parameter list.
 *
 * The bare alias stands for the whole row (target.c picks one that no
 * column shadows), so every statement returns one value of the table's
 * row type, dropped columns and all (the upsert's lookup a second one:
 * whether any update column differs).
 *
 * "Differs" is written with the column type's equality operator, schema
 * and all, under the "C" collation for collatable types, and null-safe:
 * NOT COALESCE(r.c OPERATOR(s.=) $n, r.c IS NULL AND $n IS NULL).
 * IS DISTINCT FROM would look "=" up in the search_path.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

static void append_key_match(StringInfo buf, const UgTarget *target);
static void append_differs(StringInfo buf, const UgTarget *target);
static void append_differs_with(StringInfo buf, const UgTarget *target,
								const char *prefix);
static void append_batch_keys(StringInfo buf, const UgTarget *target);
static void append_match(StringInfo buf, const UgTarget *target, bool batch);
static void append_key_value(StringInfo buf, const UgKeyColumn *key,
							 const UgTarget *target, bool batch);
static void append_operator(StringInfo buf, Oid opno);
static void append_collation(StringInfo buf, Oid collid);
static void append_column_list(StringInfo buf, const UgTarget *target,
							   bool keys_only);

/*
 * SELECT r[, <differs>] FROM [ONLY] s.t AS r WHERE <key match> [FOR ... OF r]
 *
 * ONLY keeps rows of inheritance children out: the parent's unique index
 * does not cover them.  A partitioned table has no rows of its own, so it
 * is read whole.
 */
char *
ug_sql_select(const UgTarget *target)
{
	static const char *const clauses[] = {
		[UG_LOCK_NONE] = "",
		[UG_LOCK_KEY_SHARE] = " FOR KEY SHARE OF ",
		[UG_LOCK_SHARE] = " FOR SHARE OF ",
		[UG_LOCK_NO_KEY_UPDATE] = " FOR NO KEY UPDATE OF ",
		[UG_LOCK_UPDATE] = " FOR UPDATE OF "
	};
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "SELECT %s", target->alias);
	if (target->kind == UG_IDEMPOTENT_UPSERT)
	{
		appendStringInfoString(&buf, ", ");
		append_differs(&buf, target);
	}
	appendStringInfo(&buf, " FROM %s%s AS %s WHERE ",
					 target->relkind == RELKIND_RELATION ? "ONLY " : "",
					 target->qualified, target->alias);
	append_key_match(&buf, target);
	if (target->lock != UG_LOCK_NONE)
		appendStringInfo(&buf, "%s%s", clauses[target->lock], target->alias);
	return buf.data;
}

/*
 * INSERT INTO s.t AS r (cols) VALUES ($1, ...)
 *	   ON CONFLICT (keys) [WHERE predicate] DO NOTHING RETURNING r
 * The inference clause names the arbiter's columns and expressions (and
 * its predicate), so PostgreSQL infers that same index.
 */
char *
ug_sql_insert(const UgTarget *target)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "INSERT INTO %s AS %s ",
					 target->qualified, target->alias);
	append_column_list(&buf, target, false);
	appendStringInfoString(&buf, " VALUES (");
	for (i = 0; i < target->ncolumns; i++)
		appendStringInfo(&buf, "%s$%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoString(&buf, ") ON CONFLICT ");
	append_column_list(&buf, target, true);
	if (target->pred_infer != NULL)
		appendStringInfo(&buf, " WHERE %s", target->pred_infer);
	appendStringInfo(&buf, " DO NOTHING RETURNING %s", target->alias);
	return buf.data;
}

/*
 * idempotent_upsert:
 *	 UPDATE [ONLY] s.t AS r SET c = $n, ... WHERE <key match> AND <differs>
 *	 RETURNING r
 * increment:
 *	 UPDATE [ONLY] s.t AS r SET c = COALESCE(r.c, 0) OPERATOR(pg_catalog.+) $d, ...
 *	 WHERE <key match> RETURNING r
 * Under READ COMMITTED a row changed meanwhile is re-checked against the
 * WHERE clause (EvalPlanQual), so a concurrent writer that already set the
 * same values makes the update find nothing, and increments add up.
 */
char *
ug_sql_update(const UgTarget *target)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "UPDATE %s%s AS %s SET ",
					 target->relkind == RELKIND_RELATION ? "ONLY " : "",
					 target->qualified, target->alias);
	for (i = 0; i < target->nchanges; i++)
	{
		int			n = target->changes[i].param;
		const char *col = quote_identifier(target->params[n].name);

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		if (target->kind == UG_INCREMENT)
			appendStringInfo(&buf, "%s = COALESCE(%s.%s, 0) OPERATOR(pg_catalog.+) $%d",
							 col, target->alias, col, n + 1);
		else
			appendStringInfo(&buf, "%s = $%d", col, n + 1);
	}
	appendStringInfoString(&buf, " WHERE ");
	append_key_match(&buf, target);
	if (target->kind == UG_IDEMPOTENT_UPSERT)
	{
		appendStringInfoString(&buf, " AND ");
		append_differs(&buf, target);
	}
	appendStringInfo(&buf, " RETURNING %s", target->alias);
	return buf.data;
}

/* NOT (COALESCE(r.c OPERATOR(s.=) $n, r.c IS NULL AND $n IS NULL) AND ...) */
static void
append_differs(StringInfo buf, const UgTarget *target)
{
	append_differs_with(buf, target, NULL);
}

/*
 * The same with new values from a batch row ("b.c") when prefix is given,
 * else from the $n parameters.
 */
static void
append_differs_with(StringInfo buf, const UgTarget *target, const char *prefix)
{
	int			i;

	if (target->nchanges == 0)
	{
		appendStringInfoString(buf, "false");
		return;
	}
	appendStringInfoString(buf, "NOT (");
	for (i = 0; i < target->nchanges; i++)
	{
		const UgChange *change = &target->changes[i];
		const char *col = quote_identifier(target->params[change->param].name);
		char	   *value = prefix ? psprintf("%s%s", prefix, col) :
			psprintf("$%d", change->param + 1);

		if (i > 0)
			appendStringInfoString(buf, " AND ");
		appendStringInfo(buf, "COALESCE(%s.%s ", target->alias, col);
		append_operator(buf, change->eqop);
		if (change->collatable)
			appendStringInfo(buf, " (%s COLLATE pg_catalog.\"C\")", value);
		else
			appendStringInfo(buf, " %s", value);
		appendStringInfo(buf, ", %s.%s IS NULL AND %s IS NULL)",
						 target->alias, col, value);
	}
	appendStringInfoChar(buf, ')');
}

/*
 * r.k1 OPERATOR(s.=) $1 AND r.k2 OPERATOR(s.=) ($2 COLLATE s.c) ...
 * An expression key compares the expression over the row with the same
 * expression over the parameters: (expr(r.c)) OPERATOR(s.=) (expr($n)).
 * A partial arbiter adds its predicate over the row.
 */
static void
append_key_match(StringInfo buf, const UgTarget *target)
{
	append_match(buf, target, false);
}

/*
 * The key match, with the new values from the parameters or, for a
 * batch, from the batch row b: r.k OPERATOR(s.=) b.k ...
 */
static void
append_match(StringInfo buf, const UgTarget *target, bool batch)
{
	int			i;

	for (i = 0; i < target->nkeys; i++)
	{
		const UgKeyColumn *key = &target->keys[i];

		if (i > 0)
			appendStringInfoString(buf, " AND ");
		if (key->param >= 0)
			appendStringInfo(buf, "%s.%s ", target->alias,
							 quote_identifier(target->params[key->param].name));
		else
			appendStringInfo(buf, "(%s) ", key->expr_row);
		append_operator(buf, key->eqop);
		append_key_value(buf, key, target, batch);
	}
	if (target->pred_row != NULL)
		appendStringInfo(buf, " AND (%s)", target->pred_row);
}

/*
 * SELECT COALESCE((<predicate over $n>), false), (<expression over $n> IS NULL OR ...)
 * For an arbiter with expressions or a predicate: whether new_row falls
 * under the index at all, and whether its key has a null part (then it
 * can never conflict).
 */
char *
ug_sql_check(const UgTarget *target)
{
	StringInfoData buf;
	bool		any_expr = false;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "SELECT %s, ",
					 target->pred_new ?
					 psprintf("COALESCE((%s), false)", target->pred_new) : "true");
	for (i = 0; i < target->nkeys; i++)
	{
		if (target->keys[i].param >= 0)
			continue;
		appendStringInfo(&buf, "%s(%s) IS NULL", any_expr ? " OR " : "",
						 target->keys[i].expr_new);
		any_expr = true;
	}
	if (!any_expr)
		appendStringInfoString(&buf, "false");
	return buf.data;
}

/*
 * A batch (idempotent_upsert_batch and _from), one statement per round:
 *
 *	 WITH src AS MATERIALIZED (the rows, numbered, restricted to $2),
 *		  batch AS MATERIALIZED (the last row of each key, in key order),
 *		  cur AS MATERIALIZED (the rows that exist, and whether they differ),
 *		  locked AS (the differing rows, locked in key order),
 *		  upd AS (UPDATE them where they still differ),
 *		  ins AS (INSERT the rest in key order ON CONFLICT DO NOTHING)
 *		  res (per batch row: outcome, null key?, outside the predicate?)
 *	 SELECT the rows of res, or their counts
 *
 * $1 is the jsonb array (rows), $2 the ordinals still pending (NULL: all).
 * A row whose outcome is NULL met a concurrent transaction (its insert
 * conflicted, or its update found the row changed or gone): the next
 * round runs again for those ordinals.  Every statement sees one
 * snapshot; locking the rows to update in key order first means two
 * batches over the same keys wait for each other instead of deadlocking,
 * and inserting in key order does the same for new keys.
 */
char *
ug_sql_batch(const UgTarget *target)
{
	StringInfoData buf;
	const char *r = target->alias;
	const char *ord = target->ord_column;
	const char *only = target->relkind == RELKIND_RELATION ? "ONLY " : "";
	int			i;

	initStringInfo(&buf);

	/* src: every row (or every pending one), numbered */
	if (OidIsValid(target->source))
	{
		appendStringInfo(&buf,
						 "WITH src AS MATERIALIZED (SELECT x.* FROM (SELECT "
						 "pg_catalog.row_number() OVER () AS %s", ord);
		for (i = 0; i < target->ncolumns; i++)
		{
			const UgParam *p = &target->params[i];
			const char *col = quote_identifier(p->name);

			appendStringInfo(&buf, ", CAST(s.%s AS %s) AS %s", col,
							 format_type_extended(p->type, p->typmod,
												  FORMAT_TYPE_TYPEMOD_GIVEN |
												  FORMAT_TYPE_FORCE_QUALIFY),
							 col);
		}
		appendStringInfo(&buf, " FROM %s AS s) AS x WHERE $2 IS NULL OR x.%s "
						 "OPERATOR(pg_catalog.=) ANY ($2))",
						 target->source_qualified, ord);
	}
	else if (!target->has_ordinality)
	{
		/* jsonb_populate_recordset's ordinality column: the position */
		appendStringInfo(&buf, "WITH src AS MATERIALIZED (SELECT p.ordinality AS %s", ord);
		for (i = 0; i < target->ncolumns; i++)
			appendStringInfo(&buf, ", p.%s", quote_identifier(target->params[i].name));
		appendStringInfo(&buf,
						 " FROM ROWS FROM (pg_catalog.jsonb_populate_recordset(NULL::%s, $1))"
						 " WITH ORDINALITY AS p"
						 " WHERE $2 IS NULL OR p.ordinality OPERATOR(pg_catalog.=) ANY ($2))",
						 target->qualified);
	}
	else
	{
		/* a column named "ordinality" would shadow it: one row at a time */
		appendStringInfo(&buf, "WITH src AS MATERIALIZED (SELECT e.ord AS %s", ord);
		for (i = 0; i < target->ncolumns; i++)
			appendStringInfo(&buf, ", p.%s", quote_identifier(target->params[i].name));
		appendStringInfo(&buf,
						 " FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS e(elem, ord),"
						 " LATERAL pg_catalog.jsonb_populate_record(NULL::%s, e.elem) AS p"
						 " WHERE $2 IS NULL OR e.ord OPERATOR(pg_catalog.=) ANY ($2))",
						 target->qualified);
	}

	/* batch: the last row of each key, sorted by key */
	appendStringInfoString(&buf, ", batch AS MATERIALIZED (SELECT DISTINCT ON (");
	append_batch_keys(&buf, target);
	appendStringInfoString(&buf, ") b.* FROM src AS b ORDER BY ");
	append_batch_keys(&buf, target);
	appendStringInfo(&buf, ", b.%s DESC)", ord);

	/* cur: the rows that exist, and whether they differ */
	appendStringInfo(&buf, ", cur AS MATERIALIZED (SELECT b.%s AS ord, ", ord);
	append_differs_with(&buf, target, "b.");
	appendStringInfo(&buf, " AS differs FROM batch AS b JOIN %s%s AS %s ON ",
					 only, target->qualified, r);
	append_match(&buf, target, true);

	/* locked: those that differ, locked in key order */
	appendStringInfo(&buf, "), locked AS (SELECT b.%s AS ord FROM batch AS b"
					 " JOIN cur AS c ON c.ord OPERATOR(pg_catalog.=) b.%s AND c.differs"
					 " JOIN %s%s AS %s ON ", ord, ord, only, target->qualified, r);
	append_match(&buf, target, true);
	appendStringInfoString(&buf, " ORDER BY ");
	append_batch_keys(&buf, target);
	appendStringInfo(&buf, " FOR NO KEY UPDATE OF %s)", r);

	/* upd: update them where they still differ */
	if (target->nchanges > 0)
	{
		appendStringInfo(&buf, ", upd AS (UPDATE %s%s AS %s SET ",
						 only, target->qualified, r);
		for (i = 0; i < target->nchanges; i++)
		{
			const char *col = quote_identifier(target->params[target->changes[i].param].name);

			appendStringInfo(&buf, "%s%s = b.%s", i > 0 ? ", " : "", col, col);
		}
		appendStringInfo(&buf, " FROM batch AS b WHERE b.%s IN (SELECT l.ord FROM locked AS l) AND ",
						 ord);
		append_match(&buf, target, true);
		appendStringInfoString(&buf, " AND ");
		append_differs_with(&buf, target, "b.");
		appendStringInfo(&buf, " RETURNING b.%s AS ord)", ord);
	}
	else
		appendStringInfo(&buf, ", upd AS (SELECT l.ord FROM locked AS l WHERE false)");

	/* ins: insert the rest, in key order */
	appendStringInfo(&buf, ", ins AS (INSERT INTO %s AS %s ", target->qualified, r);
	append_column_list(&buf, target, false);
	appendStringInfoString(&buf, " SELECT ");
	for (i = 0; i < target->ncolumns; i++)
		appendStringInfo(&buf, "%sb.%s", i > 0 ? ", " : "",
						 quote_identifier(target->params[i].name));
	appendStringInfo(&buf, " FROM batch AS b WHERE NOT EXISTS (SELECT FROM cur AS c"
					 " WHERE c.ord OPERATOR(pg_catalog.=) b.%s) ORDER BY ", ord);
	append_batch_keys(&buf, target);
	appendStringInfoString(&buf, " ON CONFLICT ");
	append_column_list(&buf, target, true);
	if (target->pred_infer != NULL)
		appendStringInfo(&buf, " WHERE %s", target->pred_infer);
	appendStringInfoString(&buf, " DO NOTHING RETURNING ");
	for (i = 0; i < target->nkeys; i++)
	{
		const UgKeyColumn *key = &target->keys[i];

		if (key->param >= 0)
			appendStringInfo(&buf, "%s%s.%s AS k%d", i > 0 ? ", " : "", r,
							 quote_identifier(target->params[key->param].name), i);
		else
			appendStringInfo(&buf, "%s(%s) AS k%d", i > 0 ? ", " : "",
							 key->expr_row, i);
	}

	/*
	 * res: per row of the batch, its outcome (1 inserted, 2 updated,
	 * 3 unchanged, NULL pending) and whether its key is null or outside
	 * the predicate
	 */
	appendStringInfo(&buf, "), res AS (SELECT b.%s AS ord, CASE WHEN i.k0 IS NOT NULL THEN 1"
					 " WHEN u.ord IS NOT NULL THEN 2"
					 " WHEN c.ord IS NOT NULL AND NOT c.differs THEN 3 END AS o, (",
					 ord);
	for (i = 0; i < target->nkeys; i++)
	{
		const UgKeyColumn *key = &target->keys[i];

		if (key->param >= 0)
			appendStringInfo(&buf, "%sb.%s IS NULL", i > 0 ? " OR " : "",
							 quote_identifier(target->params[key->param].name));
		else
			appendStringInfo(&buf, "%s(%s) IS NULL", i > 0 ? " OR " : "",
							 key->expr_batch);
	}
	appendStringInfo(&buf, ") AS nullkey, %s AS outside FROM batch AS b"
					 " LEFT JOIN cur AS c ON c.ord OPERATOR(pg_catalog.=) b.%s"
					 " LEFT JOIN upd AS u ON u.ord OPERATOR(pg_catalog.=) b.%s"
					 " LEFT JOIN ins AS i ON ",
					 target->pred_batch ?
					 psprintf("NOT COALESCE((%s), false)", target->pred_batch) : "false",
					 ord, ord);
	for (i = 0; i < target->nkeys; i++)
	{
		const UgKeyColumn *key = &target->keys[i];

		if (i > 0)
			appendStringInfoString(&buf, " AND ");
		appendStringInfo(&buf, "i.k%d ", i);
		append_operator(&buf, key->eqop);
		append_key_value(&buf, key, target, true);
	}

	/*
	 * The result: one row per batch row (ord, o, nullkey, outside, rows
	 * given), or a single row of counts (inserted, updated, unchanged, the
	 * pending ordinals, the first null key, the first row outside, rows
	 * given)
	 */
	if (target->per_row)
		appendStringInfoString(&buf, ") SELECT ord, o, nullkey, outside,"
							   " (SELECT pg_catalog.count(*) FROM src) FROM res");
	else
	{
		/*
		 * Counts straight from the CTEs; the pending rows from res only
		 * when some are.
		 */
		appendStringInfoString(&buf, "), n AS (SELECT"
							   " (SELECT pg_catalog.count(*) FROM ins) AS ins,"
							   " (SELECT pg_catalog.count(*) FROM upd) AS upd,"
							   " (SELECT pg_catalog.count(*) FROM cur WHERE NOT differs) AS same,"
							   " (SELECT pg_catalog.count(*) FROM batch) AS batch)"
							   " SELECT n.ins, n.upd, n.same,"
							   " CASE WHEN n.ins + n.upd + n.same OPERATOR(pg_catalog.<>) n.batch"
							   " THEN (SELECT pg_catalog.array_agg(ord) FROM res WHERE o IS NULL) END,"
							   " (SELECT pg_catalog.min(ord) FROM res WHERE nullkey),"
							   " (SELECT pg_catalog.min(ord) FROM res WHERE outside),"
							   " (SELECT pg_catalog.count(*) FROM src) FROM n");
	}
	return buf.data;
}

/* The keys of a batch row, for DISTINCT ON and ORDER BY: b.k, (expr(b)) */
static void
append_batch_keys(StringInfo buf, const UgTarget *target)
{
	int			i;

	for (i = 0; i < target->nkeys; i++)
	{
		const UgKeyColumn *key = &target->keys[i];

		if (key->param >= 0)
			appendStringInfo(buf, "%sb.%s", i > 0 ? ", " : "",
							 quote_identifier(target->params[key->param].name));
		else
			appendStringInfo(buf, "%s(%s)", i > 0 ? ", " : "", key->expr_batch);
	}
}

/*
 * The new value of a key, after its operator: " $n", " (expr($n))", for a
 * batch " b.k", " (expr(b))"; with the arbiter's collation when it differs
 * from the value's: " ($n COLLATE s.c)".
 */
static void
append_key_value(StringInfo buf, const UgKeyColumn *key, const UgTarget *target,
				 bool batch)
{
	char	   *value;

	if (key->param >= 0)
		value = batch ?
			psprintf("b.%s", quote_identifier(target->params[key->param].name)) :
			psprintf("$%d", key->param + 1);
	else
		value = psprintf("(%s)", batch ? key->expr_batch : key->expr_new);

	if (OidIsValid(key->collation))
	{
		appendStringInfo(buf, " (%s COLLATE ", value);
		append_collation(buf, key->collation);
		appendStringInfoChar(buf, ')');
	}
	else
		appendStringInfo(buf, " %s", value);
}

/* OPERATOR(schema.name) */
static void
append_operator(StringInfo buf, Oid opno)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator op;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	op = (Form_pg_operator) GETSTRUCT(tup);
	appendStringInfo(buf, "OPERATOR(%s.%s)",
					 quote_identifier(get_namespace_name(op->oprnamespace)),
					 NameStr(op->oprname));
	ReleaseSysCache(tup);
}

/* schema.collation */
static void
append_collation(StringInfo buf, Oid collid)
{
	HeapTuple	tup = SearchSysCache1(COLLOID, ObjectIdGetDatum(collid));
	Form_pg_collation coll;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for collation %u", collid);
	coll = (Form_pg_collation) GETSTRUCT(tup);
	appendStringInfoString(buf,
						   quote_qualified_identifier(get_namespace_name(coll->collnamespace),
													  NameStr(coll->collname)));
	ReleaseSysCache(tup);
}

/*
 * ("a", "b", ...): all columns of new_row, or the arbiter's key columns
 * and (expressions)
 */
static void
append_column_list(StringInfo buf, const UgTarget *target, bool keys_only)
{
	int			n = keys_only ? target->nkeys : target->ncolumns;
	int			i;

	appendStringInfoChar(buf, '(');
	for (i = 0; i < n; i++)
	{
		int			p = keys_only ? target->keys[i].param : i;

		if (i > 0)
			appendStringInfoString(buf, ", ");
		if (p >= 0)
			appendStringInfoString(buf, quote_identifier(target->params[p].name));
		else
			appendStringInfo(buf, "(%s)", target->keys[i].expr_infer);
	}
	appendStringInfoChar(buf, ')');
}
