/** Runs the built `moat` binary (bin/moat.js → dist/) as a user would. `npm test` builds first. */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MOAT_BIN = fileURLToPath(new URL('../../bin/moat.js', import.meta.url));

export function runMoat(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const r = spawnSync(process.execPath, [MOAT_BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a long-running `moat` command and resolves once `ready` matches its stdout. */
export async function startMoat(args: string[], ready: RegExp, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [MOAT_BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`moat ${args.join(' ')} did not become ready:\n${out}\n${err}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moat ${args.join(' ')} exited with ${code}:\n${out}\n${err}`));
    });
  });
  return {
    match,
    child,
    output: () => out,
    errors: () => err,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
