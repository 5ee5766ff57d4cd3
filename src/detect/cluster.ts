/**
 * Cross-account (Sybil) linkage. Accounts that keep sending queries with the same template
 * keys or MinHash bands are linked; a shared source network lowers the evidence needed.
 * Linked accounts form clusters that the engine scores as one actor.
 *
 * Clusters merge by average linkage, not by any single link: two clusters join only when
 * at least half of the account pairs between them are linked. A plain union of every link
 * chains unrelated accounts (A shares a few keys with B, B with C, ...) into one large
 * cluster whose pooled evidence is diluted; a split attack links (nearly) every pair.
 * Memory is bounded: key, pair and neighbour tables are capped and forget their oldest entries.
 */
import { MINHASH_K, type QueryFeatures } from './features.js';
import { mix2 } from './hash.js';

/**
 * Distinct shared template keys needed to link two accounts; with a shared source network,
 * fewer. A key counts only once it has been seen with several different texts: two people
 * asking the same popular question share a prompt, not a template.
 */
export const LINK_EVIDENCE = 4;
export const LINK_EVIDENCE_SAME_NET = 2;
/** Share of the account pairs between two clusters that must be linked for them to merge. */
export const MERGE_DENSITY = 0.5;
/** Largest cluster: beyond it, nothing merges in (the pooled score stays cheap and specific). */
export const MAX_CLUSTER = 64;
const TEMPLATE_TEXTS = 3;
/** A key used by more accounts than this is public (a popular app's template), not a signal. */
const MAX_SHARERS = 24;
const MAX_KEYS = 200_000;
const MAX_PAIRS = 200_000;
const MAX_NEIGHBOURS = 256;
const BANDS = 4;

interface KeyEntry {
  principals: string[];
  /** Distinct texts (exact hashes) seen with this key, up to TEMPLATE_TEXTS. */
  texts: number[];
}

function bounded<K, V>(m: Map<K, V>, max: number): void {
  // Maps iterate in insertion order: dropping the first entries forgets the oldest.
  if (m.size <= max) return;
  let drop = m.size - max;
  for (const k of m.keys()) {
    if (drop-- <= 0) break;
    m.delete(k);
  }
}

const linkKeyBuf: number[] = [];

/** The keys of a query that can link accounts: template keys and MinHash bands of long enough prompts. */
export function linkKeys(f: QueryFeatures): number[] {
  const keys = linkKeyBuf;
  keys.length = 0;
  if (f.prefixKey) keys.push(mix2(f.prefixKey, 1));
  if (f.suffixKey) keys.push(mix2(f.suffixKey, 2));
  if (f.skeletonKey) keys.push(mix2(f.skeletonKey, 3));
  if (f.words >= 12) {
    const r = MINHASH_K / BANDS;
    for (let b = 0; b < BANDS; b++) {
      let h = 0xba0d + b;
      for (let k = 0; k < r; k++) h = mix2(h, f.minhash[b * r + k]!);
      keys.push(h);
    }
  }
  return keys;
}

/** A source network: the /24 of an IPv4 address, the /48 of an IPv6 address. */
export function networkOf(ip: string | undefined | null): string | null {
  if (!ip) return null;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  const dots = v4.lastIndexOf('.');
  if (dots > 0 && /^\d+\.\d+\.\d+\.\d+$/.test(v4)) return v4.slice(0, dots);
  if (ip.includes(':')) return ip.split(':').slice(0, 3).join(':');
  return null;
}

export class ClusterIndex {
  private readonly keys = new Map<number, KeyEntry>();
  private readonly pairs = new Map<string, number>();
  private readonly parent = new Map<string, string>();
  private readonly memberLists = new Map<string, string[]>();
  private readonly neighbours = new Map<string, Set<string>>();
  private readonly network = new Map<string, string>();
  /** Called when two clusters merge (with each side's members before the merge), so pooled state can follow the surviving root. */
  onMerge: ((keep: string, drop: string, keepMembers: readonly string[], dropMembers: readonly string[]) => void) | null = null;

