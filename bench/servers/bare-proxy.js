// The ceiling for one Node process: node:http + undici, forwarding bytes with no checks at all.
// Usage: node bare-proxy.js UPSTREAM_BASE_URL. Prints {"url": ...} once listening.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = new URL(process.argv[2]);
const pool = new Pool(upstream.origin, { connections: 128, pipelining: 1 });
const prefix = upstream.pathname.replace(/\/+$/, '');

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (d) => chunks.push(d));
  req.on('end', async () => {
    try {
      const r = await pool.request({
        method: req.method,
        path: prefix + req.url.replace(/^\/v1/, ''),
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat(chunks),
      });
      res.writeHead(r.statusCode, { 'content-type': r.headers['content-type'] ?? 'application/json' });
      for await (const c of r.body) res.write(c);
      res.end();
    } catch {
      res.writeHead(502).end();
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}/v1` }) + '\n'));
