/**
 * Verification of a whole audit log, pure: the hash chain, the indexed columns against the
 * hashed record, the signed checkpoints, and retention. It names the first record that was
 * changed, removed or reordered:
 * - a record edited in place breaks its own hash; a column edited beside it disagrees with it;
 * - a removed record leaves a gap in the sequence; reordered records break the links;
 * - a stretch rewritten with recomputed hashes no longer matches the next signed checkpoint;
 * - records cut from the end leave a checkpoint that points past the last record;
 * - records removed from the start are allowed only through retention, which anchors the new
 *   first record on a signed checkpoint and logs a retention record naming it.
 * Records after the last checkpoint (at most one checkpoint interval) are reported as unsealed:
 * cutting those off is only visible against a checkpoint kept elsewhere.
 */
import type { KeyObject } from 'node:crypto';
import { GENESIS, chainHash } from './chain.js';
import { checkpointDigest, verifyCheckpoint, type Checkpoint } from './checkpoint.js';
import type { StoredRow } from './query.js';
import { adminRecord } from './admin-record.js';
import type { AuditRecord } from './record.js';

export const RETENTION_ACTION = 'audit.retention';

/** The record retention leaves in the chain: it names the checkpoint the log now starts after. */
export function retentionRecord(before: string, throughSeq: number, removed: number): AuditRecord {
  return adminRecord({ action: RETENTION_ACTION, actor: null, details: { before, throughSeq, removed }, outcome: 'ok', status: 200, sourceIp: 'local', requestId: `retention_${throughSeq}` });
}

export interface VerifyReport {
  ok: boolean;
  records: number;
  first_seq: number | null;
  last_seq: number | null;
  checkpoints: number;
  /** Highest sequence number covered by a signed checkpoint. */
  sealed_through: number | null;
  /** Records after the last checkpoint. */
  unsealed: number;
  first_bad_seq?: number;
  reason?: string;
}

interface Failure {
  seq: number;
  reason: string;
}

const COLUMNS = ['ts', 'kind', 'principal', 'tenant', 'model', 'route', 'outcome'] as const;

/**
 * Checks the checkpoints among themselves (signatures, links, order). Returns the valid prefix,
 * which alone is trusted to seal records, and the first problem after it.
 */
function checkCheckpoints(cps: readonly Checkpoint[], trusted: ReadonlyMap<string, KeyObject>): { valid: readonly Checkpoint[]; failure: Failure | null } {
  let prev = GENESIS;
  let seq = 0;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    let reason: string | null = null;
    if (!verifyCheckpoint(c, trusted)) {
      const why = trusted.has(c.keyId) ? 'its signature does not match' : `it is signed by key ${c.keyId}, which is not trusted (pass its public key with --public-key)`;
      reason = `the checkpoint at seq ${c.seq} is not valid: ${why}`;
    } else if (c.prev !== prev) reason = `the checkpoint before the one at seq ${c.seq} was removed or changed`;
    else if (c.seq < seq) reason = `the checkpoint at seq ${c.seq} is out of order`;
    if (reason) return { valid: cps.slice(0, i), failure: { seq: c.seq, reason } };
    prev = checkpointDigest(c);
    seq = c.seq;
  }
  return { valid: cps, failure: null };
}

export async function verifyLog(
  rows: Iterable<StoredRow> | AsyncIterable<StoredRow>,
  checkpoints: readonly Checkpoint[],
  trusted: ReadonlyMap<string, KeyObject>,
): Promise<VerifyReport> {
  const failures: Failure[] = [];
  const cps = checkCheckpoints(checkpoints, trusted);
  if (cps.failure) failures.push(cps.failure);
  const sealedAt = new Map<number, string>();
  for (const c of cps.valid) sealedAt.set(c.seq, c.hash);
  const maxSealed = cps.valid.reduce((m, c) => Math.max(m, c.seq), 0);

  let n = 0;
  let first: number | null = null;
  let last: number | null = null;
  let prev: string | null = null;
  let anchored = true;
  let lastMatched = 0;
  let retainedThrough = 0;
  let rowFailure: Failure | null = null;

  for await (const r of rows) {
    n++;
    let rec: AuditRecord | null = null;
    try {
      rec = JSON.parse(r.data) as AuditRecord;
    } catch {
      /* a broken record fails its hash check below */
    }
    if (rec?.kind === 'admin' && rec.route === `admin:${RETENTION_ACTION}` && typeof rec.params?.throughSeq === 'number') {
      retainedThrough = Math.max(retainedThrough, rec.params.throughSeq);
    }
    if (rowFailure) continue; // keep reading only for retention records
    if (first === null) {
      first = r.seq;
      lastMatched = r.seq - 1;
      if (r.seq === 1) prev = GENESIS;
      else {
        prev = sealedAt.get(r.seq - 1) ?? null;
        anchored = prev !== null;
      }
    } else if (r.seq !== last! + 1) {
      const expected = last! + 1;
      rowFailure = r.seq > expected ? { seq: expected, reason: `record ${expected} is missing` } : { seq: r.seq, reason: `record ${r.seq} is out of order` };
      continue;
    }
    if (prev !== null && r.prevHash !== prev) rowFailure = { seq: r.seq, reason: `record ${r.seq} does not link to the record before it (removed, inserted or reordered)` };
    else if (chainHash(r.prevHash, r.data) !== r.hash) rowFailure = { seq: r.seq, reason: `record ${r.seq} was changed after it was written` };
    else {
      const col = rec ? COLUMNS.find((c) => (rec[c] ?? null) !== (r[c] ?? null)) : undefined;
      if (col) rowFailure = { seq: r.seq, reason: `the ${col} column of record ${r.seq} was changed` };
      else if (sealedAt.has(r.seq) && sealedAt.get(r.seq) !== r.hash) {
        rowFailure = { seq: lastMatched + 1, reason: `records ${lastMatched + 1}..${r.seq} were rewritten: they no longer match the checkpoint signed at seq ${r.seq}` };
      } else if (sealedAt.has(r.seq)) lastMatched = r.seq;
    }
    prev = r.hash;
    last = r.seq;
  }

  if (rowFailure) failures.push(rowFailure);
  if (first !== null && first > 1) {
    if (retainedThrough < first - 1) failures.push({ seq: retainedThrough + 1, reason: `records ${retainedThrough + 1}..${first - 1} were removed without a retention record` });
    else if (!anchored) failures.push({ seq: first, reason: `record ${first} follows removed records but no signed checkpoint anchors it` });
  }
  const end = last ?? 0;
  if (!rowFailure && maxSealed > end) failures.push({ seq: end + 1, reason: `records ${end + 1}..${maxSealed} were removed from the end (a signed checkpoint covers seq ${maxSealed})` });

  const sealed = cps.valid.length ? maxSealed : null;
  const report: VerifyReport = {
    ok: failures.length === 0,
    records: n,
    first_seq: first,
    last_seq: last,
    checkpoints: checkpoints.length,
    sealed_through: sealed,
    unsealed: Math.max(0, end - (sealed ?? 0)),
  };
  if (failures.length) {
    const f = failures.reduce((a, b) => (b.seq < a.seq ? b : a));
    report.first_bad_seq = f.seq;
    report.reason = f.reason;
  }
  return report;
}
