-- GIN twins of FerretDB's indexes, for the private PostgreSQL cluster of tools/infra
-- (postgres.js runs this file in FerretDB's database at every start; it is idempotent).
--
-- Why: FerretDB v1.24 (PostgreSQL backend) creates each MongoDB index as a btree on
-- expressions such as (_jsonb -> 'field') or (_jsonb -> 'a') -> 'b', but compiles an
-- equality filter {field: v} to `_jsonb -> 'field' @> v` ({'a.b': v} to `_jsonb #> '{a,b}' @> v`).
-- A btree cannot serve `@>`, so every find/update/delete by a filter is a sequential scan. A GIN
-- index (jsonb_path_ops) on the same expression serves `@>`, including the match of one element
-- of an array field. These triggers keep, for every FerretDB collection table, one GIN index per
-- distinct key expression of its btree indexes (the `_id_` index included): created when FerretDB
-- creates an index, dropped when the last btree index using that expression is dropped. The
-- btree indexes stay as they are (they enforce uniqueness, and `_jsonb -> '_id' = v` - FerretDB's
-- UPDATE and DELETE by _id - uses them).
--
-- Twins are named <table prefix>_<16 hex>_gin; FerretDB's own index names end in _<8 hex>_idx,
-- so the two never collide. The services keep declaring plain MongoDB indexes.
--
-- fastupdate = off: with GIN's default (on), new entries go to an unsorted pending list that
-- every lookup reads whole, until VACUUM merges it (gin_pending_list_limit, 4 MB: about 100,000
-- entries of these indexes). FerretDB updates a document by rewriting its one jsonb column,
-- which is never a HOT update, so every write adds an entry to every twin and the list stays
-- near full under load: measured at 100,000 profiles, 100,000 pending entries and findOne by
-- _id at ~400/s; with the entries in the index itself, see docs/benchmarks.md.

-- The GIN expression a btree key expression (as pg_get_indexdef prints it) must be twinned with,
-- or NULL when it is not a FerretDB field path.
CREATE OR REPLACE FUNCTION mosaic_gin_expression(btree_expr text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  keys text[];
  rebuilt text := '_jsonb';
  k text;
BEGIN
  keys := ARRAY(SELECT replace(m[1], '''''', '''') FROM regexp_matches(btree_expr, '''((?:[^'']|'''')*)''::text', 'g') AS m);
  IF cardinality(keys) = 0 THEN
    RETURN NULL;
  END IF;
  FOREACH k IN ARRAY keys LOOP
    rebuilt := '(' || rebuilt || ' -> ' || quote_literal(k) || '::text)';
  END LOOP;
  IF rebuilt <> btree_expr THEN
    RETURN NULL; -- not of the form FerretDB creates: leave it alone
  END IF;
  -- The filter's form: `->` for a top-level field, `#>` with a path for a dotted one.
  IF cardinality(keys) = 1 THEN
    RETURN '_jsonb -> ' || quote_literal(keys[1]);
  END IF;
  RETURN '_jsonb #> ' || quote_literal(keys::text) || '::text[]';
END;
$$;

-- The schema and name of a FerretDB collection table; no row for anything else (FerretDB's own
-- metadata tables, other relations). postgres-cas-guard.sql uses it too.
CREATE OR REPLACE FUNCTION mosaic_collection_table(tbl oid, OUT relname name, OUT nspname name) RETURNS SETOF record
LANGUAGE sql STABLE AS $$
  SELECT c.relname, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = tbl AND c.relkind = 'r' AND c.relname NOT LIKE '\_ferretdb\_%'
$$;

-- Make the GIN twins of one table match its btree indexes.
CREATE OR REPLACE FUNCTION mosaic_gin_sync(tbl oid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  rel record;
  wanted text[] := '{}';
  names text[] := '{}';
  idx record;
  expr text;
  gin_expr text;
  twin text;
  i int;
BEGIN
  SELECT * INTO rel FROM mosaic_collection_table(tbl);
  IF NOT FOUND THEN
    RETURN;
  END IF;
  FOR idx IN
    SELECT x.indexrelid, x.indnkeyatts FROM pg_index x
      JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_am am ON am.oid = ic.relam
     WHERE x.indrelid = tbl AND am.amname = 'btree'
  LOOP
    FOR i IN 1..idx.indnkeyatts LOOP
      expr := pg_get_indexdef(idx.indexrelid, i, true);
      gin_expr := mosaic_gin_expression(expr);
      IF gin_expr IS NOT NULL AND NOT gin_expr = ANY (wanted) THEN
        wanted := wanted || gin_expr;
        names := names || (left(rel.relname, 30) || '_' || left(md5(tbl::text || ' ' || gin_expr), 16) || '_gin');
      END IF;
    END LOOP;
  END LOOP;
  FOR i IN 1..cardinality(wanted) LOOP
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((%s) jsonb_path_ops) WITH (fastupdate = off)', names[i], rel.nspname, rel.relname, wanted[i]);
  END LOOP;
  -- Twins made before fastupdate was turned off: turn it off and move their pending entries
  -- into the index now (a later lookup would scan them all).
  FOR twin IN
    SELECT ic.relname FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
     WHERE x.indrelid = tbl AND ic.relname = ANY (names)
       AND NOT coalesce(ic.reloptions, '{}') @> ARRAY['fastupdate=off']
  LOOP
    EXECUTE format('ALTER INDEX %I.%I SET (fastupdate = off)', rel.nspname, twin);
    PERFORM gin_clean_pending_list(format('%I.%I', rel.nspname, twin)::regclass);
  END LOOP;
  FOR twin IN
    SELECT ic.relname FROM pg_index x
      JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_am am ON am.oid = ic.relam
     WHERE x.indrelid = tbl AND am.amname = 'gin' AND ic.relname ~ '_[0-9a-f]{16}_gin$' AND NOT ic.relname = ANY (names)
  LOOP
    EXECUTE format('DROP INDEX IF EXISTS %I.%I', rel.nspname, twin);
  END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION mosaic_gin_on_create() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  tbl oid;
BEGIN
  -- The DDL below fires these triggers again; one level is enough.
  IF current_setting('mosaic.gin_sync', true) = 'on' THEN
    RETURN;
  END IF;
  PERFORM set_config('mosaic.gin_sync', 'on', true);
  FOR tbl IN
    SELECT DISTINCT x.indrelid FROM pg_event_trigger_ddl_commands() c JOIN pg_index x ON x.indexrelid = c.objid
     WHERE c.object_type = 'index'
  LOOP
    BEGIN
      PERFORM mosaic_gin_sync(tbl);
    EXCEPTION WHEN OTHERS THEN
      -- Never fail FerretDB's own DDL because of a twin: the index works, only slower.
      RAISE WARNING 'mosaic: GIN twin of an index on % not created: %', tbl::regclass, SQLERRM;
    END;
  END LOOP;
  PERFORM set_config('mosaic.gin_sync', 'off', true);
END;
$$;

CREATE OR REPLACE FUNCTION mosaic_gin_on_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  tbl oid;
BEGIN
  IF current_setting('mosaic.gin_sync', true) = 'on' THEN
    RETURN;
  END IF;
  PERFORM set_config('mosaic.gin_sync', 'on', true);
  -- A dropped index no longer says which table it was on: re-check the tables of its schema.
  FOR tbl IN
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname IN (SELECT DISTINCT schema_name FROM pg_event_trigger_dropped_objects() WHERE object_type = 'index')
  LOOP
    BEGIN
      PERFORM mosaic_gin_sync(tbl);
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'mosaic: GIN twins of % not updated: %', tbl::regclass, SQLERRM;
    END;
  END LOOP;
  PERFORM set_config('mosaic.gin_sync', 'off', true);
END;
$$;

DROP EVENT TRIGGER IF EXISTS mosaic_gin_on_create;
CREATE EVENT TRIGGER mosaic_gin_on_create ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION mosaic_gin_on_create();
DROP EVENT TRIGGER IF EXISTS mosaic_gin_on_drop;
CREATE EVENT TRIGGER mosaic_gin_on_drop ON sql_drop WHEN TAG IN ('DROP INDEX')
  EXECUTE FUNCTION mosaic_gin_on_drop();

-- The tables of the databases' schemas (FerretDB's collections and its metadata tables): what
-- this file and postgres-cas-guard.sql go over when (re)installed.
CREATE OR REPLACE FUNCTION mosaic_schema_tables() RETURNS SETOF oid
LANGUAGE sql STABLE AS $$
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
$$;

-- Tables created before this file was (re)installed.
SELECT count(*) AS tables_checked FROM (SELECT mosaic_gin_sync(t) FROM mosaic_schema_tables() AS t) AS synced;

-- The cost of reading a field of a document. PostgreSQL's planner does not count detoasting:
-- FerretDB keeps a document in one jsonb column, stored out of line once it is a few KB (a
-- profile), so a filter `_jsonb -> 'f' @> v` evaluated row by row detoasts every row. With the
-- default cost of `->` (1, an integer comparison's) a table of a few thousand profiles, whose
-- heap holds little more than pointers to the out-of-line values, looks cheaper to scan than
-- to read through its GIN index, and every point read and every update by _id scanned it
-- (measured at 1,000 4-KB profiles: findOne by _id 264/s by the scan, 1,659/s through the
-- index). The cost of what the functions really do makes the planner take the index; a query
-- no index can serve is planned as before.
ALTER FUNCTION jsonb_object_field(jsonb, text) COST 100;
ALTER FUNCTION jsonb_extract_path(jsonb, text[]) COST 100;
