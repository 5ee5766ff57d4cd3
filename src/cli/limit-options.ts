/** The --rpm/--tpm/--tpd/--concurrency options shared by the identity commands. */
import { InvalidArgumentError, type Command } from 'commander';
import type { LimitChange } from '../identity/admin.js';
import { LIMIT_NAMES, type LimitOverrides } from '../identity/types.js';

const HELP: Record<(typeof LIMIT_NAMES)[number], string> = {
  rpm: 'requests per minute',
  tpm: 'tokens per minute',
  tpd: 'tokens per day',
  concurrency: 'requests in flight at once',
};

function limitValue(allowNone: boolean) {
  // Commander turns a parsed null into '', so 'none' stays a string until limitChangeFrom.
  return (v: string): number | 'none' => {
    if (allowNone && v === 'none') return 'none';
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer >= 0 (0 = no limit)${allowNone ? ", or 'none' to use the default" : ''}`);
    return n;
  };
}

/** Adds one option per limit. With `allowNone`, `none` removes an override. */
export function limitOptions(c: Command, allowNone: boolean, whose: string): Command {
  for (const k of LIMIT_NAMES) c.option(`--${k} <n>`, `${HELP[k]} for ${whose} (0 = no limit${allowNone ? "; 'none' = back to the default" : ''})`, limitValue(allowNone));
  return c;
}

type Given = Partial<Record<(typeof LIMIT_NAMES)[number], number | 'none'>>;

export function limitChangeFrom(o: Given): LimitChange {
  const out: LimitChange = {};
  for (const k of LIMIT_NAMES) if (o[k] !== undefined) out[k] = o[k] === 'none' ? null : o[k];
  return out;
}

export function limitsFrom(o: Given): LimitOverrides {
  const out: LimitOverrides = {};
  for (const k of LIMIT_NAMES) if (typeof o[k] === 'number') out[k] = o[k];
  return out;
}

/** `rpm=60 tpm=none` style text for human output. */
export function formatLimits(l: LimitOverrides): string {
  const parts = LIMIT_NAMES.filter((k) => l[k] !== undefined).map((k) => `${k}=${l[k]}`);
  return parts.length ? parts.join(' ') : 'defaults';
}

/** Parses `30s`, `15m`, `24h`, `7d` or a number of seconds into milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 30s, 15m, 24h or 7d');
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit * 1000;
}
