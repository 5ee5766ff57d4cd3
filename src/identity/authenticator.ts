/**
 * Turns the credential of a request into an Identity: an API key (`moat_...`) or, when issuers
 * are configured, a JWT bearer token. Used by the pipeline, GET /v1/models and the admin API, so
 * that every entrance checks credentials the same way.
 *
 * Failed attempts are throttled per client address and key prefix (see auth-throttle.ts). The
 * hot path stays cheap: a credential that verified recently goes straight to the (cached)
 * verification, without touching the throttle's store.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MoatError } from '../errors.js';
import type { ApiKeys } from './api-keys.js';
import { keyPrefixOf, type AuthThrottle } from './auth-throttle.js';
import { presentedCredential } from './credentials.js';
import { KEY_PREFIX, isWellFormedKey } from './api-key.js';
import { looksLikeJwt, type JwtVerifier } from './jwt.js';
import type { Identity, KeyScope } from './types.js';

/** Failures that say "this credential is not good": they count toward the throttle. */
const COUNTED = new Set(['authentication_error']);
const countsAsFailure = (e: unknown) => e instanceof MoatError && COUNTED.has(e.type) && e.code !== 'MOAT_ERR_WRONG_KEY_SCOPE';

export class Authenticator {
  constructor(
    readonly keys: ApiKeys,
    private readonly jwt: JwtVerifier | null = null,
    private readonly throttle: AuthThrottle | null = null,
  ) {}

  /** Resolves the caller, or throws the MoatError (401, 429 or 503) that explains why not. */
  async authenticate(headers: IncomingHttpHeaders, sourceIp: string, scope: KeyScope): Promise<Identity> {
    const credential = await this.read(headers, sourceIp);
    if (credential.startsWith(KEY_PREFIX)) return this.apiKey(credential, sourceIp, scope);
    if (this.jwt && looksLikeJwt(credential)) return this.token(credential, sourceIp);
    return this.refuse(sourceIp, null, this.jwt ? new MoatError('MALFORMED_KEY') : new MoatError('INVALID_TOKEN', { detail: 'this gateway accepts only Moat API keys (moat_...), not JWTs' }));
  }

  private async read(headers: IncomingHttpHeaders, sourceIp: string): Promise<string> {
    try {
      return presentedCredential(headers);
    } catch (e) {
      return this.refuse(sourceIp, null, e);
    }
  }

  private async apiKey(key: string, sourceIp: string, scope: KeyScope): Promise<Identity> {
    if (!isWellFormedKey(key)) return this.refuse(sourceIp, null, new MoatError('MALFORMED_KEY'));
    const hash = this.keys.hash(key);
    if (!this.throttle || this.throttle.isKnownGood(hash)) return this.keys.verifyHash(hash, scope);
    const prefix = keyPrefixOf(key);
    await this.throttle.check(sourceIp, prefix);
    try {
      const id = await this.keys.verifyHash(hash, scope);
      this.throttle.markGood(hash);
      return id;
    } catch (e) {
      return this.refuse(sourceIp, prefix, e, true);
    }
  }

  private async token(token: string, sourceIp: string): Promise<Identity> {
    const jwt = this.jwt!;
    const hit = jwt.cached(token);
    if (hit) return hit;
    await this.throttle?.check(sourceIp, null);
    try {
      return await jwt.verify(token);
    } catch (e) {
      return this.refuse(sourceIp, null, e, true);
    }
  }

  /** Counts a failed attempt and rethrows it; a throttled address gets 429 instead of 401. */
  private async refuse(sourceIp: string, prefix: string | null, e: unknown, checked = false): Promise<never> {
    if (this.throttle && countsAsFailure(e)) {
      if (!checked) await this.throttle.check(sourceIp, prefix);
      await this.throttle.failed(sourceIp, prefix);
    }
    throw e;
  }

  /** Drops cached credentials so that changes made in this process are seen at once. */
  invalidate(): void {
    this.keys.invalidate();
    this.jwt?.invalidate();
  }
}
