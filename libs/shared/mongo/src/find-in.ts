/**
 * Reads "the documents whose `field` is one of these values" in the way the server answers
 * from its indexes. MongoDB serves one `$in` from an index. FerretDB 1.24 pushes no `$in` down
 * to PostgreSQL, so there it reads the whole collection on every call (`explain` shows
 * `filterPushdown: false` and a Seq Scan: the cost grows with the collection); an equality on
 * the same field is pushed down and served by the field's GIN twin. With `pointReads` (set on
 * FerretDB, see `detectServerProfile`) this sends one equality query per value, a few at a time.
 */
import type { mongo } from 'mongoose';

/** Concurrent queries in `pointReads` mode. */
const POINT_READ_CONCURRENCY = 4;

export interface FindInOptions {
  /** One equality query per value instead of one `$in` (FerretDB). */
  pointReads: boolean;
  /** Further conditions every document must meet (filtered by the server after the indexed part). */
  where?: mongo.Document;
  projection?: mongo.Document;
}

/** The documents whose `field` equals one of `values` (each document once) and that meet `where`. */
export async function findIn<T extends mongo.Document>(
  collection: mongo.Collection<T>,
  field: string,
  values: readonly unknown[],
  options: FindInOptions,
): Promise<T[]> {
  const unique = [...new Set(values)];
  if (unique.length === 0) return [];
  const findOptions = options.projection ? { projection: options.projection } : {};
  const query = (condition: unknown) => collection.find({ ...options.where, [field]: condition } as mongo.Filter<T>, findOptions).toArray();
  if (!options.pointReads || unique.length === 1) return (await query(unique.length === 1 ? unique[0] : { $in: unique })) as T[];
  const found: T[][] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(POINT_READ_CONCURRENCY, unique.length) }, async () => {
      while (next < unique.length) found.push((await query(unique[next++])) as T[]);
    }),
  );
  return distinctById(found.flat());
}

/** An array field holds several of the values: its document came back once per value. */
function distinctById<T extends mongo.Document>(docs: T[]): T[] {
  const seen = new Set<unknown>();
  return docs.filter((d) => {
    const id = String(d['_id']);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
