/**
 * `moat serve`: runs the gateway from moat.yaml, or in quick mode in front of one upstream:
 * `moat serve --upstream http://127.0.0.1:8000/v1` protects every model it serves.
 */
import type { Command } from 'commander';
import { ConfigError, validateConfig } from '../../config/load.js';
import type { ConfigInput, MoatConfig } from '../../config/schema.js';
import { redisSchema } from '../../limits/schema.js';
import { createGateway, type Gateway } from '../../server/gateway.js';
import { Upstream, createPool } from '../../upstream/client.js';
import { CliError, collect, loadOptionalConfig, parseIntArg } from '../common.js';

export interface ServeOptions {
  config?: string;
  upstream?: string;
  model?: string[];
  host?: string;
  port?: number;
  dataDir?: string;
  watermark?: boolean;
  redis?: string;
}

/** Asks the upstream which models it serves (GET /models). */
export async function discoverModels(baseURL: string, apiKey?: string): Promise<string[]> {
  const cfg = validateConfig({ models: { probe: { upstream: { baseURL, ...(apiKey ? { apiKey } : {}) } } } }).models.probe!.upstream;
  const pool = createPool(new URL(baseURL).origin, cfg);
  try {
    const res = await new Upstream(pool, cfg).getJson('/models', AbortSignal.timeout(cfg.timeouts.connectMs));
    const data = (res.body as { data?: Array<{ id?: unknown }> } | null)?.data;
    if (res.status !== 200 || !Array.isArray(data)) throw new CliError(`the upstream did not list its models (GET /models answered ${res.status}); name them with --model`);
    const ids = data.map((m) => m.id).filter((id): id is string => typeof id === 'string');
    if (ids.length === 0) throw new CliError('the upstream lists no models; name them with --model');
    return ids;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot reach the upstream to list its models (${(e as Error).message}); check --upstream or name the models with --model`);
  } finally {
    await pool.close();
  }
}

/** Builds the configuration for quick mode from the command line. */
export async function quickConfig(o: ServeOptions, env = process.env): Promise<MoatConfig> {
  const baseURL = o.upstream!.replace(/\/+$/, '');
  const apiKey = env.MOAT_UPSTREAM_API_KEY || undefined;
  const names = o.model?.length ? o.model : await discoverModels(baseURL, apiKey);
  const input: ConfigInput = {
    server: { ...(o.host ? { host: o.host } : {}), ...(o.port !== undefined ? { port: o.port } : {}) },
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    models: Object.fromEntries(names.map((n) => [n, { upstream: { baseURL, ...(apiKey ? { apiKey } : {}) } }])),
  };
  try {
    return validateConfig(input, env);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`invalid options:\n  ${e.problems.join('\n  ')}`, 2);
    throw e;
  }
}

/** `--redis URL`: limits in Redis shared by every replica (other limits.redis settings keep their values). */
export function applyRedisOption(cfg: MoatConfig, url: string): void {
  const r = redisSchema.safeParse({ ...(cfg.limits.redis ?? {}), url });
  if (!r.success) throw new CliError(`--redis: ${r.error.issues[0]?.message ?? 'invalid URL'}`, 2);
  cfg.limits.store = 'redis';
  cfg.limits.redis = r.data;
}

export async function resolveServeConfig(o: ServeOptions): Promise<MoatConfig> {
  const cfg = await resolveBaseConfig(o);
  if (o.watermark) cfg.watermark.enabled = true;
  if (o.redis) applyRedisOption(cfg, o.redis);
  return cfg;
}

async function resolveBaseConfig(o: ServeOptions): Promise<MoatConfig> {
  if (o.upstream) {
    if (o.config) throw new CliError('use either --config or --upstream, not both');
    return quickConfig(o);
  }
  const cfg = loadOptionalConfig(o.config);
  if (!cfg) throw new CliError('no configuration: pass --upstream URL (quick mode), --config FILE, or create ./moat.yaml; `npm start` runs the demo', 2);
  if (o.host) cfg.server.host = o.host;
  if (o.port !== undefined) cfg.server.port = o.port;
  if (o.dataDir) cfg.dataDir = o.dataDir;
  return cfg;
}

/** Closes the gateway on SIGINT/SIGTERM, flushing the audit log first. */
export function closeOnSignals(gw: Gateway, extra?: () => Promise<void>): void {
  const stop = (sig: string) => {
    gw.log.info({ signal: sig }, 'shutting down');
    gw.close()
      .then(() => extra?.())
      .then(() => process.exit(0), (err) => {
        gw.log.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

export async function listenOrExplain(gw: Gateway): Promise<string> {
  try {
    return await gw.listen();
  } catch (e) {
    await gw.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`port ${gw.config.server.port} on ${gw.config.server.host} is in use; pick another with --port N`);
    if (code === 'EACCES') throw new CliError(`no permission to listen on port ${gw.config.server.port}; pick a port above 1023 with --port N`);
    throw e;
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the gateway (from moat.yaml, or quick mode with --upstream)')
    .option('-c, --config <file>', 'configuration file (default ./moat.yaml)')
    .option('--upstream <url>', 'quick mode: the OpenAI-compatible base URL to protect, e.g. http://127.0.0.1:8000/v1')
    .option('--model <name>', 'quick mode: a model to expose (repeatable; default: every model the upstream lists)', collect)
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <n>', 'port to listen on (default 8080)', parseIntArg('--port'))
    .option('--data-dir <dir>', 'where keys, audit log and secrets live (default ./.moat)')
    .option('--watermark', 'watermark every answer of every model with the caller tenant\'s key (see `moat watermark --help`)')
    .option('--redis <url>', 'keep limits in Redis shared by every replica, e.g. redis://127.0.0.1:6379')
    .action(async (o: ServeOptions) => {
      const cfg = await resolveServeConfig(o);
      const gw = await createGateway(cfg);
      const url = await listenOrExplain(gw);
      closeOnSignals(gw);
      gw.log.info({ url, models: Object.keys(cfg.models) }, 'moat is listening');
      process.stdout.write(`Moat is protecting ${Object.keys(cfg.models).join(', ')} at ${url}\nCreate a key with: npx moat keys create --principal NAME --data-dir ${cfg.dataDir}\n`);
    });
}
