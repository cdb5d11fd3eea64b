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
static void append_batch_keys(StringInfo buf, const UgTarget *target,
							  bool of_table);
static void append_bad_key(StringInfo buf, const UgTarget *target);
static void append_match(StringInfo buf, const UgTarget *target, bool batch);
static void append_key_value(StringInfo buf, const UgKeyColumn *key,
							 const UgTarget *target, bool batch);
static void append_operator(StringInfo buf, Oid opno);
static void append_collation(StringInfo buf, Oid collid);
static void append_column_list(StringInfo buf, const UgTarget *target,
							   bool keys_only);
static void append_guard_match(StringInfo buf, const UgGuard *guard,
							   const char *self_rel, const char *self_tid);

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
 *	 WITH j AS MATERIALIZED (every row, or every pending one, numbered,
 *			joined to the row of the table it matches: its ctid, and
 *			whether it differs),
 *		  old AS MATERIALIZED (of the rows that matched one, the last row
 *			given for each, and whether it differs),
 *		  locked AS (those that differ, locked in key order),
 *		  upd AS (UPDATE them where they still differ),
 *		  fresh AS MATERIALIZED (of the rows that matched none, the last
 *			row given for each key, in key order),
 *		  ins AS (INSERT those, in that order, ON CONFLICT DO NOTHING),
 *		  res (per row settled or pending: outcome, null key?, outside
 *			the predicate?)
 *	 SELECT the rows of res, or the counts
 *
 * $1 is the jsonb array (rows), $2 the ordinals still pending (NULL: all).
 * A row whose outcome is NULL met a concurrent transaction (its insert
 * conflicted, or its update found the row changed or gone): the next
 * round runs again for those ordinals.  Every statement sees one
 * snapshot; locking the rows to update in key order first means two
 * batches over the same keys wait for each other instead of deadlocking,
 * and inserting in key order does the same for new keys.
 *
 * Where the time goes, for a re-sync that changes nothing: reading the
 * rows and one hash join with the table; the rows that matched are told
 * apart by ctid (two rows of a batch with one key match the same row),
 * which is cheaper than comparing keys, and only new rows are sorted.
 * The statement is planned per call (plancache.c), with the row count
 * from upsert_guard._batch_rows's support function.
 */
