/**
 * Pure judgements on what an endpoint answered: does a body carry log-probabilities, how many
 * choices, the generated text, how precise the embedding vectors are, and whether an error
 * leaks a stack trace, an internal address or internal detail.
 */

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

function choicesOf(body: unknown): Json[] {
  return isObj(body) && Array.isArray(body.choices) ? body.choices.filter(isObj) : [];
}

/** Numbers that sit beside log-probabilities but are not (token byte values, text offsets). */
const NOT_LOGPROBS = new Set(['bytes', 'text_offset', 'index']);

/** The number of log-probability values in an answer or stream event (chat and legacy formats, vLLM's prompt_logprobs). */
export function countLogprobs(body: unknown): number {
  let n = 0;
  const visit = (v: unknown, inLogprobs: boolean) => {
    if (typeof v === 'number' && inLogprobs) n++;
    else if (Array.isArray(v)) for (const x of v) visit(x, inLogprobs);
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) if (!NOT_LOGPROBS.has(k)) visit(x, inLogprobs || /logprob/.test(k));
  };
  for (const c of choicesOf(body)) visit({ logprobs: c.logprobs ?? null }, false);
  if (isObj(body) && 'prompt_logprobs' in body) visit(body.prompt_logprobs, true);
  return n;
}

export function choiceCount(body: unknown): number {
  return choicesOf(body).length;
}

/** The generated text of the first choice (chat message, streamed delta or legacy text). */
export function textOf(body: unknown): string {
  const c = choicesOf(body)[0];
  if (!c) return '';
  const msg = isObj(c.message) ? c.message : isObj(c.delta) ? c.delta : null;
  if (msg && typeof msg.content === 'string') return msg.content;
  return typeof c.text === 'string' ? c.text : '';
}

/** Decodes `data[].embedding` (number arrays or base64 float32) into vectors. */
export function embeddingVectors(body: unknown): number[][] {
  if (!isObj(body) || !Array.isArray(body.data)) return [];
  const out: number[][] = [];
  for (const d of body.data) {
    if (!isObj(d)) continue;
    const e = d.embedding;
    if (Array.isArray(e) && e.every((x) => typeof x === 'number')) out.push(e as number[]);
    else if (typeof e === 'string') {
      const b = Buffer.from(e, 'base64');
      const v: number[] = [];
      for (let i = 0; i + 4 <= b.length; i += 4) v.push(b.readFloatLE(i));
      out.push(v);
    }
  }
  return out;
}

/**
 * How coarse a set of vectors is: the largest number of decimals any component needs (capped at
 * 9). Raw model output needs 6 or more; a hardened endpoint rounds to a few.
 */
export function decimalsNeeded(vectors: readonly number[][]): number {
  let worst = 0;
  for (const v of vectors) {
    for (const x of v) {
      let d = 0;
      while (d < 9 && Math.abs(Math.round(x * 10 ** d) - x * 10 ** d) > 1e-6 * 10 ** d) d++;
      worst = Math.max(worst, d);
      if (worst >= 9) return worst;
    }
  }
  return worst;
}

/** Components needing at most this many decimals count as hardened (reduced precision). */
export const COARSE_DECIMALS = 4;

const STACK = [
  // Frames after a real or a JSON-escaped newline.
  { re: /(?:\n|\\n)\s*at [\w$.<>[\] ]+ \(?[^\s()]+:\d+:\d+\)?/, what: 'a JavaScript stack trace' },
  { re: /Traceback \(most recent call last\)/, what: 'a Python traceback' },
  { re: /File "[^"]+\.py", line \d+/, what: 'a Python source location' },
  { re: /(?:^|[\s"'(])(?:\/[\w.-]+)+\/[\w.-]+\.(?:js|mjs|cjs|ts|py|go|rb|java):\d+/, what: 'a source file path' },
  { re: /node_modules\/|site-packages\//, what: 'a dependency path' },
  { re: /\b(?:TypeError|ReferenceError|SyntaxError|KeyError|ValueError|AttributeError|NullPointerException|IndexError|RuntimeError): /, what: 'an exception class and message' },
  { re: /\bSQLSTATE\b|\bpsycopg\d?\b|\bsqlalchemy\.|\bSQLITE_\w+/, what: 'a database error' },
  { re: /\bECONNREFUSED\b|\bECONNRESET\b|\bENOTFOUND\b|\bgetaddrinfo\b/, what: 'a network error of the server' },
];

/** Things in an error answer that tell an attacker about the server; empty when it is opaque. */
export function errorLeaks(text: string, base: URL): string[] {
  const out: string[] = [];
  for (const s of STACK) {
    const m = s.re.exec(text);
    if (m) out.push(`${s.what}: ${excerpt(text, m.index, m[0].length)}`);
  }
  // URLs of other servers that look like infrastructure (not documentation links), and private or loopback addresses.
  for (const m of text.matchAll(/\b(?:https?|wss?|grpc|redis|postgres(?:ql)?):\/\/[^\s"'<>\\]+/g)) {
    let u: URL | null = null;
    try {
      u = new URL(m[0]);
    } catch {
      /* not a URL after all */
    }
    if (u && u.host !== base.host && looksInternal(u)) out.push(`an internal address: ${excerpt(text, m.index, m[0].length)}`);
  }
  for (const m of text.matchAll(/\b(?:127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(?:1[6-9]|2\d|3[01])\.\d+\.\d+|localhost)(?::(\d+))?\b/g)) {
    const hostPort = m[0];
    if (hostPort === base.host || (!m[1] && hostPort === base.hostname)) continue;
    if (!out.some((o) => o.includes(hostPort))) out.push(`an internal address: ${excerpt(text, m.index, hostPort.length)}`);
  }
  return out;
}

const PRIVATE_HOST = /^(?:127\.|10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|169\.254\.|\[?::1\]?$|\[?f[cd]|localhost$)/i;

/**
 * A URL that names infrastructure: a private, loopback or single-label host, an internal domain,
 * an explicit port, or an inference API path. Public documentation links (a validation error's
 * help URL) are not.
 */
export function looksInternal(u: URL): boolean {
  const h = u.hostname;
  if (PRIVATE_HOST.test(h) || !h.includes('.') || /\.(internal|local|lan|corp|svc|cluster\.local|intranet)$/i.test(h)) return true;
  if (u.port !== '') return true;
  return /\/v1\/|\/api\/(generate|chat|embed)|\/(chat\/)?completions|\/embeddings|\/generate/.test(u.pathname);
}

function excerpt(text: string, at: number, len: number): string {
  const s = text.slice(Math.max(0, at - 10), Math.min(text.length, at + len + 10)).replace(/\\n|\s+/g, ' ');
  return `"${s.length > 120 ? `${s.slice(0, 117)}...` : s}"`;
}
