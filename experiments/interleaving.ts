// Team-draft interleaving (Radlinski, Kurup & Joachims, 2008) of two rankers' lists, click
// attribution to the team that contributed each clicked item, and the preference test over many
// impressions. At every position an item is equally likely to come from either ranker, which is
// what makes the comparison fair.
import { binomialTest } from './binomial';

export type Team = 'A' | 'B';

export interface InterleavedItem {
  id: string;
  team: Team;
}

/**
 * Merges two rankings of item ids. Each round the team with fewer picks (a fair coin on a tie)
 * adds its highest-ranked item not yet shown. Stops when either ranking has nothing new left, or
 * at `length` items. `coin()` returns true for "A picks first"; seed it per request to replay.
 */
export function teamDraftInterleave(rankingA: readonly string[], rankingB: readonly string[], coin: () => boolean, length = Infinity): InterleavedItem[] {
  const shown = new Set<string>();
  const out: InterleavedItem[] = [];
  let countA = 0;
  let countB = 0;
  let nextA = 0;
  let nextB = 0;
  const advance = (ranking: readonly string[], from: number): number => {
    let i = from;
    while (i < ranking.length && shown.has(ranking[i])) i++;
    return i;
  };
  while (out.length < length) {
    nextA = advance(rankingA, nextA);
    nextB = advance(rankingB, nextB);
    if (nextA >= rankingA.length || nextB >= rankingB.length) break;
    const aPicks = countA < countB || (countA === countB && coin());
    const id = aPicks ? rankingA[nextA] : rankingB[nextB];
    shown.add(id);
    out.push({ id, team: aPicks ? 'A' : 'B' });
    if (aPicks) countA++;
    else countB++;
  }
  return out;
}

export interface ClickCredit {
  clicksA: number;
  clicksB: number;
  /** The team with more clicked items on this impression; tie when equal (including no clicks). */
  winner: Team | 'tie';
}

/** Credits each clicked item to the team that placed it; clicks on items not in the list are ignored. */
export function attributeClicks(list: readonly InterleavedItem[], clickedIds: Iterable<string>): ClickCredit {
  const teamOf = new Map(list.map((item) => [item.id, item.team]));
  const seen = new Set<string>();
  let clicksA = 0;
  let clicksB = 0;
  for (const id of clickedIds) {
    if (seen.has(id)) continue; // a double click on one item is one preference signal
    seen.add(id);
    const team = teamOf.get(id);
    if (team === 'A') clicksA++;
    else if (team === 'B') clicksB++;
  }
  return { clicksA, clicksB, winner: clicksA > clicksB ? 'A' : clicksB > clicksA ? 'B' : 'tie' };
}

export interface PreferenceResult {
  winsA: number;
  winsB: number;
  ties: number;
  /** Δ_AB = (winsB + ties/2) / impressions − 0.5: > 0 means B (the candidate) is preferred. */
  deltaB: number;
  /** Two-sided exact sign test of winsB against winsA (ties excluded). */
  pValue: number;
  preferred: Team | 'none';
}

/** Aggregates per-impression winners into a preference and its sign test. */
export function interleavingPreference(winsA: number, winsB: number, ties: number, alpha = 0.05): PreferenceResult {
  for (const [name, v] of [['winsA', winsA], ['winsB', winsB], ['ties', ties]] as const) {
    if (!(Number.isInteger(v) && v >= 0)) throw new RangeError(`interleavingPreference: ${name} must be a non-negative integer, got ${v}`);
  }
  const impressions = winsA + winsB + ties;
  const deltaB = impressions ? (winsB + ties / 2) / impressions - 0.5 : 0;
  const pValue = binomialTest(winsB, winsA + winsB, 0.5);
  const preferred = pValue < alpha ? (winsB > winsA ? 'B' : 'A') : 'none';
  return { winsA, winsB, ties, deltaB, pValue, preferred };
}
