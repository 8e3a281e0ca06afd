import type { createApp } from "../src/platform/app";
import type { Bindings } from "../src/platform/context";
import { enabledSystems, type System } from "../src/platform/system";
import { handleQueue } from "./queue";
import { handleScheduled } from "./scheduled";

/**
 * A Worker serving `systems` (all of them, or one for a per-system deployment): HTTP, queue and
 * cron entry points, each restricted to what ENABLED_SYSTEMS names at run time. Startup evaluates
 * only these entry points and the system list: the HTTP app (platform middleware, the Postgres,
 * Redis and JWT clients, the systems' routes) is imported and built by the first request, and each
 * system's jobs and consumers load with the first cron or message that needs them.
 */
export function createWorker(systems: readonly System[]) {
  const apps = new Map<string, ReturnType<typeof createApp>>();
  return {
    async fetch(request, env, ctx) {
      const served = enabledSystems(systems, env);
      const key = served.map((s) => s.name).join(",");
      let app = apps.get(key);
      if (!app) {
        // Built once per isolate and system list; a failed build is retried by the next request.
        app = import("../src/platform/app").then((m) => m.createApp(served));
        app.catch(() => apps.delete(key));
        apps.set(key, app);
      }
      return (await app).fetch(request, env, ctx);
    },
    queue: (batch, env) => handleQueue(enabledSystems(systems, env), batch, env),
    scheduled: (controller, env, ctx) => handleScheduled(enabledSystems(systems, env), controller, env, ctx),
  } satisfies ExportedHandler<Bindings>;
}
