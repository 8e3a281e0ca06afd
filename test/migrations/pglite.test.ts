// Migrations on an in-memory PGlite, the embedded database `npm run dev` falls back to.
import { describe } from 'vitest';
import { pgliteBackend } from './backends';
import { migrationSuite } from './suite';

describe('migrations on PGlite', () => migrationSuite(pgliteBackend));
