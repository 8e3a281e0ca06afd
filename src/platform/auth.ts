import { createRemoteJWKSet, errors, importSPKI, jwtVerify, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import type { Config } from "./config";
import { ApiError } from "./problem";
import { userIdFor } from "./user-id";

export const MAX_AUTHORIZATION_BYTES = 8 * 1024;
const REALM = 'Bearer realm="edge-api"';

/** The caller, as the JWT's claims describe them once checked. */
export interface Principal {
  /** A lowercase UUID: the token's subject, or the UUIDv5 it maps to (src/platform/user-id.ts). */
  userId: string;
  tenantId: string | null;
  /** Names in the ROLE_NAME grammar only, each once. */
  roles: string[];
  permissions: string[];
  /** The token's `email` claim when it is an address (else absent): for systems that provision users from it. */
  email?: string;
  /** The token the caller presented; absent for jobs and consumers, which act without one. */
  token?: { issuer: string; subject: string };
}

/**
 * Role names (README "Authentication"): a lowercase ASCII letter, then up to 63 lowercase ASCII
 * letters, digits, `_` or `-`, compared exactly. A claimed role outside the grammar is dropped,
 * never repaired (no trimming, case folding or splitting): "admin ", "Admin", "learner,admin" or a
 * Cyrillic look-alike grant nothing, and a token carrying only such roles means what a token
 * without roles means. Postgres receives the same list as a JSON array (identityStatement), which
 * app.has_role() (migration 0008) matches exactly.
 */
const ROLE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

/** tenant_id: 1 to 128 ASCII letters, digits, `_ . : @ | -`, starting with a letter or digit. */
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@|-]{0,127}$/;

/** OpenID Connect caps `sub` at 255 characters; control characters and lone surrogates never name anyone. */
const SUBJECT_MAX = 255;
const UNPRINTABLE = /[\p{Cc}\p{Cs}]/u;

const ClaimsSchema = z.object({
  iss: z.string(),
  sub: z
    .string()
    .min(1, { error: "sub must not be empty" })
    .max(SUBJECT_MAX, { error: `sub must be at most ${SUBJECT_MAX} characters` })
    .refine((s) => !UNPRINTABLE.test(s), { error: "sub must not contain control characters" }),
  tenant_id: z
    .string()
    .regex(TENANT_ID, { error: "tenant_id must be 1-128 ASCII letters, digits or _ . : @ | -, starting with a letter or digit" })
    .optional(),
  roles: z.array(z.unknown()).max(32).optional(),
  permissions: z.array(z.string().min(1).max(128)).max(256).optional(),
  scope: z.string().max(4096).optional(),
  email: z.unknown().optional(),
});

/** An `email` claim is kept only when it is an address of at most 255 characters; anything else is dropped, like a malformed role. */
const EMAIL = z.email().max(255);

/** The token's roles that are role names, each once, in the token's order; the rest grant nothing. */
function parseRoles(claimed: readonly unknown[]): string[] {
  return [...new Set(claimed.filter((r): r is string => typeof r === "string" && ROLE_NAME.test(r)))];
}

/** Whether the caller holds one of the roles: exact names, as app.has_role() compares in Postgres. */
export const hasRole = (principal: Principal, ...names: readonly string[]) => names.some((n) => principal.roles.includes(n));

const anyOf = (roles: readonly string[]) => (roles.length > 1 ? `${roles.slice(0, -1).join(", ")} or ${roles.at(-1)}` : roles.join(""));

/** 403 `code` unless the caller holds one of `roles`, saying who may do `action`. */
export function requireRole(principal: Principal, roles: readonly string[], action: string, code = "forbidden"): void {
  if (!hasRole(principal, ...roles)) throw new ApiError(403, code, `only a ${anyOf(roles)} may ${action}`);
}

/**
 * The role scheduled jobs and consumers act under: row-level security lets it reach every row a
 * job needs, so the API refuses it in tokens (requireAuth), whoever signed them.
 */
export const SERVICE_ROLE = "service";

/** The identity a job runs as; `userId` names the job in audit columns and logs. */
export function servicePrincipal(userId: string): Principal {
  return { userId, tenantId: null, roles: [SERVICE_ROLE], permissions: [] };
}

