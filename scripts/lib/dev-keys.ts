import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT } from "jose";

export const LOCAL_DIR = ".local";
const PRIVATE_KEY_FILE = `${LOCAL_DIR}/dev-jwt-private.pem`;
const PUBLIC_KEY_FILE = `${LOCAL_DIR}/dev-jwt-public.pem`;

/** The development signing key pair, made once and kept in the git-ignored .local/ folder. */
export async function devKeyPair(): Promise<{ privatePem: string; publicPem: string }> {
  if (existsSync(PRIVATE_KEY_FILE) && existsSync(PUBLIC_KEY_FILE)) {
    return { privatePem: readFileSync(PRIVATE_KEY_FILE, "utf8"), publicPem: readFileSync(PUBLIC_KEY_FILE, "utf8") };
  }
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const keys = { privatePem: await exportPKCS8(privateKey), publicPem: await exportSPKI(publicKey) };
  mkdirSync(LOCAL_DIR, { recursive: true });
  writeFileSync(PRIVATE_KEY_FILE, keys.privatePem, { mode: 0o600 });
  writeFileSync(PUBLIC_KEY_FILE, keys.publicPem);
  return keys;
}

/** A [vars] value of wrangler.toml, so dev tokens carry the issuer and audience the Worker expects. */
export function wranglerVar(name: string): string {
  const match = new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(readFileSync("wrangler.toml", "utf8"));
  if (!match?.[1]) throw new Error(`wrangler.toml has no [vars] ${name}`);
  return match[1];
}

export async function signDevToken(claims: { sub: string; tenant?: string; roles: string[]; ttl: string }): Promise<string> {
  const { privatePem } = await devKeyPair();
  const payload: Record<string, unknown> = { roles: claims.roles };
  if (claims.tenant) payload.tenant_id = claims.tenant;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuer(wranglerVar("API_JWT_ISSUER"))
    .setAudience(wranglerVar("API_JWT_AUDIENCE"))
    .setIssuedAt()
    .setExpirationTime(claims.ttl)
    .sign(await importPKCS8(privatePem, "RS256"));
}