char *
ug_sql_batch(const UgTarget *target)
{
	StringInfoData buf;
	const char *r = target->alias;
	const char *ord = target->ord_column;
	const char *rid = target->rid_column;
	const char *rel = target->rel_column;
	const char *differs = target->differs_column;
	bool		partitioned = target->relkind != RELKIND_RELATION;
	const char *only = partitioned ? "" : "ONLY ";
	/* rows given (read in the first round only) */
	const char *given = OidIsValid(target->source) ?
		"(SELECT pg_catalog.count(*) FROM j)" : "pg_catalog.jsonb_array_length($1)";
	int			i;

	initStringInfo(&buf);

	/*
	 * j: the rows, numbered, with the ctid (and, for a partitioned table,
	 * the partition) of the row each matches, and whether it differs
	 */
	appendStringInfo(&buf, "WITH j AS MATERIALIZED (SELECT b.*, %s.ctid AS %s, ", r, rid);
	if (partitioned)
		appendStringInfo(&buf, "%s.tableoid AS %s, ", r, rel);
	append_differs_with(&buf, target, "b.");
	appendStringInfo(&buf, " AS %s FROM (", differs);
	if (OidIsValid(target->source))
	{
		appendStringInfo(&buf, "SELECT x.* FROM (SELECT "
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
						 "OPERATOR(pg_catalog.=) ANY ($2)",
						 target->source_qualified, ord);
	}
	else if (!target->has_ordinality)
	{
		/* the function's ordinality column: the position */
		appendStringInfo(&buf, "SELECT p.ordinality AS %s", ord);
		for (i = 0; i < target->ncolumns; i++)
			appendStringInfo(&buf, ", p.%s", quote_identifier(target->params[i].name));
		appendStringInfo(&buf,
						 " FROM ROWS FROM (upsert_guard._batch_rows(NULL::%s, $1))"
						 " WITH ORDINALITY AS p"
						 " WHERE $2 IS NULL OR p.ordinality OPERATOR(pg_catalog.=) ANY ($2)",
						 target->qualified);
	}
	else
	{
		/* a column named "ordinality" would shadow it: one row at a time */
		appendStringInfo(&buf, "SELECT e.ord AS %s", ord);
		for (i = 0; i < target->ncolumns; i++)
			appendStringInfo(&buf, ", p.%s", quote_identifier(target->params[i].name));
		appendStringInfo(&buf,
						 " FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS e(elem, ord),"
						 " LATERAL pg_catalog.jsonb_populate_record(NULL::%s, e.elem) AS p"
						 " WHERE $2 IS NULL OR e.ord OPERATOR(pg_catalog.=) ANY ($2)",
						 target->qualified);
	}
	appendStringInfo(&buf, ") AS b LEFT JOIN %s%s AS %s ON ", only, target->qualified, r);
	append_match(&buf, target, true);

	/* old: of the rows that matched one, the last given for each */
	appendStringInfo(&buf, "), old AS MATERIALIZED (SELECT b.%s AS ord, b.%s AS differs,"
					 " b.%s AS rid%s FROM j AS b WHERE b.%s IS NOT NULL AND NOT EXISTS"
					 " (SELECT FROM j AS d WHERE d.%s OPERATOR(pg_catalog.=) b.%s"
					 " AND d.%s OPERATOR(pg_catalog.>) b.%s",
					 ord, differs, rid, partitioned ? psprintf(", b.%s AS rel", rel) : "",
					 rid, rid, rid, ord, ord);
	if (partitioned)
		appendStringInfo(&buf, " AND d.%s OPERATOR(pg_catalog.=) b.%s", rel, rel);
	appendStringInfoChar(&buf, ')');

	/*
	 * locked: the rows that differ, locked by ctid in the order of their
	 * keys.  A row changed since (or locked and then changed) fails the
	 * ctid test when rechecked, is left out and stays pending.
	 */
	appendStringInfo(&buf, "), locked AS (SELECT o.ord, %s.ctid AS tid%s FROM old AS o"
					 " JOIN %s%s AS %s ON %s.ctid OPERATOR(pg_catalog.=) o.rid",
					 r, partitioned ? psprintf(", %s.tableoid AS rel", r) : "",
					 only, target->qualified, r, r);
	if (partitioned)
		appendStringInfo(&buf, " AND %s.tableoid OPERATOR(pg_catalog.=) o.rel", r);
	appendStringInfoString(&buf, " WHERE o.differs ORDER BY ");
	append_batch_keys(&buf, target, true);
	appendStringInfo(&buf, " FOR NO KEY UPDATE OF %s)", r);

	/* upd: update them (by ctid: they are locked) where they still differ */
	if (target->nchanges > 0)
	{
		appendStringInfo(&buf, ", upd AS (UPDATE %s%s AS %s SET ",
						 only, target->qualified, r);
		for (i = 0; i < target->nchanges; i++)
		{
			const char *col = quote_identifier(target->params[target->changes[i].param].name);

			appendStringInfo(&buf, "%s%s = b.%s", i > 0 ? ", " : "", col, col);
		}
		appendStringInfo(&buf, " FROM locked AS l JOIN j AS b ON b.%s OPERATOR(pg_catalog.=) l.ord"
						 " WHERE %s.ctid OPERATOR(pg_catalog.=) l.tid AND ", ord, r);
		if (partitioned)
			appendStringInfo(&buf, "%s.tableoid OPERATOR(pg_catalog.=) l.rel AND ", r);
		append_differs_with(&buf, target, "b.");
		appendStringInfo(&buf, " RETURNING b.%s AS ord)", ord);
	}
	else
		appendStringInfo(&buf, ", upd AS (SELECT l.ord FROM locked AS l WHERE false)");

	/* fresh: of the rows that matched none, the last for each key, sorted */
	appendStringInfoString(&buf, ", fresh AS MATERIALIZED (SELECT DISTINCT ON (");
	append_batch_keys(&buf, target, false);
	appendStringInfo(&buf, ") b.* FROM j AS b WHERE b.%s IS NULL ORDER BY ", rid);
	append_batch_keys(&buf, target, false);
	appendStringInfo(&buf, ", b.%s DESC)", ord);

	/*
	 * ins: insert them in the order fresh holds them (a CTE is read back
	 * in the order it was written; sorting again would cost a second sort
	 * of every new row)
	 */
	appendStringInfo(&buf, ", ins AS (INSERT INTO %s AS %s ", target->qualified, r);
	append_column_list(&buf, target, false);
	appendStringInfoString(&buf, " SELECT ");
	for (i = 0; i < target->ncolumns; i++)
		appendStringInfo(&buf, "%sb.%s", i > 0 ? ", " : "",
						 quote_identifier(target->params[i].name));
	appendStringInfoString(&buf, " FROM fresh AS b ON CONFLICT ");
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
	 * res: per row settled or pending, its outcome (1 inserted, 2 updated,
	 * 3 unchanged, NULL pending); a new row also says whether its key is
	 * null or outside the predicate
	 */
	appendStringInfo(&buf, "), res AS (SELECT b.%s AS ord, CASE WHEN i.k0 IS NOT NULL THEN 1 END AS o, ",
					 ord);
	append_bad_key(&buf, target);
	appendStringInfoString(&buf, " FROM fresh AS b LEFT JOIN ins AS i ON ");
	for (i = 0; i < target->nkeys; i++)
	{
		const UgKeyColumn *key = &target->keys[i];

		if (i > 0)
			appendStringInfoString(&buf, " AND ");
		appendStringInfo(&buf, "i.k%d ", i);
		append_operator(&buf, key->eqop);
		append_key_value(&buf, key, target, true);
	}
	appendStringInfoString(&buf, " UNION ALL SELECT o.ord, CASE WHEN u.ord IS NOT NULL THEN 2"
						   " WHEN NOT o.differs THEN 3 END, false, false FROM old AS o"
						   " LEFT JOIN upd AS u ON u.ord OPERATOR(pg_catalog.=) o.ord");

	/*
	 * The result: one row per row settled or pending (ord, o, nullkey,
	 * outside, rows given), or a single row of counts (inserted, updated,
	 * unchanged, the pending ordinals, the first null key, the first row
	 * outside, rows given)
	 */
	if (target->per_row)
		appendStringInfo(&buf, ") SELECT ord, o, nullkey, outside, %s FROM res", given);
	else
	{
		/*
		 * Counts straight from the CTEs; the pending rows from res only
		 * when some are.
		 */
		appendStringInfo(&buf, "), f AS (SELECT pg_catalog.count(*) AS n,"
						 " pg_catalog.min(x.ord) FILTER (WHERE x.nullkey) AS nullkey,"
						 " pg_catalog.min(x.ord) FILTER (WHERE x.outside) AS outside"
						 " FROM (SELECT b.%s AS ord, ", ord);
		append_bad_key(&buf, target);
		appendStringInfoString(&buf, " FROM fresh AS b) AS x),"
							   " n AS (SELECT (SELECT pg_catalog.count(*) FROM ins) AS ins,"
							   " (SELECT pg_catalog.count(*) FROM upd) AS upd,"
							   " o.same, o.n AS old FROM (SELECT pg_catalog.count(*) AS n,"
							   " pg_catalog.count(*) FILTER (WHERE NOT differs) AS same FROM old) AS o)"
							   " SELECT n.ins, n.upd, n.same,"
							   " CASE WHEN (n.ins OPERATOR(pg_catalog.+) n.upd OPERATOR(pg_catalog.+) n.same)"
							   " OPERATOR(pg_catalog.<>) (n.old OPERATOR(pg_catalog.+) f.n)"
							   " THEN (SELECT pg_catalog.array_agg(ord) FROM res WHERE o IS NULL) END,"
							   " f.nullkey, f.outside, ");
		appendStringInfo(&buf, "%s FROM n, f", given);
	}
	return buf.data;
}

