#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('moat: the compiled CLI is missing; run `npm run build` (or `npm ci`) in the Moat checkout first.\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