/** A key source that could not be reached: the server's problem, not the token's. */
class KeySourceError extends Error {}

const pemKeys = new Map<string, Promise<CryptoKey>>();
const jwksSets = new Map<string, JWTVerifyGetKey>();

function keyResolver(config: Config): JWTVerifyGetKey {
  if (config.API_JWT_JWKS_URL) {
    const url = config.API_JWT_JWKS_URL;
    let set = jwksSets.get(url);
    if (!set) {
      set = createRemoteJWKSet(new URL(url), {
        cooldownDuration: config.API_JWT_JWKS_COOLDOWN_SEC * 1000,
        cacheMaxAge: 10 * 60 * 1000,
        timeoutDuration: 3000,
      });
      jwksSets.set(url, set);
    }
    const remote = set;
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
        throw new KeySourceError(err instanceof Error ? err.message : "JWKS unavailable");
      }
    };
  }
  const pem = config.API_JWT_PUBLIC_KEY as string;
  // The PEM is imported as an asymmetric key for the token's (allow-listed) algorithm, never used
  // as raw bytes: that keeps an HS256 token "signed" with the public key text from verifying.
  return (header) => {
    const cacheKey = `${header.alg}\n${pem}`;
    let key = pemKeys.get(cacheKey);
    if (!key) {
      key = importSPKI(pem, header.alg as string);
      key.catch(() => pemKeys.delete(cacheKey));
      pemKeys.set(cacheKey, key);
    }
    return key;
  };
}

function invalidToken(description: string): ApiError {
  return new ApiError(401, "invalid_token", description, {}, {
    "WWW-Authenticate": `${REALM}, error="invalid_token", error_description="${description.replace(/["\\]/g, "")}"`,
  });
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "token has expired";
  if (err instanceof errors.JWTClaimValidationFailed) return `claim "${err.claim}" is invalid: ${err.reason}`;
  if (err instanceof errors.JOSEAlgNotAllowed) return "token algorithm is not allowed";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "token signature is invalid";
  if (err instanceof errors.JWKSNoMatchingKey) return "no key matches the token's key id";
  if (err instanceof errors.JOSENotSupported) return "token algorithm is not supported";
  return "token is malformed";
}

/** Verifies the bearer token of an Authorization header value and returns the caller. */
export async function authenticate(authorization: string | undefined, config: Config): Promise<Principal> {
  if (!authorization) {
    throw new ApiError(401, "unauthenticated", "an Authorization: Bearer token is required", {}, { "WWW-Authenticate": REALM });
  }
  if (authorization.length > MAX_AUTHORIZATION_BYTES) throw invalidToken("Authorization header is too large");
  // RFC 9110 §11.1: the scheme name is case-insensitive.
  const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i.exec(authorization);
  if (!match) throw invalidToken("Authorization must be a Bearer token");

  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(match[1] as string, keyResolver(config), {
      issuer: config.API_JWT_ISSUER,
      audience: config.API_JWT_AUDIENCE,
      algorithms: config.API_JWT_ALGORITHMS,
      requiredClaims: ["exp", "sub"],
      clockTolerance: config.API_JWT_CLOCK_TOLERANCE_SEC,
    }));
  } catch (err) {
    if (err instanceof KeySourceError) {
      throw new ApiError(503, "auth_keys_unavailable", "the token signing keys could not be fetched");
    }
    // jose throws plain TypeErrors for some malformed input: every failure here is the token's.
    throw invalidToken(describe(err));
  }
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success) {
    throw invalidToken(claims.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  const { iss, sub, tenant_id, roles = [], permissions = [], scope, email } = claims.data;
  const address = EMAIL.safeParse(email);
  return {
    userId: await userIdFor(iss, sub),
    tenantId: tenant_id ?? null,
    roles: parseRoles(roles),
    permissions: [...permissions, ...(scope ? scope.split(" ").filter(Boolean) : [])],
    ...(address.success ? { email: address.data.toLowerCase() } : {}),
    token: { issuer: iss, subject: sub },
  };
}
