// Sticky traffic assignment: a unit (user, session) always lands in the same bucket for the same
// experiment salt, on every replica and after every restart, because the bucket is a hash of
// (salt, unit id) and nothing else. Buckets below a threshold take the treatment, so raising a
// canary from 5% to 25% keeps every unit that was already in it.
import { createHash } from 'node:crypto';

/** Buckets per experiment: shares are honoured to 0.01%. */
export const BUCKETS = 10_000;

const TWO_POW_48 = 2 ** 48;

/** The unit's bucket in [0, BUCKETS) for this salt (48 bits of SHA-256, so buckets are uniform). */
export function assignmentBucket(salt: string, unitId: string): number {
  // A separator that cannot appear in either part keeps ("a", "bc") and ("ab", "c") apart.
  const digest = createHash('sha256').update(salt).update('\u0000').update(unitId).digest();
  return Math.floor((digest.readUIntBE(0, 6) / TWO_POW_48) * BUCKETS);
}

/** True when the bucket falls in the first `percent` percent of buckets. */
export function inFirstPercent(bucket: number, percent: number): boolean {
  return bucket < Math.round(percent * (BUCKETS / 100));
}

/** A 32-bit integer seed derived from a string (e.g. a request id) for seeded coin flips. */
export function seedFromString(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}
