/** Signing keys, tokens and a JWKS endpoint for JWT tests (jose on both sides, as an IdP would). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export interface TestKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

export async function testKey(alg: 'RS256' | 'ES256', kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, publicPem: await exportSPKI(publicKey) };
}

export interface TokenOptions {
  iss?: string;
  aud?: string | null;
  sub?: string;
  expiresIn?: number | null;
  notBefore?: number;
  claims?: JWTPayload;
}

/** Signs a token; `expiresIn` and `notBefore` are seconds from now (negative = in the past). */
export function sign(key: TestKey, o: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ ...(o.claims ?? {}) })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(o.iss ?? 'https://idp.test')
    .setSubject(o.sub ?? 'jwt-user')
    .setIssuedAt(now - 5);
  if (o.aud !== null) jwt = jwt.setAudience(o.aud ?? 'moat');
  if (o.expiresIn !== null) jwt = jwt.setExpirationTime(now + (o.expiresIn ?? 300));
  if (o.notBefore !== undefined) jwt = jwt.setNotBefore(now + o.notBefore);
  return jwt.sign(key.privateKey);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An unsigned token (`alg: none`), as an attacker would craft it. */
export function unsigned(payload: JWTPayload): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}

export type JwksMode = 'ok' | 'slow' | 'error';

/** A JWKS endpoint whose behaviour a test switches: answer, answer too late, or fail. */
export async function startJwks(keys: JWK[]) {
  let mode: JwksMode = 'ok';
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    if (mode === 'error') {
      res.writeHead(500).end('down');
      return;
    }
    const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    if (mode === 'slow') setTimeout(send, 2_000);
    else send();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
    setMode: (m: JwksMode) => (mode = m),
    fetches: () => fetches,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
