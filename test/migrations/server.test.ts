// Migrations on a scratch database of the real Postgres server (TEST_POSTGRES_URL, default
// postgres://postgres@127.0.0.1:5432/postgres; needs a superuser).
import { describe } from 'vitest';
import { serverBackend } from './backends';
import { migrationSuite } from './suite';

describe('migrations on the Postgres server', () => migrationSuite(serverBackend));
