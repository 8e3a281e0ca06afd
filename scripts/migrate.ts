// npm run db:migrate                      apply pending migrations
// npm run db:rollback [-- --steps N]      roll back the latest N (default 1)
// Target: DATABASE_URL (a Postgres server, with a role that may create schemas, roles and
// extensions) when set, else the embedded PGlite database in .local/pglite. On Neon use the
// direct (unpooled) URL: the runner's session-level advisory lock needs a real session.
import { parseArgs } from 'node:util';
import { withDatabase } from './lib/database';
import { migrateDown, migrateUp } from './lib/migrations';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { steps: { type: 'string', default: '1' } },
});
const command = positionals[0];
if (command !== 'up' && command !== 'down') {
  console.error('usage: migrate.ts up | down [--steps N]');
  process.exit(2);
}

try {
  await withDatabase(async (db, target) => {
    const log = (line: string) => console.log(line);
    const names =
      command === 'up'
        ? await migrateUp(db, { log })
        : await migrateDown(db, { log, steps: Number(values.steps) });
    const verb = command === 'up' ? 'applied' : 'rolled back';
    console.log(`${target}: ${names.length > 0 ? `${names.length} migration(s) ${verb}` : 'nothing to do'}`);
  });
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
