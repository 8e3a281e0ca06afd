import { agent } from "./agent";
import { exam } from "./exam";
import { factory } from "./factory";
import { hub } from "./hub";
import type { System } from "./platform/system";
import { seedtest } from "./seedtest";

/** Every system this code base serves: the one list the entry points and tests read. */
export const SYSTEMS: readonly System[] = [exam, seedtest, agent, factory, hub];
