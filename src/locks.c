/*-------------------------------------------------------------------------
 *
 * locks.c
 *	  Transaction-scoped advisory locks on a (namespace, key) pair: the key
 *	  derivation, taking the lock, and the SQL helpers lock_key, lock and
 *	  try_lock.  Guards (guard.c) take their locks here too.
 *
 * Glossary:
 *	  namespace	text naming what the lock protects; a guard's is its name
 *	  key		one or more values, each of a type with a hash opclass
 *	  lock key	the 64-bit number both derive, and the lock taken on it
 *
 * Derivation, stable across sessions, restarts and servers of one
 * architecture, and expressible in SQL:
 *	  h := hashtextextended(namespace, 0)
 *	  for each key value v, in order:  h := <v's extended hash>(v, h)
 * where <v's extended hash> is the extended hash support function of the
 * default hash opclass of v's type (hashint4extended, hashtextextended,
 * ...).  The integer types hash alike, so an int4 key and the same value
 * as int8 take the same lock.  The lock is PostgreSQL's own 64-bit
 * advisory lock on h, the one pg_advisory_xact_lock(h) takes: application
 * code and guards meet on it, and pg_locks shows it (classid = high 32
 * bits, objid = low 32 bits, objsubid = 1).
 *
 * Only transaction-scoped locks exist: nothing survives COMMIT or
 * ROLLBACK, so a pooler that hands the connection on (PgBouncer in
 * transaction mode) cannot leak one to the next client.
 *
 *-------------------------------------------------------------------------
 */
#include "upsert_guard.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(upsert_guard_lock_key);
PG_FUNCTION_INFO_V1(upsert_guard_lock);
PG_FUNCTION_INFO_V1(upsert_guard_try_lock);

static uint64 lock_key_from_args(FunctionCallInfo fcinfo);
static uint64 add_any_value(uint64 h, Oid type, Oid collation, Datum value,
							int position);

/* The first step: the namespace's hash, as hashtextextended(ns, 0). */
uint64
ug_lock_key_start(const char *namespace, int len)
{
	return DatumGetUInt64(hash_any_extended((const unsigned char *) namespace,
											len, 0));
}

/* The next step: fold in one non-null key value with its type's hash. */
uint64
ug_lock_key_add(uint64 h, FmgrInfo *hash_extended, Oid collation, Datum value)
{
	return DatumGetUInt64(FunctionCall2Coll(hash_extended, collation, value,
											UInt64GetDatum(h)));
}

/*
 * The extended hash function of a type's default hash opclass, or an
 * error naming what has none (key position 0: a guard's column).
 */
void
ug_lock_hash_function(Oid type, FmgrInfo *finfo, MemoryContext cxt,
					  const char *what)
{
	TypeCacheEntry *tc = lookup_type_cache(getBaseType(type),
										   TYPECACHE_HASH_EXTENDED_PROC);

	if (!OidIsValid(tc->hash_extended_proc))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify an extended hash function for type %s",
						format_type_be(type)),
				 errdetail("%s has a type without a default hash operator class, "
						   "which the lock key needs.", what)));
	fmgr_info_cxt(tc->hash_extended_proc, finfo, cxt);
}

/*
 * Take the lock on a lock key, for the rest of the transaction.  Without
 * wait, false if another transaction holds it.
 */
bool
ug_lock_take(uint64 key, bool wait)
{
	LOCKTAG		tag;

	/* the tag pg_advisory_xact_lock(bigint) uses */
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (key >> 32),
						 (uint32) key, 1);
	return LockAcquire(&tag, ExclusiveLock, false, !wait) != LOCKACQUIRE_NOT_AVAIL;
}

/* lock_key(namespace text, VARIADIC key "any") RETURNS bigint */
Datum
upsert_guard_lock_key(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) lock_key_from_args(fcinfo));
}

/* lock(namespace text, VARIADIC key "any") RETURNS bigint */
Datum
upsert_guard_lock(PG_FUNCTION_ARGS)
{
	uint64		key = lock_key_from_args(fcinfo);

	(void) ug_lock_take(key, true);
	PG_RETURN_INT64((int64) key);
}

/* try_lock(namespace text, VARIADIC key "any") RETURNS boolean */
Datum
upsert_guard_try_lock(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ug_lock_take(lock_key_from_args(fcinfo), false));
}

/*
 * The lock key of a helper's arguments: the namespace, then the key
 * values as separate arguments or as one array passed with VARIADIC.
 * A NULL anywhere is an error: no lock key would mean no lock.
 */
static uint64
lock_key_from_args(FunctionCallInfo fcinfo)
{
	text	   *namespace;
	uint64		h;
	Oid			collation = PG_GET_COLLATION();
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lock namespace must not be null")));
	namespace = PG_GETARG_TEXT_PP(0);
	h = ug_lock_key_start(VARDATA_ANY(namespace), VARSIZE_ANY_EXHDR(namespace));

	if (get_fn_expr_variadic(fcinfo->flinfo))
	{
		ArrayType  *arr;
		Oid			elemtype;
		int16		elmlen;
		bool		elmbyval;
		char		elmalign;
		Datum	   *elems;
		bool	   *elemnulls;
		int			nelems;

		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("lock key must not be null")));
		arr = PG_GETARG_ARRAYTYPE_P(1);
		elemtype = ARR_ELEMTYPE(arr);
		get_typlenbyvalalign(elemtype, &elmlen, &elmbyval, &elmalign);
		deconstruct_array(arr, elemtype, elmlen, elmbyval, elmalign,
						  &elems, &elemnulls, &nelems);
		if (nelems == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lock key must have at least one value")));
		for (i = 0; i < nelems; i++)
		{
			if (elemnulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("lock key value %d must not be null", i + 1)));
			h = add_any_value(h, elemtype, collation, elems[i], i + 1);
		}
		return h;
	}

	for (i = 1; i < PG_NARGS(); i++)
	{
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("lock key value %d must not be null", i)));
		h = add_any_value(h, get_fn_expr_argtype(fcinfo->flinfo, i), collation,
						  PG_GETARG_DATUM(i), i);
	}
	return h;
}

/*
 * Fold in one argument.  An untyped literal ('abc') counts as text; a
 * collatable value without a collation uses the database's default, as
 * a column of default collation would.
 */
static uint64
add_any_value(uint64 h, Oid type, Oid collation, Datum value, int position)
{
	FmgrInfo	finfo;
	char	   *what;

	if (type == UNKNOWNOID)
	{
		type = TEXTOID;
		value = CStringGetTextDatum(DatumGetCString(value));
	}
	if (!OidIsValid(type))
		ereport(ERROR,
				(errcode(ERRCODE_INDETERMINATE_DATATYPE),
				 errmsg("could not determine the type of lock key value %d",
						position)));
	if (!OidIsValid(collation) && type_is_collatable(type))
		collation = DEFAULT_COLLATION_OID;

	what = psprintf("Lock key value %d", position);
	ug_lock_hash_function(type, &finfo, CurrentMemoryContext, what);
	return ug_lock_key_add(h, &finfo, collation, value);
}
