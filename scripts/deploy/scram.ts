// A SCRAM-SHA-256 verifier in Postgres' stored format, computed here so that ALTER ROLE carries
// only the hash: the password never reaches the server, its logs or pg_stat_statements (psql's
// \password does the same).
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** Postgres' defaults (scram_iterations, SCRAM_DEFAULT_SALT_LEN). */
const ITERATIONS = 4096;
const SALT_BYTES = 16;

// Postgres first applies SASLprep to the password; for the ASCII passwords made here it changes nothing.
export function scramVerifier(password: string, salt = randomBytes(SALT_BYTES), iterations = ITERATIONS): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Whether a stored verifier was made from this password (same salt and iteration count). */
export function matchesVerifier(password: string, verifier: string): boolean {
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(verifier);
  if (!match) return false;
  return scramVerifier(password, Buffer.from(match[2]!, 'base64'), Number(match[1])) === verifier;
}
