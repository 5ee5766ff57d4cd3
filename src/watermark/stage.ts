/**
 * Stage 8, watermark: rewrites the text of each answer with the caller's key (tenant or
 * principal), after the response policy and before the audit. Whole answers are rewritten at once;
 * streamed answers event by event, each event keeping its place in the stream and holding back
 * only the words that are still being decided (at most the rest of a sentence). Whatever is held
 * goes out with the choice's `finish_reason` event, or at the end of the stream.
 *
 * On when `watermark.enabled`, when the model or the tenant is listed in the config, or when an
 * earlier stage (detection) set `ctx.stageState.get('watermark:force') === true` for a risky caller.
 */
import type { JsonObject, RequestContext } from '../pipeline/context.js';
import type { Stage } from '../pipeline/stage.js';
import type { WatermarkConfig } from './config.js';
import { WatermarkWriter, embedText, type EmbedStats } from './embed.js';
import { deriveKey, type WatermarkKey } from './keys.js';
import type { Lexicon } from './lexicon.js';
import type { Tagger } from './tagger.js';

export const FORCE_KEY = 'watermark:force';
const STATE_KEY = 'watermark';

export interface WatermarkDeps {
  config: WatermarkConfig;
  master: Buffer;
  lexicon: Lexicon;
  tagger: Tagger;
}

/** What the stage keeps per request (also read by tests and the audit). */
export interface WatermarkState {
  key: WatermarkKey;
  writers: Map<number, WatermarkWriter>;
  template: JsonObject | null;
  stats: EmbedStats;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function wantsJson(body: JsonObject): boolean {
  const rf = body.response_format;
  return isObject(rf) && (rf.type === 'json_object' || rf.type === 'json_schema');
}

export function watermarkStage(d: WatermarkDeps): Stage {
  const { config } = d;
  const models = new Set(config.models);
  const tenants = new Set(config.tenants);
  const keys = new Map<string, WatermarkKey>();

  const keyFor = (ctx: RequestContext): WatermarkKey => {
    const id = ctx.identity!;
    const name = config.keyBy === 'tenant' ? id.tenant : id.principal;
    let k = keys.get(name);
    if (!k) {
      k = deriveKey(d.master, config.keyBy, name);
      if (keys.size > 10_000) keys.clear(); // bounded: derivation is cheap to repeat
      keys.set(name, k);
    }
    return k;
  };

  const applies = (ctx: RequestContext): boolean => {
    if (ctx.route === 'embeddings' || !ctx.identity || !ctx.model || wantsJson(ctx.body)) return false;
    return config.enabled || models.has(ctx.model.name) || tenants.has(ctx.identity.tenant) || ctx.stageState.get(FORCE_KEY) === true;
  };

  const stateOf = (ctx: RequestContext): WatermarkState | null => {
    const cur = ctx.stageState.get(STATE_KEY) as WatermarkState | null | undefined;
    if (cur !== undefined) return cur;
    const st = applies(ctx) ? { key: keyFor(ctx), writers: new Map(), template: null, stats: { words: 0, positions: 0, changed: 0 } } : null;
    ctx.stageState.set(STATE_KEY, st);
    if (st) ctx.rules.push(`watermark:${config.keyBy}`);
    return st;
  };

  const add = (st: WatermarkState, s: EmbedStats) => {
    st.stats.words += s.words;
    st.stats.positions += s.positions;
    st.stats.changed += s.changed;
  };

  const textField = (ctx: RequestContext) => (ctx.route === 'chat' ? 'content' : 'text');

  return {
    name: 'watermark',
    response(ctx, body) {
      const st = stateOf(ctx);
      if (!st || !Array.isArray(body.choices)) return;
      for (const c of body.choices) {
        if (!isObject(c)) continue;
        const holder = ctx.route === 'chat' ? c.message : c;
        if (!isObject(holder) || typeof holder[textField(ctx)] !== 'string') continue;
        const r = embedText(holder[textField(ctx)] as string, d.lexicon, d.tagger, st.key);
        holder[textField(ctx)] = r.text;
        add(st, r.stats);
      }
    },
    event(ctx, ev) {
      const st = stateOf(ctx);
      if (!st || !Array.isArray(ev.choices)) return ev;
      st.template ??= { id: ev.id, object: ev.object, created: ev.created, model: ev.model };
      for (const c of ev.choices) {
        if (!isObject(c)) continue;
        const index = typeof c.index === 'number' ? c.index : 0;
        const holder = ctx.route === 'chat' ? c.delta : c;
        const text = isObject(holder) ? holder[textField(ctx)] : undefined;
        const done = c.finish_reason !== null && c.finish_reason !== undefined;
        let w = st.writers.get(index);
        if (typeof text !== 'string' && !(done && w?.pending)) continue;
        if (!w) st.writers.set(index, (w = new WatermarkWriter(d.lexicon, d.tagger, st.key)));
        let out = typeof text === 'string' ? w.push(text) : '';
        if (done) {
          out += w.end();
          add(st, w.stats);
          st.writers.delete(index);
        }
        if (isObject(holder)) holder[textField(ctx)] = out;
        else c.delta = { content: out };
      }
      return ev;
    },
    endOfStream(ctx) {
      const st = ctx.stageState.get(STATE_KEY) as WatermarkState | null | undefined;
      if (!st) return [];
      const out: JsonObject[] = [];
      for (const [index, w] of st.writers) {
        const rest = w.end();
        add(st, w.stats);
        if (!rest) continue;
        const choice = ctx.route === 'chat' ? { index, delta: { content: rest }, finish_reason: null } : { index, text: rest, finish_reason: null };
        out.push({ ...(st.template ?? {}), choices: [choice] });
      }
      st.writers.clear();
      return out;
    },
  };
}
