-- The compare-and-set guard of the private PostgreSQL cluster of tools/infra (postgres.js runs
-- this file in FerretDB's database at every start; it is idempotent).
--
-- Why: FerretDB v1.24 runs `replaceOne({_id, version: v}, doc)` as a query (is the document at
-- v?) followed by `UPDATE ... SET _jsonb = doc WHERE _jsonb -> '_id' = id`, two statements with
-- nothing held in between, so of two writers that both read v both "match" and the second
-- overwrites the first. The services therefore took a ticket (a unique insert) before every
-- versioned write and deleted it afterwards: two more document writes per write.
--
-- This trigger makes the UPDATE itself check: PostgreSQL locks the row it updates, and the
-- trigger sees the row as it is now (OLD), not as FerretDB's query saw it. Mosaic's guarded
-- writers (libs/shared/mongo/src/cas.ts, mode `guarded`) put a fresh `writeId` and the version
-- they expect (`casFrom`) on every compare-and-set. When the new `writeId` differs from the
-- stored one, the stored `version` must be `casFrom`; otherwise the statement fails with
-- `mosaic_cas_conflict`, FerretDB answers the command with that error, and the writer reports a
-- conflict.
--
-- An update that keeps the `writeId` (a `$set` of other fields, filtered on the `writeId` it
-- read) passes. One computed from a document a compare-and-set has replaced since carries the
-- old `writeId` and the old `casFrom`, and fails the same way: FerretDB's whole-document rewrite
-- can no longer put an older document back. Documents without `casFrom` are never checked.
--
-- The services find out whether the guard is there by trying a write it must refuse
-- (`detectServerProfile`); without it (a FerretDB on another PostgreSQL, or on SQLite) they
-- keep using tickets.

CREATE OR REPLACE FUNCTION mosaic_cas_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW._jsonb ->> 'casFrom') IS NOT NULL
     AND (NEW._jsonb -> 'writeId') IS DISTINCT FROM (OLD._jsonb -> 'writeId')
     AND (OLD._jsonb ->> 'version')::numeric IS DISTINCT FROM (NEW._jsonb ->> 'casFrom')::numeric THEN
    RAISE EXCEPTION 'mosaic_cas_conflict: document % is at version %, the write expected version %',
      OLD._jsonb -> '_id', OLD._jsonb -> 'version', NEW._jsonb -> 'casFrom';
  END IF;
  RETURN NEW;
END;
$$;

-- Puts the guard on one FerretDB collection table (not on FerretDB's own metadata tables).
CREATE OR REPLACE FUNCTION mosaic_cas_guard_attach(tbl oid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  rel record;
BEGIN
  SELECT * INTO rel FROM mosaic_collection_table(tbl); -- postgres-gin-twins.sql, installed first
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = '_jsonb' AND NOT attisdropped) THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE OR REPLACE TRIGGER mosaic_cas_guard BEFORE UPDATE ON %I.%I FOR EACH ROW EXECUTE FUNCTION mosaic_cas_guard()', rel.nspname, rel.relname);
END;
$$;

CREATE OR REPLACE FUNCTION mosaic_cas_guard_on_create() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  tbl oid;
BEGIN
  FOR tbl IN
    SELECT DISTINCT c.objid FROM pg_event_trigger_ddl_commands() c WHERE c.object_type = 'table'
  LOOP
    BEGIN
      PERFORM mosaic_cas_guard_attach(tbl);
    EXCEPTION WHEN OTHERS THEN
      -- Never fail FerretDB's own DDL: without the guard the services detect its absence and use tickets.
      RAISE WARNING 'mosaic: compare-and-set guard not put on %: %', tbl::regclass, SQLERRM;
    END;
  END LOOP;
END;
$$;

DROP EVENT TRIGGER IF EXISTS mosaic_cas_guard_on_create;
CREATE EVENT TRIGGER mosaic_cas_guard_on_create ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION mosaic_cas_guard_on_create();

-- Tables created before this file was (re)installed (mosaic_schema_tables: postgres-gin-twins.sql, installed first).
SELECT count(*) AS tables_guarded FROM (SELECT mosaic_cas_guard_attach(t) FROM mosaic_schema_tables() AS t) AS attached;
