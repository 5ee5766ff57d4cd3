/**
 * `moat demo` (what `npm start` runs): Moat on embedded defaults in front of the built-in demo
 * model, with a fresh demo key, so that a newcomer sees a protected model answer at once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { validateConfig } from '../../config/load.js';
import { DEMO_MODEL, startDemoUpstream } from '../../demo/server.js';
import { createGateway } from '../../server/gateway.js';
import { DEFAULT_DATA_DIR, parseIntArg } from '../common.js';
import { closeOnSignals, listenOrExplain } from './serve.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run Moat with no configuration in front of a built-in demo model (DEMO ONLY)')
    .option('--port <n>', 'gateway port (default $MOAT_PORT or 8080)', parseIntArg('--port'))
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .action(async (o: { port?: number; dataDir: string }) => {
      const upstream = await startDemoUpstream();
      const port = o.port ?? (process.env.MOAT_PORT ? Number(process.env.MOAT_PORT) : 8080);
      const cfg = validateConfig({ dataDir: o.dataDir, server: { port }, models: { [DEMO_MODEL]: { upstream: { baseURL: upstream.baseURL }, ownedBy: 'moat-demo' } } });
      const gw = await createGateway(cfg);
      let baseURL: string;
      try {
        baseURL = await listenOrExplain(gw);
      } catch (e) {
        await upstream.close();
        throw e;
      }
      closeOnSignals(gw, upstream.close);

      // A fresh demo key each start; earlier demo keys are revoked so that old copies stop working.
      for (const k of await gw.keys.store.listKeys('demo')) if (!k.revokedAt && k.label === 'demo') await gw.keys.store.revokeKey(k.id);
      const { key } = await gw.keys.create({ principal: 'demo', tenant: 'demo', roles: ['user'], label: 'demo' });
      const demoFile = join(cfg.dataDir, 'demo.json');
      writeFileSync(demoFile, JSON.stringify({ baseURL, apiKey: key }, null, 2) + '\n', { mode: 0o600 });

      process.stdout.write(
        [
          '',
          `Moat is running at ${baseURL}`,
          `It protects '${DEMO_MODEL}', a tiny built-in DEMO model (not a real LLM) at ${upstream.baseURL}.`,
          '',
          `Demo API key: ${key}`,
          `(also written to ${demoFile})`,
          '',
          'Try it:',
          `  curl -s ${baseURL}/chat/completions -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\`,
          `    -d '{"model": "${DEMO_MODEL}", "messages": [{"role": "user", "content": "Tell me about the castle"}]}'`,
          '',
          'Without the key the same call gets 401; with "logit_bias" it gets 400; "logprobs" never reach you.',
          'Press Ctrl+C to stop.',
          '',
        ].join('\n'),
      );
    });
}
