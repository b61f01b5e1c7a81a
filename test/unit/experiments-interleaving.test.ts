// Team-draft interleaving: the merged list is a fair draft (balanced teams, no duplicates, each
// team's picks in its ranker's order), every position is equally likely to come from either
// ranker, clicks are credited to the team that placed the item, and the sign test prefers the
// ranker users click more.
import { describe, expect, it } from 'vitest';
import { seedFromString } from '../../experiments/assignment';
import { attributeClicks, interleavingPreference, teamDraftInterleave } from '../../experiments/interleaving';
import { createRng } from '../../ml/random';

const items = (n: number, prefix = 'i') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function shuffled(list: string[], seed: number): string[] {
  const rng = createRng(seed);
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('team-draft interleaving', () => {
  it('produces a fair draft of both rankings', () => {
    for (let seed = 0; seed < 200; seed++) {
      const a = shuffled(items(12), seed);
      const b = shuffled(items(12), seed + 1000);
      const rng = createRng(seed);
      const list = teamDraftInterleave(a, b, () => rng.next() < 0.5);
      expect(list).toHaveLength(12);
      expect(new Set(list.map((x) => x.id)).size).toBe(12);
      let countA = 0;
      let countB = 0;
      for (const item of list) {
        if (item.team === 'A') countA++;
        else countB++;
        expect(Math.abs(countA - countB)).toBeLessThanOrEqual(1);
      }
      // Each team's picks appear in its own ranker's relative order.
      const picksA = list.filter((x) => x.team === 'A').map((x) => a.indexOf(x.id));
      expect([...picksA].sort((x, y) => x - y)).toEqual(picksA);
    }
  });

  it('is equally likely to show either ranker at every position', () => {
    const a = items(6);
    const b = [...items(6)].reverse();
    const fromA = new Array(6).fill(0);
    const runs = 4000;
    for (let r = 0; r < runs; r++) {
      const rng = createRng(seedFromString(`req-${r}`));
      teamDraftInterleave(a, b, () => rng.next() < 0.5).forEach((item, pos) => {
        if (item.team === 'A') fromA[pos]++;
      });
    }
    for (const count of fromA) expect(Math.abs(count / runs - 0.5)).toBeLessThan(0.03);
  });

  it('stops at the requested length and when a ranking runs out of new items', () => {
    const rng = createRng(1);
    expect(teamDraftInterleave(items(10), items(10), () => rng.next() < 0.5, 4)).toHaveLength(4);
    expect(teamDraftInterleave(['x', 'y'], ['x', 'y', 'z'], () => true).map((x) => x.id)).toEqual(['x', 'y']);
    expect(teamDraftInterleave([], ['a'], () => true)).toEqual([]);
  });

  it('with identical rankings shows that ranking, whoever picks', () => {
    const rng = createRng(2);
    expect(teamDraftInterleave(items(8), items(8), () => rng.next() < 0.5).map((x) => x.id)).toEqual(items(8));
  });
});

describe('click attribution and the preference test', () => {
  const list = [
    { id: 'a', team: 'A' as const },
    { id: 'b', team: 'B' as const },
    { id: 'c', team: 'B' as const },
    { id: 'd', team: 'A' as const },
  ];

  it('credits clicks to the team that placed the item', () => {
    expect(attributeClicks(list, ['b', 'c', 'a'])).toEqual({ clicksA: 1, clicksB: 2, winner: 'B' });
    expect(attributeClicks(list, ['a', 'a', 'a', 'b'])).toEqual({ clicksA: 1, clicksB: 1, winner: 'tie' });
    expect(attributeClicks(list, ['zz'])).toEqual({ clicksA: 0, clicksB: 0, winner: 'tie' });
  });

  it('prefers the ranker users click more, and not when they are indifferent', () => {
    const better = interleavingPreference(40, 75, 30);
    expect(better.preferred).toBe('B');
    expect(better.deltaB).toBeCloseTo((75 + 15) / 145 - 0.5, 12);
    expect(interleavingPreference(75, 40, 30).preferred).toBe('A');
    const even = interleavingPreference(50, 55, 100);
    expect(even.preferred).toBe('none');
    expect(even.pValue).toBeGreaterThan(0.5);
    expect(() => interleavingPreference(-1, 2, 0)).toThrow(/winsA must be a non-negative integer/);
  });

  it('simulated users with a position-biased click model prefer the better ranker', () => {
    // Relevance is known; ranker B sorts by it, ranker A by noise. Users scan top-down with
    // examination probability 1/(1+pos) and click relevant items they examine.
    const rng = createRng(77);
    let winsA = 0;
    let winsB = 0;
    let ties = 0;
    for (let q = 0; q < 600; q++) {
      const relevance = items(10).map((id) => ({ id, rel: rng.next() }));
      const byRel = [...relevance].sort((x, y) => y.rel - x.rel).map((x) => x.id);
      const random = shuffled(items(10), q);
      const coin = createRng(seedFromString(`q${q}`));
      const shown = teamDraftInterleave(random, byRel, () => coin.next() < 0.5);
      const rel = new Map(relevance.map((x) => [x.id, x.rel]));
      const clicks = shown.filter((item, pos) => rng.next() < 1 / (1 + pos) && rng.next() < rel.get(item.id)!).map((x) => x.id);
      const credit = attributeClicks(shown, clicks);
      if (credit.winner === 'A') winsA++;
      else if (credit.winner === 'B') winsB++;
      else ties++;
    }
    const result = interleavingPreference(winsA, winsB, ties);
    expect(result.preferred).toBe('B');
    expect(result.pValue).toBeLessThan(1e-3);
  });
});
