/** Builds the watermark stage's dependencies from the configuration (used by the gateway). */
import type { WatermarkConfig } from './config.js';
import { defaultLexicon } from './lexicon.js';
import { masterSecret } from './secret.js';
import type { WatermarkDeps } from './stage.js';
import { loadWink, winkTagger } from './tagger.js';

export function watermarkDeps(config: WatermarkConfig, dataDir: string): WatermarkDeps {
  // The tagger model loads now when the config can turn the watermark on; when only detection can
  // force it for a risky caller, it loads on the first forced answer.
  if (config.enabled || config.models.length > 0 || config.tenants.length > 0) loadWink();
  return { config, master: masterSecret({ configSecret: config.secret, dataDir, create: true })!, lexicon: defaultLexicon(), tagger: winkTagger() };
}
