/**
 * A fixed-answer OpenAI-compatible upstream for watermark tests: it always answers `answer`,
 * whole or streamed in small pieces (cut inside words), on port 0.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startFixedUpstream(answer: string, pieceLength = 7): Promise<{ baseURL: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ object: 'list', data: [{ id: 'fixed', object: 'model', owned_by: 'test' }] }));
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: boolean; model: string };
      const chat = req.url!.endsWith('/chat/completions');
      const base = { id: 'cmpl-1', object: chat ? 'chat.completion' : 'text_completion', created: 1, model: body.model };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        const choice = chat ? { index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' } : { index: 0, text: answer, finish_reason: 'stop' };
        return res.end(JSON.stringify({ ...base, choices: [choice], usage: { prompt_tokens: 3, completion_tokens: 50, total_tokens: 53 } }));
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const ev = (choice: object) => `data: ${JSON.stringify({ ...base, object: chat ? 'chat.completion.chunk' : 'text_completion', choices: [choice] })}\n\n`;
      if (chat) res.write(ev({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }));
      for (let i = 0; i < answer.length; i += pieceLength) {
        const piece = answer.slice(i, i + pieceLength);
        res.write(ev(chat ? { index: 0, delta: { content: piece }, finish_reason: null } : { index: 0, text: piece, finish_reason: null }));
      }
      res.write(ev(chat ? { index: 0, delta: {}, finish_reason: 'stop' } : { index: 0, text: '', finish_reason: 'stop' }));
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { baseURL: `http://127.0.0.1:${port}/v1`, close: () => new Promise((r) => server.close(() => r())) };
}
