import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { jobsFor } from '../../functions/scheduled';
import { EVERY_MINUTE } from '../../src/platform/system';
import { SYSTEMS } from '../../src/systems';
import { triggerScheduled } from '../../scripts/lib/crons';
import { startWranglerDev, type DevWorker } from './wrangler-dev';

// A real `wrangler dev` Worker on the run's local stack, as `npm run dev` starts it.

let worker: DevWorker;

beforeAll(async () => {
  const bindings = Object.fromEntries(Object.entries(inject('bindings')).filter(([key]) => !key.startsWith('TEST_')));
  worker = await startWranglerDev(bindings);
});
afterAll(() => worker?.stop());

interface NetLog {
  constants: { logEventTypes: Record<string, number> };
  events: { type: number; params?: { url?: string; initiator?: string } }[];
}

/**
 * Opens `url` in Debian's Chromium with every other host unresolvable, lets the page run for up to
 * 20 s of virtual time, and returns its DOM and the URLs the page requested (from Chrome's net log,
 * told apart from the browser's own traffic, autofill lookups among it, by their initiator).
 */
async function openInChromium(url: string): Promise<{ dom: string; pageRequests: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'chromium-'));
  try {
    const { stdout } = await promisify(execFile)(
      'chromium',
      [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
        `--log-net-log=${join(dir, 'net.json')}`,
        '--virtual-time-budget=20000',
        '--dump-dom',
        url,
      ],
      { timeout: 80_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const log = JSON.parse(readFileSync(join(dir, 'net.json'), 'utf8')) as NetLog;
    const pageRequests = log.events
      .filter((e) => e.type === log.constants.logEventTypes.URL_REQUEST_START_JOB && e.params?.initiator === new URL(url).origin)
      .map((e) => e.params!.url!);
    return { dom: stdout, pageRequests };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The page's visible text: scripts and styles dropped, tags (Scalar's <wbr> among them) removed, entities decoded. */
function textOf(html: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' };
  return html
    .replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, name: string) => entities[name]!);
}

describe('/docs in a headless browser, offline', () => {
  it('lists every operation of /openapi.json and loads nothing from another origin', { timeout: 90_000 }, async () => {
    const doc = (await (await fetch(`${worker.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { summary?: string }>> };
    const summaries = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.summary!));
    expect(summaries.length).toBeGreaterThan(10);

    const { dom, pageRequests } = await openInChromium(`${worker.url}/docs`);
    const text = textOf(dom);
    expect(summaries.filter((summary) => !text.includes(summary))).toEqual([]);
    expect(pageRequests).toContain(`${worker.url}/openapi.json`);
    expect(pageRequests.filter((requested) => new URL(requested).origin !== worker.url)).toEqual([]);
  });
});

describe("npm run dev's crons on the Worker", () => {
  it('/__scheduled, as the runner calls it, runs every job of the cron', async () => {
    expect(await triggerScheduled(worker.url, EVERY_MINUTE)).toBe('ok');
    const names = (await jobsFor(SYSTEMS, EVERY_MINUTE)).map((job) => job.name);
    expect(names.length).toBeGreaterThan(0);
    await vi.waitFor(() => {
      for (const name of names) expect(worker.output()).toContain(`"msg":"scheduled job done","cron":"${EVERY_MINUTE}","job":"${name}"`);
    }, { timeout: 15_000 });
  });
});
