import { createApp, SYSTEMS, type SystemName } from "../src/app";
import type { Bindings } from "../src/platform/context";
import { handleQueue } from "./queue";
import { handleScheduled } from "./scheduled";

/** ENABLED_SYSTEMS (comma list) lets one system be deployed alone; unset serves all five. */
function enabledSystems(env: Bindings): SystemName[] {
  const raw = typeof env.ENABLED_SYSTEMS === "string" ? env.ENABLED_SYSTEMS : "";
  const names = raw.split(",").map((s) => s.trim()).filter((s): s is SystemName => s in SYSTEMS);
  return names.length ? names : (Object.keys(SYSTEMS) as SystemName[]);
}

const apps = new Map<string, ReturnType<typeof createApp>>();

export default {
  fetch(request, env, ctx) {
    const systems = enabledSystems(env);
    const key = systems.join(",");
    let app = apps.get(key);
    if (!app) apps.set(key, (app = createApp(systems)));
    return app.fetch(request, env, ctx);
  },
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Bindings>;
