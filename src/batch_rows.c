/*-------------------------------------------------------------------------
 *
 * batch_rows.c
 *	  upsert_guard._batch_rows(target, rows): the rows of a jsonb array as
 *	  rows of the target's type, with a row estimate the planner can use.
 *
 * The batch statement reads its rows through this function instead of
 * calling jsonb_populate_recordset directly.  The work is the same (it
 * hands its call to jsonb_populate_recordset, arguments and all), but its
 * support function tells the planner how many elements the array holds.
 * Without it the planner assumes 100 rows for any such function and, for
 * a feed of 100k rows, probes the table's index 100k times instead of
 * joining by hash.  Batch statements are planned for each call (plancache.c
 * prepares them with CURSOR_OPT_CUSTOM_PLAN), so the array is a constant
 * when the planner asks.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "nodes/supportnodes.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(upsert_guard_batch_rows);
PG_FUNCTION_INFO_V1(upsert_guard_batch_rows_support);

/* _batch_rows(anyelement, jsonb) RETURNS SETOF anyelement */
Datum
upsert_guard_batch_rows(PG_FUNCTION_ARGS)
{
	return jsonb_populate_recordset(fcinfo);
}

/* SupportRequestRows: the length of a constant jsonb array. */
Datum
upsert_guard_batch_rows_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestRows *req;
	Node	   *rows;
	Jsonb	   *jb;

	if (!IsA(rawreq, SupportRequestRows))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestRows *) rawreq;
	if (!IsA(req->node, FuncExpr) || list_length(((FuncExpr *) req->node)->args) != 2)
		PG_RETURN_POINTER(NULL);

	rows = lsecond(((FuncExpr *) req->node)->args);
	if (!IsA(rows, Const) || ((Const *) rows)->constisnull)
		PG_RETURN_POINTER(NULL);
	jb = DatumGetJsonbP(((Const *) rows)->constvalue);
	if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
		PG_RETURN_POINTER(NULL);
	req->rows = Max(JB_ROOT_COUNT(jb), 1);
	PG_RETURN_POINTER(req);
}
