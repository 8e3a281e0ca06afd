import { createRemoteJWKSet, errors, importSPKI, jwtVerify, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import type { Config } from "./config";
import { ApiError } from "./problem";

export const MAX_AUTHORIZATION_BYTES = 8 * 1024;
const REALM = 'Bearer realm="edge-api"';

/** The caller, as the JWT's claims describe them once checked. */
export interface Principal {
  userId: string;
  tenantId: string | null;
  roles: string[];
  permissions: string[];
}

const ClaimsSchema = z.object({
  sub: z.uuid({ error: "sub must be a UUID" }),
  tenant_id: z.string().min(1).max(128).optional(),
  roles: z.array(z.string().min(1).max(64)).max(32).optional(),
  permissions: z.array(z.string().min(1).max(128)).max(256).optional(),
  scope: z.string().max(4096).optional(),
});

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
  const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(authorization);
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
  const { sub, tenant_id, roles = [], permissions = [], scope } = claims.data;
  return {
    userId: sub,
    tenantId: tenant_id ?? null,
    roles,
    permissions: [...permissions, ...(scope ? scope.split(" ").filter(Boolean) : [])],
  };
}
