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
 * column shadows), so both statements return one value of the table's
 * row type, dropped columns and all.
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
static void append_operator(StringInfo buf, Oid opno);
static void append_collation(StringInfo buf, Oid collid);
static void append_column_list(StringInfo buf, const UgTarget *target,
							   bool keys_only);

/*
 * SELECT r FROM [ONLY] s.t AS r WHERE <key match> [FOR ... OF r]
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
	appendStringInfo(&buf, "SELECT %s FROM %s%s AS %s WHERE ",
					 target->alias,
					 target->relkind == RELKIND_RELATION ? "ONLY " : "",
					 target->qualified, target->alias);
	append_key_match(&buf, target);
	if (target->lock != UG_LOCK_NONE)
		appendStringInfo(&buf, "%s%s", clauses[target->lock], target->alias);
	return buf.data;
}

/*
 * INSERT INTO s.t AS r (cols) VALUES ($1, ...)
 *	   ON CONFLICT (keys) DO NOTHING RETURNING r
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
	for (i = 0; i < target->nparams; i++)
		appendStringInfo(&buf, "%s$%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoString(&buf, ") ON CONFLICT ");
	append_column_list(&buf, target, true);
	appendStringInfo(&buf, " DO NOTHING RETURNING %s", target->alias);
	return buf.data;
}

/* r.k1 OPERATOR(s.=) $1 AND r.k2 OPERATOR(s.=) ($2 COLLATE s.c) ... */
static void
append_key_match(StringInfo buf, const UgTarget *target)
{
	int			i;

	for (i = 0; i < target->nkeys; i++)
	{
		const UgKeyColumn *key = &target->keys[i];

		if (i > 0)
			appendStringInfoString(buf, " AND ");
		appendStringInfo(buf, "%s.%s ", target->alias,
						 quote_identifier(target->params[key->param].name));
		append_operator(buf, key->eqop);
		if (OidIsValid(key->collation))
		{
			appendStringInfo(buf, " ($%d COLLATE ", key->param + 1);
			append_collation(buf, key->collation);
			appendStringInfoChar(buf, ')');
		}
		else
			appendStringInfo(buf, " $%d", key->param + 1);
	}
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

/* ("a", "b", ...): all columns of new_row, or the conflict columns only */
static void
append_column_list(StringInfo buf, const UgTarget *target, bool keys_only)
{
	int			n = keys_only ? target->nkeys : target->nparams;
	int			i;

	appendStringInfoChar(buf, '(');
	for (i = 0; i < n; i++)
	{
		int			p = keys_only ? target->keys[i].param : i;

		appendStringInfo(buf, "%s%s", i > 0 ? ", " : "",
						 quote_identifier(target->params[p].name));
	}
	appendStringInfoChar(buf, ')');
}
