/** Real Redis for tests: a quick connect decides whether Redis tests run; absent, they skip with a message. */
import { createConnection } from 'node:net';

export const REDIS_URL = process.env.MOAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisAvailable(url = REDIS_URL): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** A key prefix no other test run uses, so runs never share buckets. */
export const uniquePrefix = (what: string) => `moat-test:${what}:${process.pid}:${Date.now().toString(36)}:`;

export async function skipUnlessRedis(): Promise<boolean> {
  const ok = await redisAvailable();
  if (!ok) console.warn(`SKIPPED: Redis tests need a Redis server at ${REDIS_URL} (none answered)`);
  return ok;
}
