/**
 * The scanner's pure parts (name heuristics, path matching, the app graph, the rules) and small
 * inline programs that pin down one behaviour each, both ways.
 */
import { describe, expect, it } from 'vitest';
import { linkRoutes, nextMatcherMatches, prefixMatches, type FileModel } from '../../src/scan/graph.js';
import { nextRoutePath } from '../../src/scan/js/nextjs.js';
import { classifyKey, inferenceKindOfCall, isAuthName, isInferenceUrl } from '../../src/scan/names.js';
import { evaluateRoute } from '../../src/scan/rules.js';
import { findingsOf, modelOfFile } from '../../src/scan/scan.js';
import { emptyFacts, type RouteFacts } from '../../src/scan/types.js';

async function scanSources(files: Record<string, string>) {
  const models = new Map<string, FileModel>();
  for (const [file, text] of Object.entries(files)) models.set(file, await modelOfFile(file, text));
  const routes = linkRoutes(models);
  return { routes, rules: findingsOf(routes).map((f) => `${f.route} ${f.rule}`) };
}

describe('names', () => {
  it('auth names', () => {
    for (const n of ['requireAuth', 'verify_api_key', 'get_current_user', 'passport.authenticate', 'jwt_required', 'bearerAuth', 'login_required', 'checkToken', 'HTTPBearer', 'OAuth2PasswordBearer']) expect(isAuthName(n), n).toBe(true);
    for (const n of ['get_db', 'validateBody', 'express.json', 'cors', 'rateLimit', 'helmet', 'get_model']) expect(isAuthName(n), n).toBe(false);
  });
  it('rate-limit keys: a user or key wins, an address alone is per IP', () => {
    expect(classifyKey(['req', 'ip'])).toBe('ip');
    expect(classifyKey(['get_remote_address'])).toBe('ip');
    expect(classifyKey(['headers', 'x-forwarded-for'])).toBe('ip');
    expect(classifyKey(['request', 'client', 'host'])).toBe('ip');
    expect(classifyKey(['limit', 'window'])).toBe('unknown');
    expect(classifyKey(['req', 'user', 'id', 'ip'])).toBe('user');
    expect(classifyKey(['x-api-key'])).toBe('user');
    expect(classifyKey(['g', 'user_id'])).toBe('user');
  });
  it('model calls and inference URLs', () => {
    expect(inferenceKindOfCall('client.chat.completions.create')).toBe('generate');
    expect(inferenceKindOfCall('openai.embeddings.create')).toBe('embeddings');
    expect(inferenceKindOfCall('llm.generate')).toBe('generate');
    expect(inferenceKindOfCall('encoder.encode')).toBe('embeddings');
    expect(inferenceKindOfCall('tokenizer.encode')).toBeNull();
    expect(inferenceKindOfCall('uuid.generate')).toBeNull();
    expect(isInferenceUrl(['http://x', '/v1/chat/completions'])).toBe(true);
    expect(isInferenceUrl(['process', 'env', 'VLLM_URL'])).toBe(true);
    expect(isInferenceUrl(['https://api.example/users'])).toBe(false);
  });
});

describe('paths', () => {
  it('middleware prefixes and Next.js matchers', () => {
    expect(prefixMatches('/v1', '/v1/chat')).toBe(true);
    expect(prefixMatches('/v1/*', '/v1/chat')).toBe(true);
    expect(prefixMatches('*', '/anything')).toBe(true);
    expect(prefixMatches('/admin', '/v1/chat')).toBe(false);
    expect(nextMatcherMatches('/api/:path*', '/api/chat')).toBe(true);
    expect(nextMatcherMatches('/dashboard/:path*', '/api/chat')).toBe(false);
    expect(nextMatcherMatches('/((?!_next/static|favicon.ico).*)', '/api/chat')).toBe(true);
    expect(nextRoutePath('src/app/(api)/v1/chat/route.ts')).toBe('/v1/chat');
    expect(nextRoutePath('pages/api/complete.ts')).toBe('/api/complete');
    expect(nextRoutePath('src/lib/route.ts')).toBeNull();
  });
});

describe('rules on facts', () => {
  const route = (over: Partial<RouteFacts>): RouteFacts => ({ ...emptyFacts(), file: 'a.py', line: 3, framework: 'fastapi', method: 'POST', path: '/x', ...over });
  it('no model call, no finding', () => {
    expect(evaluateRoute(route({}))).toEqual([]);
  });
  it('a fully guarded route gives nothing; an unknown limiter key gets the benefit of the doubt', () => {
    const inference = [{ line: 5, what: 'client.chat.completions.create()', kind: 'generate' as const }];
    const guards = [{ kind: 'auth' as const, line: 1, what: 'Depends(auth)' }, { kind: 'rate' as const, key: 'unknown' as const, line: 2, what: 'limit' }, { kind: 'audit' as const, line: 4, what: 'log' }];
    expect(evaluateRoute(route({ inference, guards }))).toEqual([]);
    const ipOnly = guards.map((g) => (g.kind === 'rate' ? { ...g, key: 'ip' as const } : g));
    expect(evaluateRoute(route({ inference, guards: ipOnly })).map((f) => f.rule)).toEqual(['ip-keyed-rate-limit']);
  });
});

