# upsert_guard: PGXS build.  make && make install, then make installcheck
# against a running server (PGHOST, PGPORT, PGUSER as usual); test/run does
# all of it on a throwaway cluster.

MODULE_big = upsert_guard
OBJS = \
	src/upsert_guard.o \
	src/args.o \
	src/target.o \
	src/sqlgen.o \
	src/plancache.o \
	src/call.o \
	src/select_or_insert.o \
	src/upsert.o \
	src/counter.o \
	src/batch.o \
	src/batch_rows.o \
	src/locks.o \
	src/guard.o \
	src/guard_check.o src/stats.o
PGFILEDESC = "upsert_guard - race-free select-or-insert, upsert and guards"

EXTENSION = upsert_guard
DATA = $(wildcard sql/upsert_guard--*.sql)

# Tests: sources under test/, expected output under expected/.
# pg_regress reads expected files from --outputdir before --inputdir.
REGRESS = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --outputdir=. --load-extension=upsert_guard
ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=. --load-extension=upsert_guard
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PG_CFLAGS = -std=c99 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
EXTRA_CLEAN = results output_iso tmp_check regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on the shared header (PGXS tracks no dependencies)
$(OBJS) $(OBJS:.o=.bc): src/upsert_guard.h
