/**
 * Sustained harvesting: evidence that accumulates over a principal's whole history, not a
 * 64-query window. Two leaky buckets count the requests made beyond what one person can
 * sustain (a CUSUM of the arrival rate against a human rate): each request adds one, time
 * drains `perHour` an hour from the fast bucket and `perDay` a day from the slow one, and
 * neither goes below zero. People work in sessions and sleep, so their buckets keep
 * emptying; a script that runs for hours, or around the clock, fills them. Extraction
 * needs exactly that: thousands of answers.
 *
 * Automated clients that are not harvesting (chat front-ends, agents) carry conversations:
 * their requests hold earlier assistant turns. The score is weighted by the share of
 * self-contained, single-turn requests, the shape of (prompt, answer) harvesting.
 * Pure logic, O(1) per request, a few numbers per principal.
 */
import type { HarvestTuning } from './schema.js';

const HOUR = 3_600_000;

function ramp(v: number, lo: number, hi: number): number {
  return hi === lo ? (v >= hi ? 1 : 0) : Math.max(0, Math.min(1, (v - lo) / (hi - lo)));
}

export class Pace {
  /** Requests beyond a person's hourly and daily pace, as leaky buckets. */
  fast = 0;
  slow = 0;
  /** The largest either bucket has held, for explanations. */
  peak = 0;
  private last = 0;
  /** Exponentially weighted share of single-turn requests (about the last 64). */
  single = 0;
  private seen = 0;

  /**
   * Counts one request at `ts`; `scale` multiplies the human pace (a cluster of k accounts
   * may sustain k people's pace).
   */
  add(ts: number, singleTurn: boolean, t: HarvestTuning, scale = 1): void {
    if (this.last > 0 && ts > this.last) {
      const hours = (ts - this.last) / HOUR;
      this.fast = Math.max(0, this.fast - hours * t.perHour * scale);
      this.slow = Math.max(0, this.slow - (hours * t.perDay * scale) / 24);
    }
    this.last = Math.max(this.last, ts);
    this.fast++;
    this.slow++;
    this.peak = Math.max(this.peak, this.fast, this.slow);
    this.seen++;
    this.single += ((singleTurn ? 1 : 0) - this.single) / Math.min(this.seen, 64);
  }

  /** Adds another pace's evidence to this one (accounts joining a cluster). */
  absorb(o: Pace | undefined): void {
    if (!o || o.seen === 0) return;
    this.fast += o.fast;
    this.slow += o.slow;
    this.peak = Math.max(this.peak, this.fast, this.slow);
    this.single = (this.single * this.seen + o.single * o.seen) / (this.seen + o.seen);
    this.seen += o.seen;
    this.last = Math.max(this.last, o.last);
  }

  /** Requests beyond a person's pace now (the larger bucket). */
  get excess(): number {
    return Math.max(this.fast, this.slow);
  }

  harvest(t: HarvestTuning): { value: number; score: number } {
    const value = this.excess;
    return { value, score: ramp(value, t.lo, t.hi) * ramp(this.single, t.singleTurn.lo, t.singleTurn.hi) };
  }

  describe(t: HarvestTuning): string {
    return `${Math.round(this.fast)} requests beyond ${t.perHour}/hour and ${Math.round(this.slow)} beyond ${t.perDay}/day now (peak ${Math.round(this.peak)}); ${Math.round(this.single * 100)}% single-turn`;
  }
}
