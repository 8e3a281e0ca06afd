import { z } from "zod";
import { parseSealingKeys, type SealingKey } from "./sealed-secrets";

const csv = z
  .string()
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));

const positiveInt = z.coerce.number().int().positive();

/** The environment contract of spec 000 §27 plus what Upstash, JWKS and the limiter need. */
export const ConfigSchema = z
  .object({
    API_JWT_ISSUER: z.string().min(1),
    API_JWT_AUDIENCE: z.string().min(1),
    API_JWT_PUBLIC_KEY: z
      .string()
      .regex(/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/, "must be a PEM (SPKI) public key")
      .optional(),
    API_JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
    API_JWT_ALGORITHMS: csv
      .pipe(z.array(z.enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"])).min(1))
      .default(["RS256", "ES256"]),
    API_JWT_JWKS_COOLDOWN_SEC: z.coerce.number().int().min(0).default(30),
    API_JWT_CLOCK_TOLERANCE_SEC: z.coerce.number().int().min(0).max(300).default(30),
    DB_URL: z.string().regex(/^postgres(ql)?:\/\/\S+$/, "must be a postgres:// connection string"),
    /** Where neon-http sends SQL; unset in production (Neon's own endpoint). */
    NEON_FETCH_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    REDIS_URL: z.url({ protocol: /^https?$/, error: "must be the Upstash REST URL (https://…)" }),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
    RUNTIME_IMAGE: z.string().min(1),
    RUNTIME_CPU_LIMIT: z.coerce.number().positive(),
    RUNTIME_MEM_LIMIT_MB: positiveInt,
    RUNTIME_CELL_TIMEOUT_SEC: positiveInt,
    RUNTIME_STEP_TIMEOUT_SEC: positiveInt,
    REFERENCE_ALLOWLIST_DOMAINS: csv.pipe(z.array(z.string().regex(/^[a-z0-9.-]+$/i, "must be host names"))),
    AUDIT_LOG_RETENTION_DAYS: positiveInt,
    /** RUNNING/PAUSED exam sessions idle this long are abandoned by the minute sweep (docs/exam.md). */
    EXAM_SESSION_IDLE_TIMEOUT_SEC: positiveInt.default(30 * 60),
    RATE_LIMIT_MAX: positiveInt.default(120),
    RATE_LIMIT_WINDOW_SEC: positiveInt.default(60),
    CACHE_TTL_SEC: positiveInt.default(300),
    /**
     * Keys that seal factory connectors' credentials and workflows' webhook secrets
     * (src/platform/sealed-secrets.ts): `kid:base64key,...`, the first the current one. Unset:
     * connectors take no credentials and webhook triggers are refused (503).
     */
    FACTORY_CONNECTOR_KEYS: z
      .string()
      .transform((text, ctx): SealingKey[] => {
        try {
          return parseSealingKeys(text);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
          return z.NEVER;
        }
      })
      .optional(),
    /**
     * Signs workflow ACTION calls as Standard Webhooks (docs/factory-workflows.md, "Execution"): a
     * `whsec_` secret (base64 after the prefix) the receivers are given. Unset: ACTION nodes fail.
     */
    FACTORY_ACTION_SIGNING_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, "must be whsec_ followed by base64 of at least 24 bytes")
      .optional(),
    /** The factory's OpenAI-compatible endpoint, used when a tenant sets none (docs/factory-llm.md). */
    FACTORY_LLM_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** A secret: sent only to FACTORY_LLM_BASE_URL, never to a tenant's own endpoint. */
    FACTORY_LLM_API_KEY: z.string().min(1).optional(),
    FACTORY_LLM_MODEL: z.string().min(1).default("gpt-4o"),
    FACTORY_LLM_FALLBACK_MODEL: z.string().min(1).optional(),
    FACTORY_LLM_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(20_000),
    /**
     * The Standard Webhooks secret (`whsec_` + base64) of the external training system's callbacks
     * (docs/factory-learning.md). Unset: the callback route answers 503.
     */
    FACTORY_TRAINING_WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]{22,}={0,2}$/, "must be whsec_ followed by base64 (at least 16 bytes)")
      .optional(),
  })
  .refine((c) => c.API_JWT_PUBLIC_KEY || c.API_JWT_JWKS_URL, {
    path: ["API_JWT_PUBLIC_KEY"],
    message: "set API_JWT_PUBLIC_KEY or API_JWT_JWKS_URL",
  });

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly variables: string[]) {
    super(`invalid configuration: ${variables.join(", ")}`);
  }
}

const parsed = new WeakMap<object, Config>();

/**
 * Parses the Worker's bindings once per isolate (per env object). Errors name the variable and
 * the rule it broke, never the value, which may be a secret.
 */
export function loadConfig(env: object): Config {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => `${i.path.join(".")} (${i.code === "invalid_type" ? "missing" : i.message})`),
    );
  }
  parsed.set(env, result.data);
  return result.data;
}
