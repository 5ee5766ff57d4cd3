/**
 * An upstream whose behaviour each test scripts: answer, fail, stall at a chosen point, and
 * record what it received and whether the request was aborted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  aborted: boolean;
}

export type Script = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export async function startScriptedUpstream(script: Script) {
  const received: Received[] = [];
  let current = script;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: Received = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), aborted: false };
      received.push(rec);
      res.on('close', () => {
        if (!res.writableFinished) rec.aborted = true;
      });
      current(req, res, rec.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    received,
    setScript(s: Script) {
      current = s;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export const chatAnswer = (content: string, extra: Record<string, unknown> = {}) => ({
  id: 'x',
  object: 'chat.completion',
  created: 0,
  model: 'upstream-internal-name',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: { content: [] } }],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  ...extra,
});
