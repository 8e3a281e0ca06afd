/**
 * The lab-session state machine (spec 000 §25.1 sessions.status). Each transition is one
 * conditional UPDATE in the database (see sessions.routes.ts); this module only says which
 * moves exist, who may make them and which engine fits which level.
 *
 *   CREATED ─start─▶ RUNNING ─submit─▶ SUBMITTED ─review─▶ REVIEWED ─close─▶ CLOSED
 *                    │    ▲
 *               pause│    │resume          open states ─force-close─▶ FORCE_CLOSED
 *                    ▼    │                RUNNING/PAUSED idle ─cron─▶ ABANDONED
 *                    PAUSED
 */
import type { ENGINE_TYPES, LEVELS, SESSION_STATUSES } from "./schema";

export type SessionStatus = (typeof SESSION_STATUSES)[number];
export type EngineType = (typeof ENGINE_TYPES)[number];
type Level = (typeof LEVELS)[number];

/** AICE levels are examined in one environment each: block coding, a GUI tool, or notebooks. */
export const ENGINE_FOR_LEVEL: Record<Level, EngineType> = {
  FUTURE: "BLOCK",
  JUNIOR: "BLOCK",
  BASIC: "GUI",
  ASSOCIATE: "JUPYTER",
  PROFESSIONAL: "JUPYTER",
};

/** States a proctor may still force-close: the lab is not yet reviewed or ended. */
export const OPEN_STATES = ["CREATED", "RUNNING", "PAUSED", "SUBMITTED"] as const satisfies readonly SessionStatus[];

/** Who may make a move: the session's owner, or a caller holding one of the roles. */
export type Actor = { owner: boolean; roles: readonly string[] };

export const TRANSITIONS = {
  start: { from: ["CREATED"], to: "RUNNING", actor: { owner: true, roles: [] } },
  pause: { from: ["RUNNING"], to: "PAUSED", actor: { owner: true, roles: [] } },
  resume: { from: ["PAUSED"], to: "RUNNING", actor: { owner: true, roles: [] } },
  submit: { from: ["RUNNING"], to: "SUBMITTED", actor: { owner: true, roles: [] } },
  review: { from: ["SUBMITTED"], to: "REVIEWED", actor: { owner: false, roles: ["reviewer", "admin"] } },
  close: { from: ["REVIEWED"], to: "CLOSED", actor: { owner: true, roles: ["reviewer", "admin"] } },
  "force-close": { from: OPEN_STATES, to: "FORCE_CLOSED", actor: { owner: false, roles: ["proctor", "admin"] } },
} as const satisfies Record<string, { from: readonly SessionStatus[]; to: SessionStatus; actor: Actor }>;

export type TransitionName = keyof typeof TRANSITIONS;

