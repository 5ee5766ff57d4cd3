// Shared benchmark tools: start a server in its own process, and measure latency, throughput
// and time to first byte against it from this (load-generating) process.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { Pool } from 'undici';

/** Starts `node script ...args` and resolves with the JSON object it prints on its first line. */
export function startServer(script, args = []) {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ pid: child.pid, ...JSON.parse(buf.slice(0, nl)), stop: () => stop(child) });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/**
 * CPU time (ms) a process has used so far, all threads, from /proc (Linux; clock ticks of
 * 10 ms); null elsewhere. CPU per request is the figure that stays meaningful on a busy machine.
 */
export function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Sequential requests over one keep-alive connection; latency per request in microseconds. */
export async function latencyAtOne({ url, path, headers, body, requests }) {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 1 });
  const samples = [];
  try {
    for (let i = 0; i < requests; i++) {
      const t0 = process.hrtime.bigint();
      const r = await pool.request({ method: 'POST', path: u.pathname + path, headers, body });
      await r.body.arrayBuffer();
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode} from ${url}`);
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  } finally {
    await pool.close();
  }
  samples.sort((a, b) => a - b);
  return { p50_us: percentile(samples, 50), p99_us: percentile(samples, 99), n: samples.length };
}

/** Time to the first body byte of a streamed answer, sequential, in microseconds. */
export async function ttfbAtOne({ url, path, headers, body, requests }) {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: 1 });
  const samples = [];
  try {
    for (let i = 0; i < requests; i++) {
      const t0 = process.hrtime.bigint();
      const r = await pool.request({ method: 'POST', path: u.pathname + path, headers, body });
      let first = true;
      for await (const chunk of r.body) {
        if (first && chunk.length > 0) {
          samples.push(Number(process.hrtime.bigint() - t0) / 1000);
          first = false;
        }
      }
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode} from ${url}`);
    }
  } finally {
    await pool.close();
  }
  samples.sort((a, b) => a - b);
  return { p50_us: percentile(samples, 50), p99_us: percentile(samples, 99), n: samples.length };
}

/** Requests per second with `connections` concurrent keep-alive connections (autocannon). */
export function throughput({ url, path, headers, body, connections, seconds }) {
  return new Promise((resolve, reject) => {
    autocannon({ url: url + path, method: 'POST', headers, body, connections, duration: seconds, pipelining: 1 }, (err, r) => {
      if (err) return reject(err);
      if (r.non2xx > 0 || r.errors > 0) return reject(new Error(`${url}: ${r.non2xx} non-2xx and ${r.errors} errors during the load test`));
      resolve({ rps: r.requests.average, p50_ms: r.latency.p50, p99_ms: r.latency.p99, total: r.requests.total });
    });
  });
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
