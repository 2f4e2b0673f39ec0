// The store contract against the domain's in-memory store (the reference the MongoDB adapter
// is held to in mongo-identity.repository.int-spec.ts).
import { describeIdentityStoreContract, inMemorySubject } from './store-contract';

describeIdentityStoreContract('in-memory (reference)', async () => inMemorySubject());
