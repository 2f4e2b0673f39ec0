// The repository root, for the plain-Node scripts (no dependencies: runs before npm install).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
