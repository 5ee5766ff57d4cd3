/**
 * Heuristics over names (identifiers, dotted call chains, string literals) shared by the
 * JavaScript and Python front-ends. The parsers tell us *where* a name is used; these functions
 * say what a name most likely means. Pure logic.
 */
import type { InferenceCall, LimitKey } from './types.js';

/** Splits `verifyApiKey`, `verify_api_key`, `x-api-key`, `req.user.id` into lower-case words. */
export function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const AUTH_WORDS = new Set(['auth', 'authn', 'authz', 'authenticate', 'authenticated', 'authentication', 'authorize', 'authorization', 'jwt', 'bearer', 'apikey', 'oauth', 'oauth2', 'oidc', 'login', 'credential', 'credentials', 'clerk', 'passport', 'guard', 'protect', 'protected', 'signedin', 'jwtverify', 'httpbearer', 'apikeyheader', 'security']);
const VERIFY_WORDS = new Set(['verify', 'check', 'require', 'requires', 'validate', 'ensure', 'get', 'current', 'load']);
const SUBJECT_WORDS = new Set(['key', 'token', 'user', 'caller', 'client', 'principal', 'session', 'identity', 'account', 'member']);
const RATE_WORDS = new Set(['ratelimit', 'ratelimiter', 'limiter', 'throttle', 'throttler', 'slowdown', 'quota']);

/** True when a function, middleware or dependency name reads as an authentication step. */
export function isAuthName(name: string): boolean {
  const w = words(name);
  if (isRateLimitName(name)) return false;
  if (w.some((x) => AUTH_WORDS.has(x))) return true;
  const joined = w.join('');
  if (/apikey|jwt|bearer|authenticat|authoriz|loginrequired|currentuser|getserversession|gettoken/.test(joined)) return true;
  // verifyKey, require_user, get_current_user, ensureSession, checkToken ...
  return w.some((x) => VERIFY_WORDS.has(x)) && w.some((x) => SUBJECT_WORDS.has(x)) && !w.includes('db') && !w.includes('model');
}

export function isRateLimitName(name: string): boolean {
  const w = words(name);
  if (w.some((x) => RATE_WORDS.has(x))) return true;
  const joined = w.join('');
  return /ratelimit|throttl|slowdown/.test(joined);
}

export function isAuditName(name: string): boolean {
  return words(name).some((x) => x === 'audit' || x === 'auditlog');
}

const IP_WORDS = new Set(['ip', 'ips', 'ipaddr', 'ipaddress', 'remoteaddress', 'remoteaddr', 'forwarded', 'getipaddr']);
const IP_JOINED = /remoteaddr|remoteaddress|getremoteaddress|xforwardedfor|xrealip|cfconnectingip|trueclientip|clienthost|clientip|ipkeygenerator|getclientip|requestip/;
const USER_WORDS = new Set(['user', 'userid', 'uid', 'sub', 'principal', 'apikey', 'keyid', 'account', 'tenant', 'session', 'token', 'identity', 'customer', 'org', 'owner', 'member', 'auth', 'jwt']);

/**
 * What a rate-limit key is made of, from the names used to compute it. A user or key in the
 * key wins (a user id with an IP fallback is per user); an address alone is per IP.
 */
export function classifyKey(names: readonly string[]): LimitKey {
  let ip = false;
  for (const n of names) {
    const w = words(n);
    const joined = w.join('');
    if (w.some((x) => USER_WORDS.has(x)) || /apikey|userid|keyid|principal/.test(joined)) return 'user';
    if (w.some((x) => IP_WORDS.has(x)) || IP_JOINED.test(joined)) ip = true;
  }
  // `request.client.host` arrives as three names; read them together too.
  if (IP_JOINED.test(names.flatMap(words).join(''))) ip = true;
  return ip ? 'ip' : 'unknown';
}

/** Names that identify a caller in a log line. */
export function isIdentityName(name: string): boolean {
  const w = words(name);
  return w.some((x) => ['user', 'userid', 'principal', 'sub', 'tenant', 'account', 'caller', 'identity', 'uid', 'customer', 'keyid', 'member', 'owner'].includes(x)) || /userid|keyid|apikeyid|clientid/.test(w.join(''));
}

/** Names that carry the prompt in a log line. */
export function isPromptName(name: string): boolean {
  return words(name).some((x) => ['prompt', 'prompts', 'messages', 'message', 'input', 'inputs', 'query', 'question', 'content', 'body', 'text'].includes(x));
}

