/** Loads the signature model: the operator's file when configured, else the one shipped with Moat. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { modelFromJson, type SignatureModel } from './model.js';

/**
 * The shipped model, `data/detect-model.json` at the package root: two levels above src/detect
 * and dist/detect, three above the evaluation build (dist-eval/src/detect).
 */
export const SHIPPED_MODEL = [
  fileURLToPath(new URL('../../data/detect-model.json', import.meta.url)),
  fileURLToPath(new URL('../../../data/detect-model.json', import.meta.url)),
].find((f) => existsSync(f)) ?? fileURLToPath(new URL('../../data/detect-model.json', import.meta.url));

export function loadSignatureModel(file?: string): SignatureModel {
  const path = file ?? SHIPPED_MODEL;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the signature model ${file ? `'${file}'` : '(shipped)'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return modelFromJson(JSON.parse(text));
}