  /**
   * Records one query; returns the cluster root when this query merged two clusters.
   * `suspect` says whether an account's own traffic already looks somewhat like extraction:
   * only suspects are linked, so honest users of one popular app never pool into an "actor".
   */
  observe(principal: string, f: QueryFeatures, ip: string | null | undefined, suspect: (p: string) => boolean): string | null {
    const net = networkOf(ip);
    if (net && this.network.get(principal) !== net) {
      this.network.set(principal, net);
      bounded(this.network, MAX_PAIRS);
    }
    let merged: string | null = null;
    for (const k of linkKeys(f)) {
      let e = this.keys.get(k);
      if (!e) {
        e = { principals: [], texts: [] };
        this.keys.set(k, e);
      } else {
        // Refresh recency so active keys are not forgotten.
        this.keys.delete(k);
        this.keys.set(k, e);
      }
      const wasTemplate = e.texts.length >= TEMPLATE_TEXTS;
      if (!wasTemplate && !e.texts.includes(f.exactKey)) e.texts.push(f.exactKey);
      const joined = !e.principals.includes(principal) && e.principals.length <= MAX_SHARERS;
      if (joined) e.principals.push(principal);
      if (e.texts.length < TEMPLATE_TEXTS || e.principals.length > MAX_SHARERS) continue;
      // Each (pair, key) counts once: when the key becomes a template, or when an account joins it.
      if (!wasTemplate) {
        for (let i = 0; i < e.principals.length; i++)
          for (let j = i + 1; j < e.principals.length; j++) if (suspect(e.principals[i]!) && suspect(e.principals[j]!)) merged = this.link(e.principals[i]!, e.principals[j]!) ?? merged;
      } else if (joined && suspect(principal)) {
        for (const other of e.principals) if (other !== principal && suspect(other)) merged = this.link(principal, other) ?? merged;
      }
    }
    bounded(this.keys, MAX_KEYS);
    return merged;
  }

  private link(a: string, b: string): string | null {
    const pk = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
    const c = (this.pairs.get(pk) ?? 0) + 1;
    this.pairs.delete(pk);
    this.pairs.set(pk, c);
    bounded(this.pairs, MAX_PAIRS);
    const netA = this.network.get(a);
    const need = netA && netA === this.network.get(b) ? LINK_EVIDENCE_SAME_NET : LINK_EVIDENCE;
    if (c !== need) return null;
    this.addNeighbour(a, b);
    this.addNeighbour(b, a);
    return this.tryMerge(this.root(a), this.root(b));
  }

  private addNeighbour(a: string, b: string): void {
    let s = this.neighbours.get(a);
    if (!s) {
      s = new Set();
      this.neighbours.set(a, s);
      bounded(this.neighbours, MAX_PAIRS);
    }
    if (s.size < MAX_NEIGHBOURS) s.add(b);
  }

  /** Merges two clusters when enough of the pairs between them are linked (average linkage). */
  private tryMerge(ra: string, rb: string): string | null {
    if (ra === rb) return null;
    const ma = this.members(ra);
    const mb = this.members(rb);
    if (ma.length + mb.length > MAX_CLUSTER) return null;
    const [small, otherRoot] = ma.length <= mb.length ? [ma, rb] : [mb, ra];
    let links = 0;
    for (const p of small) for (const q of this.neighbours.get(p) ?? []) if (this.root(q) === otherRoot) links++;
    if (links < Math.ceil(MERGE_DENSITY * ma.length * mb.length)) return null;
    // The lexicographically smaller root wins, so ids are stable whatever the arrival order.
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    const keepMembers = this.members(keep);
    const dropMembers = this.members(drop);
    this.parent.set(drop, keep);
    this.memberLists.set(keep, [...keepMembers, ...dropMembers]);
    this.memberLists.delete(drop);
    this.onMerge?.(keep, drop, keepMembers, dropMembers);
    return keep;
  }

  /** The cluster id of a principal (itself when alone). */
  root(p: string): string {
    let r = p;
    for (let hops = 0; hops < 64; hops++) {
      const up = this.parent.get(r);
      if (!up) break;
      r = up;
    }
    if (r !== p && this.parent.get(p) !== r) this.parent.set(p, r);
    return r;
  }

  /** Accounts in the cluster with this root. */
  size(root: string): number {
    return this.memberLists.get(root)?.length ?? 1;
  }

  /** Members of the cluster with this root (including the root). */
  members(root: string): readonly string[] {
    return this.memberLists.get(root) ?? [root];
  }

  /** Removes a principal from its cluster (the operator cleared it); the others stay linked. */
  detach(p: string): void {
    const root = this.root(p);
    const members = [...this.members(root)];
    for (const m of members) this.parent.delete(m);
    this.memberLists.delete(root);
    const rest = members.filter((m) => m !== p).sort();
    for (const m of rest.slice(1)) this.parent.set(m, rest[0]!);
    if (rest.length > 1) this.memberLists.set(rest[0]!, rest);
    for (const q of this.neighbours.get(p) ?? []) this.neighbours.get(q)?.delete(p);
    this.neighbours.delete(p);
    for (const k of [...this.pairs.keys()]) if (k.startsWith(p + '\u0000') || k.endsWith('\u0000' + p)) this.pairs.delete(k);
  }
}
