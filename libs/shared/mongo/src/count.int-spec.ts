// approximateCount against the real MongoDB-wire server: without reading the documents, the
// number a collection holds (exact on a collection PostgreSQL has no statistics for yet).
import { useTestConnection } from '@mosaic/shared-testing';
import { approximateCount, openDb } from './mongo';

const store = useTestConnection();

it('counts the documents of a collection', async () => {
  const db = openDb(store.conn);
  await db.collection('counted').insertMany(Array.from({ length: 1234 }, (_, i) => ({ _id: `d${i}` as never, v: i })));
  expect(await approximateCount(db, 'counted')).toBe(1234);
});
