/**
 * The one catalogue of errors Moat returns. Each entry has a stable code, an HTTP status,
 * an OpenAI error `type` and a message template that says what was wrong and what to do.
 *
 * @example
 *   throw new MoatError('UNKNOWN_MODEL', { model: 'gpt-x' });
 *   // -> 404 {"error":{"message":"The model 'gpt-x' does not exist ...","type":"invalid_request_error","code":"MOAT_ERR_UNKNOWN_MODEL"}}
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error';

interface ErrorDef {
  status: number;
  type: ErrorType;
  /** `{name}` placeholders are filled from the params given to MoatError. */
  message: string;
}

export const ERRORS = {
  BAD_JSON: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON ({detail}). Send a JSON object with Content-Type: application/json.' },
  BAD_ENCODING: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid UTF-8. Encode the JSON body as UTF-8.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, type: 'invalid_request_error', message: "Content-Type '{contentType}' is not supported. Send the body as application/json." },
  INVALID_REQUEST: { status: 400, type: 'invalid_request_error', message: 'Invalid request: {detail}.' },
  UNKNOWN_FIELD: { status: 400, type: 'invalid_request_error', message: "Unknown parameter '{field}'. Remove it; Moat forwards only the parameters of the OpenAI API that its policy allows." },
  BODY_TOO_LARGE: { status: 413, type: 'invalid_request_error', message: 'The request body is larger than the limit of {limit} bytes. Send a smaller prompt.' },
  NOT_FOUND: { status: 404, type: 'invalid_request_error', message: 'No route {method} {url}. See GET /v1/models and the OpenAI API reference for the routes Moat serves.' },
  METHOD_NOT_ALLOWED: { status: 405, type: 'invalid_request_error', message: 'Method {method} is not allowed on {url}.' },

  MISSING_CREDENTIALS: { status: 401, type: 'authentication_error', message: 'No API key provided. Send it as "Authorization: Bearer <key>" or "X-API-Key: <key>".' },
  MALFORMED_KEY: { status: 401, type: 'authentication_error', message: 'The API key is malformed (wrong prefix, length or checksum). Check that it was copied whole.' },
  INVALID_KEY: { status: 401, type: 'authentication_error', message: 'The API key is not valid. Check the key, or ask an administrator for a new one.' },
  KEY_REVOKED: { status: 401, type: 'authentication_error', message: 'The API key has been revoked. Ask an administrator for a new one.' },
  KEY_EXPIRED: { status: 401, type: 'authentication_error', message: 'The API key has expired. Rotate it or ask an administrator for a new one.' },
  INVALID_TOKEN: { status: 401, type: 'authentication_error', message: 'The bearer token was rejected: {detail}.' },
  AUTH_THROTTLED: { status: 429, type: 'rate_limit_error', message: 'Too many failed authentication attempts. Retry after {retryAfter} seconds.' },
  WRONG_KEY_SCOPE: { status: 401, type: 'authentication_error', message: 'This is an {scope} key; this route needs {use}. Admin keys work only on /admin/v1, inference keys only on /v1.' },
  UNKNOWN_PRINCIPAL: { status: 401, type: 'authentication_error', message: 'The token names a principal that Moat does not know. Ask an administrator to create it (moat principals create).' },
  TOKEN_MALFORMED: { status: 401, type: 'authentication_error', message: 'The bearer token is not a well-formed signed JWT. Send a JWS compact token from your identity provider.' },
  TOKEN_EXPIRED: { status: 401, type: 'authentication_error', message: 'The bearer token has expired. Get a fresh token from your identity provider.' },
  TOKEN_NOT_YET_VALID: { status: 401, type: 'authentication_error', message: 'The bearer token is not valid yet (nbf or iat in the future). Check the clock of the token issuer.' },
  TOKEN_ISSUER: { status: 401, type: 'authentication_error', message: 'The bearer token comes from an issuer that is not allowed. Use a token from a configured issuer.' },
  TOKEN_AUDIENCE: { status: 401, type: 'authentication_error', message: 'The bearer token is not meant for this gateway (audience missing or not allowed). Request a token for the configured audience.' },
  TOKEN_ALGORITHM: { status: 401, type: 'authentication_error', message: 'The bearer token is signed with an algorithm that is not allowed. Use one of the configured algorithms.' },
  TOKEN_SIGNATURE: { status: 401, type: 'authentication_error', message: 'The bearer token signature does not verify with any trusted key. Get a token from a configured issuer.' },
  TOKEN_CLAIMS: { status: 401, type: 'authentication_error', message: 'The bearer token lacks a required claim ({claim}). Ask the operator which claims are mapped.' },
  TOKEN_KEYS_UNAVAILABLE: { status: 503, type: 'server_error', message: 'The signing keys of the token issuer could not be fetched. Retry after {retryAfter} seconds.' },

  FORBIDDEN: { status: 403, type: 'permission_error', message: 'Your role does not allow {action}. Ask an administrator for the permission.' },
  ADMIN_UNKNOWN: { status: 404, type: 'invalid_request_error', message: "No {kind} named '{name}'. List them with GET /admin/v1/{list} or `moat {list} list`." },
  ADMIN_CONFLICT: { status: 409, type: 'invalid_request_error', message: "The {kind} '{name}' {detail}." },
  ROLE_READ_ONLY: { status: 409, type: 'invalid_request_error', message: "The role '{name}' is {source}; it cannot be changed through the admin API. Edit the roles section of moat.yaml instead." },
  UNKNOWN_MODEL: { status: 404, type: 'invalid_request_error', message: "The model '{model}' does not exist or you do not have access to it. GET /v1/models lists the models you may use." },
  POLICY_DENIED: { status: 400, type: 'invalid_request_error', message: "The parameter '{param}' is not allowed: {reason}." },

  RATE_LIMITED: { status: 429, type: 'rate_limit_error', message: 'Rate limit reached for {limit}. Retry after {retryAfter} seconds.' },
  TOKENS_EXCEED_LIMIT: { status: 429, type: 'rate_limit_error', message: 'This request needs {tokens} tokens, more than the {limit} limit of {max} allows at once. Lower max_tokens or shorten the prompt.' },
  BLOCKED: { status: 403, type: 'permission_error', message: 'Access has been suspended for this account by the operator. Contact the operator to restore it.' },

  UPSTREAM_FAILED: { status: 502, type: 'upstream_error', message: 'The inference server for this model failed to answer. Retry later; if it persists, contact the operator.' },
  UPSTREAM_REJECTED: { status: 400, type: 'invalid_request_error', message: 'The inference server rejected the request (status {upstreamStatus}). Check the parameters and the prompt length.' },
  UPSTREAM_BUSY: { status: 429, type: 'rate_limit_error', message: 'The inference server is busy. Retry after {retryAfter} seconds.' },
  UPSTREAM_TIMEOUT: { status: 504, type: 'upstream_error', message: 'The inference server did not answer in time ({phase} timeout of {ms} ms). Retry later or with a shorter request.' },
  LIMITS_UNAVAILABLE: { status: 503, type: 'server_error', message: 'The limit store is unreachable, so Moat cannot admit requests safely. Retry after {retryAfter} seconds.' },
  UNAVAILABLE: { status: 503, type: 'server_error', message: '{detail}. Retry after {retryAfter} seconds.' },
  INTERNAL: { status: 500, type: 'server_error', message: 'Moat hit an internal error (request {requestId}). The operator can find it in the logs.' },
} as const satisfies Record<string, ErrorDef>;

export type ErrorName = keyof typeof ERRORS;

export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType; code: string; param?: string | null };
}

/** A single exception type that knows its HTTP response. */
export class MoatError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: ErrorType;
  /** Extra response headers (Retry-After, RateLimit ...). */
  readonly headers: Record<string, string>;
  readonly param: string | null;

  constructor(
    readonly name_: ErrorName,
    readonly params: Record<string, string | number> = {},
    opts: { headers?: Record<string, string>; param?: string; cause?: unknown } = {},
  ) {
    const def: ErrorDef = ERRORS[name_];
    super(fill(def.message, params), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MoatError';
    this.code = `MOAT_ERR_${name_}`;
    this.status = def.status;
    this.type = def.type;
    this.headers = opts.headers ?? {};
    this.param = opts.param ?? null;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

function fill(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => (k in params ? String(params[k]) : `{${k}}`));
}

export function isMoatError(e: unknown): e is MoatError {
  return e instanceof MoatError;
}
