/**
 * Turns the credential of a request into an Identity: an API key (`moat_...`) or, when issuers
 * are configured, a JWT bearer token. Used by the pipeline, GET /v1/models and the admin API, so
 * that every entrance checks credentials the same way.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ApiKeys } from './api-keys.js';
import { presentedCredential } from './credentials.js';
import type { Identity, KeyScope } from './types.js';

export class Authenticator {
  constructor(readonly keys: ApiKeys) {}

  /** Resolves the caller, or throws the MoatError (401/429/503) that explains why not. */
  async authenticate(headers: IncomingHttpHeaders, _sourceIp: string, scope: KeyScope): Promise<Identity> {
    return this.keys.verify(presentedCredential(headers), scope);
  }
}
