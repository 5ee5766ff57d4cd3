/**
 * DELIBERATELY VULNERABLE OpenAI-compatible server for `moat probe` tests: the naive proxy many
 * teams write. It forwards the client's body to the demo model as is (logprobs, logit_bias, echo,
 * n all honoured), returns raw embeddings, puts stack traces and the upstream address in its
 * errors, and optionally checks a key and limits requests per X-Forwarded-For address.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDemoUpstream } from '../../src/demo/server.js';

export interface VulnerableOptions {
  /** When set, requests need `Authorization: Bearer <key>` (any other is refused). */
  key?: string;
  /** Requests per minute per client address, the address taken from X-Forwarded-For when present. */
  perIpLimit?: number;
}

export interface VulnerableServer {
  baseURL: string;
  close(): Promise<void>;
}

export async function startVulnerableServer(o: VulnerableOptions = {}): Promise<VulnerableServer> {
  const demo = await startDemoUpstream();
  const counts = new Map<string, number>();
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (o.key !== undefined && req.headers.authorization !== `Bearer ${o.key}`) return send(res, 401, { error: { message: 'invalid key', type: 'authentication_error' } });
    if (o.perIpLimit !== undefined) {
      const ip = String(req.headers['x-forwarded-for'] ?? req.socket.remoteAddress).split(',')[0]!.trim();
      const n = (counts.get(ip) ?? 0) + 1;
      counts.set(ip, n);
      if (n > o.perIpLimit) return send(res, 429, { error: { message: 'too many requests from your address', type: 'rate_limit_error' } });
    }
    const path = (req.url ?? '/').replace(/^\/v1/, '');
    const upstreamURL = `${demo.baseURL}${path}`;
    try {
      if (req.method === 'POST') JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const r = await fetch(upstreamURL, { method: req.method, headers: { 'content-type': 'application/json' }, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch (e) {
      send(res, 500, { error: { message: (e as Error).stack, upstream: upstreamURL } });
    }
  };
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await demo.close();
    },
  };
}
