/**
 * The secure pattern for each rule, per framework: short enough for a terminal, concrete enough
 * to copy. Kept apart from the rules so the advice can be read (and reviewed) in one place.
 */
import type { Framework, RuleId } from './types.js';

type Remedies = Record<Framework, string>;

const AUTH: Remedies = {
  express: "verify a key or token in middleware applied to the router before the route (router.use(requireApiKey) or app.post(path, requireApiKey, handler)) and set req.user from the verified credential, never from a header the client can choose.",
  fastify: "verify the credential in an onRequest hook (fastify.addHook('onRequest', verifyKey) in the plugin that registers the route, or { onRequest: [fastify.authenticate] } on the route) and reject with 401 before the handler runs.",
  hono: "mount an auth middleware before the route: app.use('/v1/*', bearerAuth({ verifyToken })) or jwt({ secret }), and read the principal from c.get(...) in the handler.",
  nextjs: 'call the session or key check at the top of the route handler (const session = await auth(); if (!session) return new Response(null, { status: 401 })), or protect the path in middleware.ts with a matcher that covers it.',
  fastapi: 'require a dependency that verifies the key or token: def chat(..., user: User = Depends(get_current_user)), or APIRouter(dependencies=[Depends(verify_api_key)]) for every route of the router.',
  flask: 'decorate the view with an authentication decorator (@login_required, @jwt_required()) or verify the key in a blueprint before_request hook that aborts with 401.',
};

const LIMIT_PER_USER: Remedies = {
  express: 'rateLimit({ windowMs: 60_000, limit: 60, keyGenerator: (req) => req.user.id }) after the auth middleware, with a shared store (Redis) when there are several replicas.',
  fastify: "register @fastify/rate-limit with keyGenerator: (request) => request.user.id (after authentication), and a Redis store for several replicas.",
  hono: 'rateLimiter({ windowMs: 60_000, limit: 60, keyGenerator: (c) => c.get("user").id }) after the auth middleware.',
  nextjs: 'limit per authenticated user before calling the model: const { success } = await ratelimit.limit(session.user.id); if (!success) return new Response(null, { status: 429 }).',
  fastapi: "count per authenticated principal: Limiter(key_func=lambda request: request.state.user_id) with @limiter.limit('60/minute'), or a dependency that charges a per-user bucket in Redis.",
  flask: "Limiter(key_func=lambda: g.user.id) (flask-limiter) with @limiter.limit('60/minute') on the view, after authentication.",
};

const LOGPROBS: Remedies = {
  express: 'never request logprobs/top_logprobs from the model and build the response from the fields the client needs (text, finish_reason, usage), dropping choices[].logprobs.',
  fastify: 'never request logprobs/top_logprobs and declare a response schema for the route so that only text, finish_reason and usage are serialized.',
  hono: 'never request logprobs/top_logprobs; return c.json({ text, usage }) built from the fields the client needs.',
  nextjs: 'never request logprobs/top_logprobs; return Response.json({ text, usage }) built from the fields the client needs.',
  fastapi: 'never request logprobs and declare response_model= with only the text, finish_reason and usage, so FastAPI filters the rest out.',
  flask: 'never request logprobs; return jsonify(text=..., usage=...) built from the fields the client needs.',
};

const EMBEDDINGS: Remedies = {
  express: 'keep vectors server-side (run the similarity search in the service and return ids and scores), or serve raw vectors only to a privileged role, at reduced precision and a per-user quota.',
  fastify: 'keep vectors server-side (return search results, not vectors), or restrict the route to a privileged role with a per-user quota and reduced precision.',
  hono: 'keep vectors server-side (return search results, not vectors), or restrict the route to a privileged role with a per-user quota and reduced precision.',
  nextjs: 'keep vectors server-side (return search results, not vectors), or restrict the route to a privileged role with a per-user quota and reduced precision.',
  fastapi: 'keep vectors server-side (return search results, not vectors), or guard the route with a role dependency (Depends(require_role("embeddings"))) and reduce precision.',
  flask: 'keep vectors server-side (return search results, not vectors), or restrict the view to a privileged role with a per-user quota and reduced precision.',
};

const PARAMS: Remedies = {
  express: 'validate the body with a schema that lists the allowed fields (zod: z.object({ messages, max_tokens }).parse(req.body) drops the rest) and build the model call from those fields only.',
  fastify: 'declare a body schema with additionalProperties: false listing the allowed fields, and build the model call from them, never from request.body as a whole.',
  hono: "use a validator (zValidator('json', schema)) and build the model call from c.req.valid('json') fields only.",
  nextjs: 'parse the body with a schema of the allowed fields (zod .parse drops unknown keys) and build the model call from those fields only.',
  fastapi: 'accept a Pydantic model that declares only the allowed fields (no logit_bias, logprobs, echo; extra="ignore" or "forbid") and pass the fields explicitly, not **body.',
  flask: 'read only the allowed fields from request.get_json() (messages, max_tokens) and pass them explicitly, never **data or json=data.',
};

const AUDIT: Remedies = {
  express: 'log one structured record per request with the authenticated principal, the model and the prompt (or its hash), e.g. logger.info({ user: req.user.id, model, prompt }), to an append-only store.',
  fastify: 'log one structured record per request with the principal and the prompt (request.log.info({ user: request.user.id, prompt })), or an onResponse hook that writes an audit record.',
  hono: "log one structured record per request with the principal and the prompt, e.g. in a middleware after auth: logger.info({ user: c.get('user').id, prompt }).",
  nextjs: 'log one structured record per request with the session user and the prompt (or its hash) before calling the model.',
  fastapi: 'log one structured record per request with the principal and the prompt, e.g. audit_log.info("inference", extra={"user": user.id, "prompt": body.prompt}).',
  flask: 'log one structured record per request with the principal and the prompt, e.g. current_app.logger.info("inference user=%s prompt=%r", g.user.id, prompt).',
};

const BY_RULE: Record<RuleId, Remedies> = {
  'unauthenticated-endpoint': AUTH,
  'ip-keyed-rate-limit': LIMIT_PER_USER,
  'missing-rate-limit': LIMIT_PER_USER,
  'logprobs-exposed': LOGPROBS,
  'embeddings-exposed': EMBEDDINGS,
  'unfiltered-params': PARAMS,
  'missing-audit-log': AUDIT,
};

/** The secure pattern for a rule in a framework, as one sentence. */
export function remedy(rule: RuleId, framework: Framework): string {
  return BY_RULE[rule][framework];
}