/*
 * Whether a batch row b has a null key part, and whether it is outside a
 * partial arbiter's predicate: "(b.k IS NULL OR ...) AS nullkey, ... AS
 * outside"
 */
static void
append_bad_key(StringInfo buf, const UgTarget *target)
{
	int			i;

	appendStringInfoChar(buf, '(');
	for (i = 0; i < target->nkeys; i++)
	{
		const UgKeyColumn *key = &target->keys[i];

		if (key->param >= 0)
			appendStringInfo(buf, "%sb.%s IS NULL", i > 0 ? " OR " : "",
							 quote_identifier(target->params[key->param].name));
		else
			appendStringInfo(buf, "%s(%s) IS NULL", i > 0 ? " OR " : "",
							 key->expr_batch);
	}
	appendStringInfo(buf, ") AS nullkey, %s AS outside",
					 target->pred_batch ?
					 psprintf("NOT COALESCE((%s), false)", target->pred_batch) : "false");
}

/*
 * The keys of a batch row, for DISTINCT ON and ORDER BY: b.k, (expr(b));
 * or, with of_table, of the table's row r: r.k, (expr(r)).  Locks are
 * sorted by the stored values, so every worker sorts a row the same way.
 */
static void
append_batch_keys(StringInfo buf, const UgTarget *target, bool of_table)
{
	const char *alias = of_table ? target->alias : "b";
	int			i;

	for (i = 0; i < target->nkeys; i++)
	{
		const UgKeyColumn *key = &target->keys[i];

		if (key->param >= 0)
			appendStringInfo(buf, "%s%s.%s", i > 0 ? ", " : "", alias,
							 quote_identifier(target->params[key->param].name));
		else
			appendStringInfo(buf, "%s(%s)", i > 0 ? ", " : "",
							 of_table ? key->expr_row : key->expr_batch);
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

/*
 * A guard's check: NEW's conflicting rows.  $1 is NEW, of the trigger
 * relation's row type; $2 and $3 its tableoid and ctid, to leave it out.
 *
 *	 SELECT other FROM [ONLY] s.t AS other, (SELECT ($1).*) AS new
 *	  WHERE other.k OPERATOR(s.=) new.k ...
 *		AND (other.tableoid OPERATOR(pg_catalog.<>) $2
 *			 OR other.ctid OPERATOR(pg_catalog.<>) $3)
 *		AND (
 *	 <condition>
 *	 )
 *
 * The condition is the owner's SQL, checked to be one expression
 * (guard.c) and written on lines of its own, so it cannot end in a
 * comment that swallows our closing parenthesis.  "new" and "other" are
 * its names for the two rows.  ONLY: a plain table's guard covers its
 * own rows (guard.c refuses tables with children); a partitioned table's
 * rows are all in its partitions.
 */
char *
ug_sql_guard_check(const UgGuard *guard)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "SELECT other FROM %s%s AS other, (SELECT ($1).*) AS new",
					 guard->relkind == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
					 guard->qualified);
	append_guard_match(&buf, guard, "$2", "$3");
	return buf.data;
}

