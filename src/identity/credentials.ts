/**
 * Reads the credential a client presented. Only `Authorization: Bearer` and `X-API-Key` count;
 * identity never comes from any other header.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MoatError } from '../errors.js';

/** Longest credential read at all; anything longer is malformed (keeps hashing bounded). */
export const MAX_CREDENTIAL_LENGTH = 8192;

export function presentedCredential(headers: IncomingHttpHeaders): string {
  const auth = headers.authorization?.trim();
  let cred: string | undefined;
  if (auth) {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    if (!m) throw new MoatError('MALFORMED_KEY');
    cred = m[1];
  } else {
    const x = headers['x-api-key'];
    cred = Array.isArray(x) ? x[0] : x;
    if (cred !== undefined) cred = cred.trim();
  }
  if (cred === undefined || cred === '') throw new MoatError('MISSING_CREDENTIALS');
  if (cred.length > MAX_CREDENTIAL_LENGTH) throw new MoatError('MALFORMED_KEY');
  return cred;
}
