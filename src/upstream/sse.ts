/**
 * Server-Sent Events in and out. The decoder turns an upstream byte stream, split anywhere
 * (even inside a UTF-8 character or a line ending), into whole events; the encoder writes an
 * event back in the canonical `data: ...\n\n` framing so that stages can rewrite events one by
 * one without ever breaking the framing the client sees.
 *
 * @example
 *   const dec = new SseDecoder((ev) => console.log(ev.data));
 *   dec.feed(Buffer.from('data: {"a":1}\n'));
 *   dec.feed(Buffer.from('\n'));        // logs {"a":1}
 */
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';

export interface SseEvent {
  data: string;
  event?: string | undefined;
  id?: string | undefined;
}

export class SseDecoder {
  private readonly parser: EventSourceParser;
  private readonly utf8 = new TextDecoder('utf-8');

  constructor(onEvent: (ev: SseEvent) => void) {
    this.parser = createParser({
      onEvent: (m: EventSourceMessage) => onEvent({ data: m.data, event: m.event, id: m.id }),
    });
  }

  feed(chunk: Uint8Array): void {
    const text = this.utf8.decode(chunk, { stream: true });
    if (text) this.parser.feed(text);
  }

  /** Flushes a final event that the upstream did not terminate with a blank line. */
  end(): void {
    const rest = this.utf8.decode();
    if (rest) this.parser.feed(rest);
    this.parser.feed('\n\n');
  }
}

/** Serializes one event; multi-line data becomes several `data:` lines, as the spec requires. */
export function encodeSse(ev: SseEvent): string {
  let out = '';
  if (ev.event) out += `event: ${ev.event}\n`;
  if (ev.id) out += `id: ${ev.id}\n`;
  if (ev.data.indexOf('\n') === -1) return `${out}data: ${ev.data}\n\n`;
  for (const line of ev.data.split('\n')) out += `data: ${line}\n`;
  return out + '\n';
}
