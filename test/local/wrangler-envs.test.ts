import { existsSync } from 'node:fs';
import { unstable_readConfig } from 'wrangler';
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../../src/systems';

// Wrangler inherits neither vars nor queue bindings into [env.*] sections, so each system's copy
// can drift from the top level: this keeps them in step, and every registered system deployable.
const top = unstable_readConfig({ config: 'wrangler.toml' });

describe('wrangler.toml: one environment per system', () => {
  it.each(SYSTEMS.map((s) => s.name))('%s has its entry, the shared vars and crons, and a queue of its own', (name) => {
    const env = unstable_readConfig({ config: 'wrangler.toml', env: name });
    expect(env.name).toBe(`edge-api-${name}`);
    expect(env.main).toMatch(new RegExp(`functions/systems/${name}\\.ts$`));
    expect(existsSync(`functions/systems/${name}.ts`)).toBe(true);
    expect(env.vars).toEqual(top.vars);
    expect(env.triggers.crons).toEqual(top.triggers.crons);
    expect(env.queues.producers).toEqual([{ binding: 'EVENTS', queue: `edge-api-${name}-events` }]);
    expect(env.queues.consumers).toEqual([
      { ...top.queues.consumers![0], queue: `edge-api-${name}-events`, dead_letter_queue: `edge-api-${name}-events-dlq` },
    ]);
  });
});