describe('inline programs', () => {
  it('Express: auth registered after the route does not count; before it does', async () => {
    const src = (order: 'before' | 'after') => `
      import express from 'express';
      import rateLimit from 'express-rate-limit';
      const app = express();
      const limiter = rateLimit({ keyGenerator: (req) => req.user.id });
      ${order === 'before' ? 'app.use(requireApiKey);' : ''}
      app.post('/chat', limiter, async (req, res) => {
        logger.info({ user: req.user.id, prompt: req.body.prompt });
        const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: req.body.prompt }] });
        res.json({ text: r.choices[0].message.content });
      });
      ${order === 'after' ? 'app.use(requireApiKey);' : ''}`;
    expect((await scanSources({ 'a.ts': src('after') })).rules).toEqual(['POST /chat unauthenticated-endpoint']);
    expect((await scanSources({ 'a.ts': src('before') })).rules).toEqual([]);
  });

  it('JS: rest of the body after taking out logit_bias and logprobs is filtered; a plain rest is not', async () => {
    const src = (taken: string) => `
      import express from 'express';
      const app = express();
      app.post('/chat', async (req, res) => {
        const { ${taken}, ...params } = req.body;
        const r = await openai.chat.completions.create({ model: 'm', ...params });
        res.json({ text: r.choices[0].message.content });
      });`;
    expect((await scanSources({ 'a.ts': src('logit_bias, logprobs, top_logprobs, echo') })).rules).not.toContain('POST /chat unfiltered-params');
    expect((await scanSources({ 'a.ts': src('model') })).rules).toContain('POST /chat unfiltered-params');
  });

  it('Python: popping the leaky keys before **body is a (deny-list) filter', async () => {
    const src = (pop: boolean) => `
from fastapi import FastAPI, Depends
app = FastAPI(dependencies=[Depends(verify_key)])
@app.post("/chat")
async def chat(body: dict):
${pop ? '    body.pop("logit_bias", None)\n    body.pop("logprobs", None)\n' : ''}    r = await client.chat.completions.create(**body)
    return {"text": r.choices[0].message.content}
`;
    expect((await scanSources({ 'm.py': src(true) })).rules).not.toContain('POST /chat unfiltered-params');
    expect((await scanSources({ 'm.py': src(false) })).rules).toContain('POST /chat unfiltered-params');
  });

  it('Python: a Pydantic model with extra="allow" or a logit_bias field lets the body through; a plain one does not', async () => {
    const src = (model: string) => `
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
app = FastAPI()
class Req(BaseModel):
${model}
@app.post("/chat")
async def chat(req: Req):
    return (await client.chat.completions.create(**req.model_dump())).choices[0].message.content
`;
    const rules = async (m: string) => (await scanSources({ 'm.py': src(m) })).rules.filter((r) => r.endsWith('unfiltered-params'));
    expect(await rules('    prompt: str\n    model_config = ConfigDict(extra="allow")')).toHaveLength(1);
    expect(await rules('    prompt: str\n    logit_bias: dict | None = None')).toHaveLength(1);
    expect(await rules('    prompt: str\n    max_tokens: int = 256')).toHaveLength(0);
  });

  it('Flask add_url_rule and FastAPI add_api_route register routes with the view function\'s decorators and dependencies', async () => {
    const flask = 'from flask import Flask, request\nfrom flask_login import login_required\napp = Flask(__name__)\n@login_required\ndef chat():\n    return {"text": llm.generate(request.json["prompt"])}\napp.add_url_rule("/chat", view_func=chat, methods=["POST"])\n';
    const f = await scanSources({ 'a.py': flask });
    expect(f.routes.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /chat']);
    expect(f.rules).not.toContain('POST /chat unauthenticated-endpoint');
    expect(f.rules).toContain('POST /chat missing-rate-limit');
    const fastapi = 'from fastapi import FastAPI, Depends\napp = FastAPI()\nasync def chat(prompt: str):\n    return {"text": llm.generate(prompt)}\napp.add_api_route("/chat", chat, methods=["POST"])\n';
    expect((await scanSources({ 'b.py': fastapi })).rules).toContain('POST /chat unauthenticated-endpoint');
  });

  it('a file that does not parse is reported as skipped or read in part, never a crash', async () => {
    const { scanDirectory } = await import('../../src/scan/scan.js');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'moat-scan-'));
    try {
      writeFileSync(join(dir, 'broken.ts'), 'import express from "express";\nconst app = express(;\n');
      writeFileSync(join(dir, 'broken.py'), 'def (:\n  pass\n');
      writeFileSync(join(dir, 'ok.py'), 'from flask import Flask\napp = Flask(__name__)\n@app.post("/gen")\ndef gen():\n    return llm.generate("x")\n');
      const r = await scanDirectory(dir);
      expect(r.filesScanned + r.skipped.length).toBe(3);
      expect(r.routes.map((x) => x.path)).toContain('/gen');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an Express file named proxy.ts is an app, not Next.js middleware; a streamed upstream body is the whole answer', async () => {
    const src = "import express from 'express';\nimport { Readable } from 'node:stream';\nconst app = express();\napp.post('/v1/chat/completions', async (req, res) => {\n  if (!req.headers.authorization) return res.sendStatus(401);\n  const r = await fetch(process.env.UPSTREAM_URL + '/v1/chat/completions', { method: 'POST', body: JSON.stringify(req.body) });\n  Readable.fromWeb(r.body).pipe(res);\n});\n";
    const { rules } = await scanSources({ 'proxy.ts': src });
    expect(rules.sort()).toEqual(['POST /v1/chat/completions logprobs-exposed', 'POST /v1/chat/completions missing-audit-log', 'POST /v1/chat/completions missing-rate-limit', 'POST /v1/chat/completions unfiltered-params']);
  });

  it('client code that posts to an inference path is not a route', async () => {
    const { routes } = await scanSources({ 'web/api.ts': "import axios from 'axios';\nexport const ask = (body) => axios.post('/v1/chat/completions', body);\n" });
    expect(routes).toEqual([]);
  });

  it('a route that never calls a model gives no finding, however unprotected', async () => {
    const { rules, routes } = await scanSources({ 'a.py': 'from flask import Flask\napp = Flask(__name__)\n@app.route("/users")\ndef users():\n    return {"users": []}\n' });
    expect(routes).toHaveLength(1);
    expect(rules).toEqual([]);
  });

  it('FastAPI: a router included from another module with dependencies at the include', async () => {
    const files = {
      'svc/main.py': 'from fastapi import FastAPI, Depends\nfrom .routers.chat import router as chat_router\napp = FastAPI()\napp.include_router(chat_router, prefix="/v1", dependencies=[Depends(get_current_user)])\n',
      'svc/routers/chat.py': 'from fastapi import APIRouter\nrouter = APIRouter()\n@router.post("/chat")\nasync def chat(prompt: str):\n    return {"text": llm.generate(prompt)}\n',
    };
    const { routes, rules } = await scanSources(files);
    expect(routes.map((r) => r.path)).toEqual(['/v1/chat']);
    expect(rules).not.toContain('POST /v1/chat unauthenticated-endpoint');
    expect(rules).toContain('POST /v1/chat missing-rate-limit');
  });
});

