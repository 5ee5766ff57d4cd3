// `npm run bench:audit` part 3: what a hard kill (SIGKILL, kill -9) of the gateway loses from the
// audit log. Moat runs in its own process under load; at a random moment it is killed; then every
// request the client saw answered (by its x-request-id) is looked up in the log. Reports how many
// answered requests have no record, how long before the kill they were answered, and whether the
// log still verifies. Writes bench/results/audit-kill.json.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { SqliteAuditStore } from '../dist/audit/sqlite-store.js';
import { trustedKeys } from '../dist/audit/signing-key.js';
import { verifyLog } from '../dist/audit/verify.js';
import { startServer } from './lib/harness.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const TRIALS = Number(process.env.MOAT_BENCH_TRIALS ?? 5);
const CONNECTIONS = 16;
const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Describe the castle.' }], max_tokens: 16 });

function startMoat(upstreamUrl, dataDir) {
  const child = spawn(process.execPath, [here('./servers/moat.js'), upstreamUrl, '--audit', 'on', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ ...JSON.parse(buf.slice(0, nl)), child });
    });
    child.once('exit', (code) => reject(new Error(`moat exited with ${code}`)));
  });
}

async function trial(upstreamUrl) {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-kill-'));
  const moat = await startMoat(upstreamUrl, dataDir);
  const u = new URL(moat.url);
  const pool = new Pool(u.origin, { connections: CONNECTIONS });
  const answered = new Map(); // request id -> time answered
  let running = true;
  const worker = async () => {
    while (running) {
      try {
        const r = await pool.request({ method: 'POST', path: u.pathname + '/chat/completions', headers: { 'content-type': 'application/json', authorization: `Bearer ${moat.key}` }, body });
        await r.body.arrayBuffer();
        if (r.statusCode === 200) answered.set(String(r.headers['x-request-id']), performance.now());
      } catch {
        return; // the gateway is gone
      }
    }
  };
  const workers = Array.from({ length: CONNECTIONS }, worker);
  await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1500));
  const exited = new Promise((r) => moat.child.once('exit', r));
  const killedAt = performance.now();
  moat.child.kill('SIGKILL');
  await exited;
  running = false;
  await Promise.allSettled(workers);
  await pool.destroy();

  const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
  const logged = new Set(db.prepare('SELECT data FROM audit_log').all().map((r) => JSON.parse(r.data).requestId));
  db.close();
  const lost = [...answered].filter(([id]) => !logged.has(id));
  const store = new SqliteAuditStore(join(dataDir, 'audit.db'));
  const report = await verifyLog(store.rows(), store.checkpoints(), trustedKeys([join(dataDir, 'audit-signing.pub')]));
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
  return {
    answered: answered.size,
    logged: logged.size,
    lost: lost.length,
    oldest_lost_ms_before_kill: lost.length ? Math.max(...lost.map(([, t]) => killedAt - t)) : 0,
    verifies: report.ok,
    unsealed: report.unsealed,
  };
}

const upstream = await startServer(here('./servers/static-upstream.js'));
const trials = [];
try {
  for (let i = 0; i < TRIALS; i++) trials.push(await trial(upstream.url));
} finally {
  await upstream.stop();
}
const summary = {
  trials: TRIALS,
  flush_ms: 50,
  max_lost_records: Math.max(...trials.map((t) => t.lost)),
  max_lost_window_ms: Math.max(...trials.map((t) => t.oldest_lost_ms_before_kill)),
  all_verify: trials.every((t) => t.verifies),
};
for (const t of trials) console.log(`answered ${t.answered}, logged ${t.logged}, answered but not logged ${t.lost} (oldest ${t.oldest_lost_ms_before_kill.toFixed(1)} ms before the kill), log verifies: ${t.verifies} (${t.unsealed} unsealed)`);
console.log(`kill -9 lost at most ${summary.max_lost_records} records, all answered within ${summary.max_lost_window_ms.toFixed(1)} ms before the kill (flush every ${summary.flush_ms} ms); the log verified after every kill: ${summary.all_verify}`);
mkdirSync(here('./results'), { recursive: true });
writeFileSync(here('./results/audit-kill.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, summary, trials }, null, 2) + '\n');
console.log('wrote bench/results/audit-kill.json');