/** The last segments of a dotted call chain, e.g. `client.chat.completions.create` -> kind. */
const CALL_SUFFIXES: ReadonlyArray<[RegExp, InferenceCall['kind']]> = [
  [/(^|\.)chat\.completions\.(create|stream|parse)$/, 'generate'],
  [/(^|\.)completions\.create$/, 'generate'],
  [/(^|\.)responses\.(create|stream)$/, 'generate'],
  [/(^|\.)embeddings\.create$/, 'embeddings'],
  [/(^|\.)(ChatCompletion|Completion)\.(a?create)$/, 'generate'],
  [/(^|\.)Embedding\.a?create$/, 'embeddings'],
  [/(^|\.)(createChatCompletion|createCompletion)$/, 'generate'],
  [/(^|\.)createEmbedding$/, 'embeddings'],
  [/(^|\.)(create_chat_completion|create_completion)$/, 'generate'],
  [/(^|\.)(create_embedding)$/, 'embeddings'],
  [/^(generateText|streamText|generateObject|streamObject)$/, 'generate'],
  [/^(embed|embedMany)$/, 'embeddings'],
  [/(^|\.)(textGeneration|textGenerationStream|chatCompletion|chatCompletionStream)$/, 'generate'],
  [/(^|\.)featureExtraction$/, 'embeddings'],
  [/(^|\.)generate_content(_async)?$/, 'generate'],
  [/^ollama\.(chat|generate)$/, 'generate'],
  [/^ollama\.(embed|embeddings)$/, 'embeddings'],
];

/** Objects whose `.generate()`, `.chat()`, `.encode()`, `.embed()` ... run a model. */
const MODEL_OBJECT = /(^|[._])(model|llm|llama|generator|pipe|pipeline|engine|ollama|vllm|tgi|session|chatbot|lm|encoder|embedder|embedding_model|embed_model|sentence_model)s?$/i;

/** The kind of inference a dotted call chain performs, or null when it is not a model call. */
export function inferenceKindOfCall(chain: string): InferenceCall['kind'] | null {
  for (const [re, kind] of CALL_SUFFIXES) if (re.test(chain)) return kind;
  const dot = chain.lastIndexOf('.');
  if (dot < 0) return null;
  const object = chain.slice(0, dot);
  const method = chain.slice(dot + 1);
  if (!MODEL_OBJECT.test(object) && !/llm|llama|ollama|vllm/i.test(object)) return null;
  if (['generate', 'agenerate', 'chat', 'achat', 'complete', 'acomplete', 'prompt', 'invoke', 'ainvoke', 'stream', 'generate_stream'].includes(method)) return 'generate';
  if (['encode', 'embed', 'embed_query', 'embed_documents', 'embeddings', 'embed_texts'].includes(method)) return 'embeddings';
  return null;
}

/** Constructors and factories whose result is a local model (called directly to run it). */
export function modelFactoryKind(chain: string, firstArg: string | null): InferenceCall['kind'] | null {
  const last = chain.split('.').pop() ?? '';
  if (last === 'pipeline') return firstArg && /feature-extraction|embedding|sentence-similarity/.test(firstArg) ? 'embeddings' : 'generate';
  if (['Llama', 'LLM', 'AsyncLLMEngine', 'LlamaModel', 'LlamaChatSession'].includes(last)) return 'generate';
  if (['SentenceTransformer', 'TextEmbedding'].includes(last)) return 'embeddings';
  if (last === 'from_pretrained' && /ForCausalLM|ForSeq2SeqLM|AutoModel/.test(chain)) return 'generate';
  return null;
}

const INFERENCE_PATH = /\/v1\/(chat\/completions|completions|embeddings|responses)\b|\/api\/(generate|chat|embed|embeddings)\b|\/(completion|generate|generate_stream|embedding|embeddings|infer|inference|predict)\/?$/;
const INFERENCE_URL_NAME = /(inference|vllm|ollama|llama|llm|model|openai|tgi|upstream|completion)s?[_-]?(url|uri|endpoint|host|base|base_url|baseurl|server|api)$/i;

/** True when the pieces of a URL expression (string parts and identifier names) point at an inference server. */
export function isInferenceUrl(pieces: readonly string[]): boolean {
  return pieces.some((p) => INFERENCE_PATH.test(p) || INFERENCE_URL_NAME.test(p.replace(/^.*\./, '')));
}

/** True when the URL pieces point at an embeddings endpoint. */
export function isEmbeddingsUrl(pieces: readonly string[]): boolean {
  return pieces.some((p) => /embed/i.test(p));
}

/** Parameters that leak the output distribution when a client may set them. */
export const LOGPROB_KEYS = new Set(['logprobs', 'top_logprobs', 'prompt_logprobs']);
