/**
 * `moat scan` on the sample corpus (test/fixtures/scan): every rule fires on a vulnerable app and
 * stays silent on the fixed version of the same app, in both languages and six frameworks.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { scanDirectory, type ScanResult } from '../../src/scan/scan.js';
import type { RuleId } from '../../src/scan/types.js';

const CORPUS = fileURLToPath(new URL('../fixtures/scan/', import.meta.url));
const results = new Map<string, ScanResult>();

const APPS = ['express-vulnerable', 'express-iplimit', 'express-controllers', 'express-fixed', 'fastify-vulnerable', 'fastify-fixed', 'hono-vulnerable', 'hono-fixed', 'nextjs-vulnerable', 'nextjs-fixed', 'fastapi-vulnerable', 'fastapi-fixed', 'flask-vulnerable', 'flask-fixed'];

beforeAll(async () => {
  for (const app of APPS) results.set(app, await scanDirectory(CORPUS + app));
});

/** `route rule` pairs, sorted, so a test states exactly what a scan must report. */
const pairs = (app: string) => [...new Set(results.get(app)!.findings.map((f) => `${f.route} ${f.rule}`))].sort();

describe('vulnerable apps: each finding, no more and no fewer', () => {
  it('Express: open proxy, logprobs, wholesale body, raw vectors', () => {
    expect(pairs('express-vulnerable')).toEqual([
      'POST /generate logprobs-exposed',
      'POST /generate missing-audit-log',
      'POST /generate missing-rate-limit',
      'POST /generate unauthenticated-endpoint',
      'POST /generate unfiltered-params',
      'POST /v1/chat/completions logprobs-exposed',
      'POST /v1/chat/completions missing-audit-log',
      'POST /v1/chat/completions missing-rate-limit',
      'POST /v1/chat/completions unauthenticated-endpoint',
      'POST /v1/chat/completions unfiltered-params',
      'POST /v1/embeddings embeddings-exposed',
      'POST /v1/embeddings missing-audit-log',
      'POST /v1/embeddings missing-rate-limit',
      'POST /v1/embeddings unauthenticated-endpoint',
    ]);
  });

  it('Express: authenticated, but limited by IP (default key and X-Forwarded-For key)', () => {
    expect(pairs('express-iplimit')).toEqual(['POST /v1/chat ip-keyed-rate-limit', 'POST /v1/summarize ip-keyed-rate-limit']);
    expect(results.get('express-iplimit')!.findings.every((f) => f.severity === 'medium')).toBe(true);
  });

  it('Express: handlers in a CommonJS controller module are followed, findings point into it', () => {
    const r = results.get('express-controllers')!;
    expect(r.findings.map((f) => `${f.file}:${f.line} ${f.route} ${f.rule}`).sort()).toEqual([
      'app.js:10 POST /v1/embed missing-audit-log',
      'app.js:10 POST /v1/embed missing-rate-limit',
      'app.js:9 POST /v1/chat missing-audit-log',
      'app.js:9 POST /v1/chat missing-rate-limit',
      'app.js:9 POST /v1/chat unauthenticated-endpoint',
      'controllers/chat.js:12 POST /v1/embed embeddings-exposed',
      'controllers/chat.js:6 POST /v1/chat unfiltered-params',
      'controllers/chat.js:7 POST /v1/chat logprobs-exposed',
    ]);
  });

  it('Fastify: the rate-limit plugin without keyGenerator counts per IP', () => {
    expect(pairs('fastify-vulnerable')).toEqual([
      'POST /api/embed embeddings-exposed',
      'POST /api/embed ip-keyed-rate-limit',
      'POST /api/embed missing-audit-log',
      'POST /api/embed unauthenticated-endpoint',
      'POST /api/generate ip-keyed-rate-limit',
      'POST /api/generate logprobs-exposed',
      'POST /api/generate missing-audit-log',
      'POST /api/generate unauthenticated-endpoint',
      'POST /api/generate unfiltered-params',
    ]);
  });

  it('Hono: middleware registered after the route does not protect it', () => {
    expect(pairs('hono-vulnerable')).toEqual([
      'POST /api/complete ip-keyed-rate-limit',
      'POST /api/complete missing-audit-log',
      'POST /api/complete unauthenticated-endpoint',
      'POST /v1/chat/completions logprobs-exposed',
      'POST /v1/chat/completions missing-audit-log',
      'POST /v1/chat/completions missing-rate-limit',
      'POST /v1/chat/completions unauthenticated-endpoint',
      'POST /v1/chat/completions unfiltered-params',
    ]);
  });

  it('Next.js: a forwarding route handler; a limit keyed on x-forwarded-for; vectors and logprobs returned', () => {
    expect(pairs('nextjs-vulnerable')).toEqual([
      'POST /api/chat logprobs-exposed',
      'POST /api/chat missing-audit-log',
      'POST /api/chat missing-rate-limit',
      'POST /api/chat unauthenticated-endpoint',
      'POST /api/chat unfiltered-params',
      'POST /api/embed embeddings-exposed',
      'POST /api/embed ip-keyed-rate-limit',
      'POST /api/embed missing-audit-log',
      'PUT /api/embed logprobs-exposed',
    ]);
  });

  it('FastAPI: slowapi on get_remote_address, **body, raw encoder output, an httpx proxy', () => {
    expect(pairs('fastapi-vulnerable')).toEqual([
      'POST /v1/chat/completions ip-keyed-rate-limit',
      'POST /v1/chat/completions logprobs-exposed',
      'POST /v1/chat/completions missing-audit-log',
      'POST /v1/chat/completions unauthenticated-endpoint',
      'POST /v1/chat/completions unfiltered-params',
      'POST /v1/completions logprobs-exposed',
      'POST /v1/completions missing-audit-log',
      'POST /v1/completions missing-rate-limit',
      'POST /v1/completions unauthenticated-endpoint',
      'POST /v1/completions unfiltered-params',
      'POST /v1/embeddings embeddings-exposed',
      'POST /v1/embeddings missing-audit-log',
      'POST /v1/embeddings missing-rate-limit',
      'POST /v1/embeddings unauthenticated-endpoint',
    ]);
  });

  it('Flask: Flask-Limiter on get_remote_address, @limiter.exempt, llama.cpp with **data', () => {
    expect(pairs('flask-vulnerable')).toEqual([
      'POST /completion ip-keyed-rate-limit',
      'POST /completion logprobs-exposed',
      'POST /completion missing-audit-log',
      'POST /completion unauthenticated-endpoint',
      'POST /completion unfiltered-params',
      'POST /embedding embeddings-exposed',
      'POST /embedding missing-audit-log',
      'POST /embedding missing-rate-limit',
      'POST /embedding unauthenticated-endpoint',
    ]);
  });

  it('findings point at the line of the weakness', () => {
    const byRule = (app: string, rule: RuleId, route: string) => results.get(app)!.findings.find((f) => f.rule === rule && f.route === route)!;
    expect(byRule('fastapi-vulnerable', 'unfiltered-params', 'POST /v1/chat/completions').line).toBe(22);
    expect(byRule('fastapi-vulnerable', 'unauthenticated-endpoint', 'POST /v1/chat/completions').line).toBe(19);
    expect(byRule('express-vulnerable', 'embeddings-exposed', 'POST /v1/embeddings').line).toBe(18);
    expect(byRule('flask-vulnerable', 'ip-keyed-rate-limit', 'POST /completion').line).toBe(8);
  });
});