/*
 * Validation of the rows already there when a guard is declared: one row
 * with more than $1 conflicting rows, and one of those.
 *
 *	 SELECT new, x.other FROM [ONLY] s.t AS new CROSS JOIN LATERAL
 *	   (SELECT other FROM [ONLY] s.t AS other WHERE <as the check>
 *		OFFSET $1 LIMIT 1) AS x
 *	 LIMIT 1
 */
char *
ug_sql_guard_validate(const UgGuard *guard)
{
	StringInfoData buf;
	const char *only = guard->relkind == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ";

	initStringInfo(&buf);
	appendStringInfo(&buf, "SELECT new, x.other FROM %s%s AS new CROSS JOIN LATERAL"
					 " (SELECT other FROM %s%s AS other",
					 only, guard->qualified, only, guard->qualified);
	append_guard_match(&buf, guard, "new.tableoid", "new.ctid");
	appendStringInfoString(&buf, " OFFSET $1 LIMIT 1) AS x LIMIT 1");
	return buf.data;
}

/* WHERE <same key> AND <not itself> AND (<condition>) */
static void
append_guard_match(StringInfo buf, const UgGuard *guard, const char *self_rel,
				   const char *self_tid)
{
	int			i;

	for (i = 0; i < guard->nkeys; i++)
	{
		const char *col = quote_identifier(guard->keynames[i]);

		appendStringInfo(buf, " %s other.%s ", i == 0 ? "WHERE" : "AND", col);
		append_operator(buf, guard->eqops[i]);
		appendStringInfo(buf, " new.%s", col);
	}
	appendStringInfo(buf, " AND (other.tableoid OPERATOR(pg_catalog.<>) %s"
					 " OR other.ctid OPERATOR(pg_catalog.<>) %s)"
					 " AND (\n%s\n)", self_rel, self_tid, guard->conflict);
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
