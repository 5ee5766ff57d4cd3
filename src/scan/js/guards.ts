/**
 * What a middleware, hook or plugin expression does for a route: authenticate, rate-limit (and
 * on what key), or audit. Recognizes the common packages by name and import, and reads the body
 * of middleware defined in the same file.
 */
import { classifyKey, isAuditName, isAuthName, isRateLimitName } from '../names.js';
import type { Guard, LimitKey } from '../types.js';
import { chainOf, child, children, isFunction, namesIn, propOf, snippet, unwrap, type Node } from './ast.js';
import { analyzeFunction, type JsFileCtx } from './flow.js';

/** Packages whose limiter counts per client IP unless given a keyGenerator. */
const IP_DEFAULT_LIMITERS = new Set(['express-rate-limit', 'express-slow-down', '@fastify/rate-limit', 'fastify-rate-limit']);
const AUTH_PACKAGES = /^(passport|express-jwt|express-oauth2-jwt-bearer|@clerk\/|@fastify\/bearer-auth|@fastify\/jwt|@fastify\/auth|hono\/(bearer-auth|basic-auth|jwt)|@hono\/(clerk-auth|auth-js|oidc-auth)|express-basic-auth|next-auth|@auth\/)/;
const LIMIT_PACKAGES = /^(express-rate-limit|express-slow-down|@fastify\/rate-limit|fastify-rate-limit|hono-rate-limiter|rate-limiter-flexible|@upstash\/ratelimit|express-brute)/;

function importSource(ctx: JsFileCtx, chain: string): string | null {
  return ctx.imports.get(chain.split('.')[0]!)?.source ?? null;
}

function keyOfLimiter(ctx: JsFileCtx, chain: string, options: Node | null): LimitKey {
  const gen = propOf(options, 'keyGenerator') ?? propOf(options, 'key') ?? propOf(options, 'identifier');
  if (gen) {
    const fn = unwrap(gen);
    const target = fn?.type === 'Identifier' ? (ctx.functions.get(fn.name as string) ?? fn) : fn;
    return classifyKey(namesIn(target));
  }
  const src = importSource(ctx, chain);
  return src && IP_DEFAULT_LIMITERS.has(src) ? 'ip' : 'unknown';
}

/**
 * The guards an expression given as middleware (or hook, or route option) provides.
 * `display` names the expression in messages.
 */
export function guardsOf(expr: Node | null, ctx: JsFileCtx, seen = new Set<Node>()): Guard[] {
  const n = unwrap(expr);
  if (!n || seen.has(n)) return [];
  seen.add(n);
  const line = ctx.lineOf(n.start);
  const what = snippet(ctx.text, n);
  if (n.type === 'ArrayExpression') return children(n, 'elements').flatMap((e) => guardsOf(e, ctx, seen));
  if (isFunction(n)) {
    const params = children(n, 'params');
    const req = params[0]?.type === 'Identifier' ? (params[0].name as string) : 'req';
    return analyzeFunction(n, ctx, { request: new Set([req]), body: new Set() }).guards;
  }
  if (n.type === 'Identifier') {
    const name = n.name as string;
    const fn = ctx.functions.get(name);
    const init = ctx.consts.get(name);
    const found = fn ? guardsOf(fn, ctx, seen) : init ? guardsOf(init, ctx, seen) : [];
    return found.length > 0 ? found : byName(name, ctx, line, what, null);
  }
  if (n.type === 'MemberExpression') return byName(chainOf(n), ctx, line, what, null);
  if (n.type === 'CallExpression' || n.type === 'NewExpression') {
    const chain = chainOf(child(n, 'callee'));
    const options = children(n, 'arguments')[0] ?? null;
    const named = byName(chain, ctx, line, what, options);
    if (named.length > 0) return named;
    // A factory defined here (`requireRole('admin')`): what the function it returns does.
    const fn = ctx.functions.get(chain);
    return fn ? guardsOf(fn, ctx, seen) : [];
  }
  return [];
}

function byName(chain: string, ctx: JsFileCtx, line: number, what: string, options: Node | null): Guard[] {
  const src = importSource(ctx, chain) ?? '';
  // Set-up calls of auth packages that check nothing by themselves.
  if (/^passport\.(initialize|session)$/.test(chain)) return [];
  if (LIMIT_PACKAGES.test(src) || isRateLimitName(chain)) return [{ kind: 'rate', key: keyOfLimiter(ctx, chain, options), line, what }];
  if (AUTH_PACKAGES.test(src) || isAuthName(chain.split('.').pop()!) || isAuthName(chain)) return [{ kind: 'auth', line, what }];
  if (isAuditName(chain)) return [{ kind: 'audit', line, what }];
  return [];
}

/** Guards given in Fastify route options: onRequest / preHandler / preValidation hooks and config.rateLimit. */
export function fastifyRouteOptionGuards(opts: Node | null, ctx: JsFileCtx): Guard[] {
  const out: Guard[] = [];
  for (const hook of ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'onResponse']) out.push(...guardsOf(propOf(opts, hook), ctx));
  const rl = propOf(propOf(opts, 'config'), 'rateLimit');
  if (rl && !(unwrap(rl)?.type === 'Literal' && unwrap(rl)!.value === false)) {
    // Without its own keyGenerator a route limit uses the one given when the plugin was registered.
    const key = propOf(rl, 'keyGenerator') ? keyOfLimiter(ctx, '', rl) : (ctx.limiterKey ?? 'unknown');
    out.push({ kind: 'rate', key, line: ctx.lineOf(rl.start), what: `config.rateLimit ${snippet(ctx.text, rl, 40)}` });
  }
  return out;
}

/** Guards a Fastify plugin registration adds to its scope (@fastify/rate-limit, @fastify/bearer-auth ...). */
export function fastifyPluginGuards(plugin: Node | null, opts: Node | null, ctx: JsFileCtx): Guard[] | null {
  const chain = chainOf(plugin);
  const src = importSource(ctx, chain) ?? '';
  const line = ctx.lineOf((plugin ?? opts)!.start);
  if (/rate-limit/.test(src) || isRateLimitName(chain)) {
    const global = unwrap(propOf(opts, 'global'));
    const key = keyOfLimiter(ctx, chain, opts);
    ctx.limiterKey = key === 'unknown' && /rate-limit/.test(src) ? 'ip' : key;
    if (global?.type === 'Literal' && global.value === false) return [];
    return [{ kind: 'rate', key: key === 'unknown' && /rate-limit/.test(src) ? 'ip' : key, line, what: `register(${chain})` }];
  }
  if (/bearer-auth|@fastify\/auth$/.test(src)) return [{ kind: 'auth', line, what: `register(${chain})` }];
  if (/@fastify\/(jwt|basic-auth|cookie|session)/.test(src)) return [];
  return null;
}