describe('fixed apps: protected routes give no finding at all', () => {
  const fixed: Array<[string, number, string]> = [
    ['express-fixed', 2, 'auth and a per-user limit at the mount of a router from another file, zod-validated body, vectors kept server-side'],
    ['fastify-fixed', 1, 'an onRequest hook in the plugin that owns the route, @fastify/rate-limit keyed on the user'],
    ['hono-fixed', 1, 'bearerAuth and rateLimiter on a sub-app mounted with app.route'],
    ['nextjs-fixed', 2, 'auth in src/middleware.ts with a matcher, @upstash/ratelimit keyed on the user id'],
    ['fastapi-fixed', 2, 'APIRouter(dependencies=...), include_router(dependencies=...), Annotated Depends, slowapi keyed on the user'],
    ['flask-fixed', 1, 'a blueprint before_request hook that aborts with 401, Flask-Limiter keyed on g.user_id, app factory'],
  ];
  for (const [app, routes, how] of fixed) {
    it(`${app}: ${how}`, () => {
      const r = results.get(app)!;
      // The routes are found and recognized as inference routes, so silence is not blindness.
      expect(r.routes.filter((x) => x.inference.length > 0)).toHaveLength(routes);
      expect(r.findings).toEqual([]);
      expect(r.skipped).toEqual([]);
    });
  }

  it('each fixed inference route carries an auth guard, a per-user limit and an audit log', () => {
    for (const [app] of fixed) {
      for (const route of results.get(app)!.routes.filter((x) => x.inference.length > 0)) {
        const kinds = route.guards.map((g) => (g.kind === 'rate' ? `rate:${g.key}` : g.kind));
        expect(kinds, `${app} ${route.method} ${route.path}`).toEqual(expect.arrayContaining(['auth', 'rate:user', 'audit']));
      }
    }
  });
});

describe('messages', () => {
  it('say what is wrong, why (with the CWE) and the fix for the framework', () => {
    const f = results.get('fastapi-vulnerable')!.findings.find((x) => x.rule === 'ip-keyed-rate-limit')!;
    expect(f.message).toMatch(/per client IP address/);
    expect(f.message).toMatch(/CWE-770/);
    expect(f.message).toMatch(/Fix: .*key_func/);
    const e = results.get('express-vulnerable')!.findings.find((x) => x.rule === 'unauthenticated-endpoint')!;
    expect(e.message).toMatch(/CWE-306/);
    expect(e.message).toMatch(/CWE-285/);
    expect(e.message).toMatch(/Fix: .*router\.use/);
  });
});
