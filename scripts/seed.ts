// npm run db:seed: the development data of the AI factory (spec 003 §11.3) on DATABASE_URL, else
// the embedded database of `npm run dev`. Development only: it refuses a database that is not on
// this machine unless given --allow-remote, and it is never a migration. Run db:migrate first.
import { parseArgs } from 'node:util';
import { withDatabase } from './lib/database';
import { DEMO_ADMIN_ID, DEMO_TENANT_ID, seedFactory } from './lib/factory-seed';

const { values } = parseArgs({ options: { 'allow-remote': { type: 'boolean', default: false } } });
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

const url = process.env.DATABASE_URL;
if (url && !LOCAL_HOSTS.has(new URL(url).hostname) && !values['allow-remote']) {
  console.error(`db:seed writes a demo tenant and a known admin: refusing ${new URL(url).hostname} (not this machine); pass --allow-remote to insist`);
  process.exit(2);
}

try {
  await withDatabase(async (db, target) => {
    const report = await seedFactory(db);
    const added = Object.entries(report.inserted).filter(([, n]) => n > 0);
    console.log(`${target}: ${added.length ? added.map(([t, n]) => `${t} +${n}`).join(', ') : 'already seeded, nothing to do'}`);
    console.log(`demo tenant ${DEMO_TENANT_ID}, ruleset ${report.ruleset}, prompt template ${report.promptTemplate}`);
    console.log(`act as its admin: npm run -s token -- --sub ${DEMO_ADMIN_ID} --tenant ${DEMO_TENANT_ID}`);
  });
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