describe('suppressions', () => {
  it('a moat-scan-ignore comment on the line or above silences all rules, or the rules it names', async () => {
    const { isSuppressed } = await import('../../src/scan/suppress.js');
    const lines = ['// moat-scan-ignore: missing-rate-limit, missing-audit-log', "app.post('/chat', handler);", "app.post('/x', h); # moat-scan-ignore", ''];
    expect(isSuppressed(lines, 2, 'missing-rate-limit')).toBe(true);
    expect(isSuppressed(lines, 2, 'missing-audit-log')).toBe(true);
    expect(isSuppressed(lines, 2, 'unauthenticated-endpoint')).toBe(false);
    expect(isSuppressed(lines, 3, 'unauthenticated-endpoint')).toBe(true);
    expect(isSuppressed(lines, 4, 'unauthenticated-endpoint')).toBe(true);
    expect(isSuppressed(['const a = 1;', "app.post('/y', h);"], 2, 'missing-rate-limit')).toBe(false);
  });

  it('scanDirectory drops suppressed findings and counts them', async () => {
    const { scanDirectory } = await import('../../src/scan/scan.js');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'moat-scan-'));
    try {
      const src = (mark: string) => `from flask import Flask\napp = Flask(__name__)\n${mark}\n@app.post("/gen")\n@login_required\ndef gen():\n    audit("gen")\n    return {"text": llm.generate("x")}\n`;
      writeFileSync(join(dir, 'a.py'), src('# limits are enforced by the gateway in front: moat-scan-ignore: missing-rate-limit'));
      const r = await scanDirectory(dir);
      expect(r.findings).toEqual([]);
      expect(r.suppressed).toBe(1);
      writeFileSync(join(dir, 'a.py'), src('# nothing to see'));
      expect((await scanDirectory(dir)).findings.map((f) => f.rule)).toEqual(['missing-rate-limit']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
