/** Shared test material: a fixed master secret and prose full of words from the synonym table. */
import { deriveKey } from '../../src/watermark/keys.js';

export const MASTER = Buffer.from('test-only-watermark-master-secret-0123456789', 'utf8');
export const keyOf = (tenant: string) => deriveKey(MASTER, 'tenant', tenant);

export const PROSE = [
  'We often use a large table to evaluate the main idea of a story.',
  'Researchers frequently begin by asking what will happen next, and they quickly calculate the risk.',
  'The film has a big theme: people especially want to buy a holiday home.',
  'To assess the purpose of the movie, start with its topic and emphasize its narrative.',
  'It usually takes about ten minutes, which is roughly what we expected.',
  'Therefore, the teacher will answer every question and respond to each effort immediately.',
  'Many writers utilize simple words; they essentially stress clarity and particularly avoid error.',
  'A vast country with a huge population needs a main road and a large store in every town.',
].join(' ');

export const MARKDOWN = `Here is a large example.

\`\`\`python
# use a large buffer
big = use(large)
\`\`\`

Call \`use(big)\` and visit https://example.com/large/use for the main docs.
He said "we use a large house" and left. The Big Apple is large.

{"use": "large", "big": true}
- Start with a big step, then use it often.
`;
