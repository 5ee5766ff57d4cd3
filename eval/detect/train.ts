/**
 * Training data for the shipped signature model, from the calibration part only: positives
 * are bulk data-generation and chain-of-thought harvesting requests, negatives are ordinary
 * prompts, content tasks and templated tasks (a template alone is not a signature).
 */
import { signatureIndices } from '../../src/detect/features.js';
import { rng } from '../../src/detect/hash.js';
import { trainSignature, type SignatureModel } from '../../src/detect/model.js';
import type { Corpus } from './corpus.js';
import { attackAccounts, benignAccounts } from './streams.js';

export function trainShippedModel(cal: Corpus): SignatureModel {
  const texts: { text: string; label: 0 | 1 }[] = [];
  // Fresh seeds: the training draws are not the evaluation's calibration streams.
  for (const a of attackAccounts('calibration', cal, 6, 991)) {
    if (a.kind !== 'attack:signature') continue;
    for (const e of a.events.slice(0, 120)) texts.push({ text: content(e.body), label: 1 });
  }
  for (const a of benignAccounts('calibration', cal, 60, 992)) for (const e of a.events.slice(0, 60)) texts.push({ text: content(e.body), label: 0 });
  for (const p of cal.prompts) texts.push({ text: p, label: 0 });
  const r = rng(993);
  for (const f of cal.templated) for (const row of f.rows) if (r() < 0.25) texts.push({ text: row, label: 0 });
  return trainSignature(
    texts.map((t) => ({ idx: signatureIndices(t.text), label: t.label })),
    { trainedOn: `moat eval:detect calibration part (${texts.filter((t) => t.label).length} positive, ${texts.filter((t) => !t.label).length} negative)` },
  );
}

function content(body: Record<string, unknown>): string {
  const m = (body.messages as { content: string }[] | undefined)?.[0];
  return m?.content ?? '';
}
