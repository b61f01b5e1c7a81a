// Stage-4 trigger rules and the dependency graph, as plain functions.
import { describe, expect, it } from 'vitest';
import { cascadePlan, dependantsInOrder, findCycle, type DependantInfo } from '../../lifecycle/dependencies';
import { admitRetrain, performanceSignal, timeSignal, triggerReason, volumeSignal } from '../../lifecycle/triggers';

const HOUR = 3_600_000;

describe('trigger signals', () => {
  it('time fires once the last training is as old as the interval', () => {
    expect(timeSignal(10 * HOUR, 9 * HOUR, 2 * HOUR)).toMatchObject({ fired: false, value: HOUR, threshold: 2 * HOUR });
    expect(timeSignal(10 * HOUR, 8 * HOUR, 2 * HOUR).fired).toBe(true);
    expect(timeSignal(10 * HOUR, null, 2 * HOUR)).toMatchObject({ fired: true, detail: 'no trained version yet' });
  });

  it('volume fires on every N rows or on +N% of the last training window, whichever comes first', () => {
    expect(volumeSignal(511, 10_000, { everyRows: 512 }).fired).toBe(false);
    expect(volumeSignal(512, 10_000, { everyRows: 512 })).toMatchObject({ fired: true, threshold: 512 });
    expect(volumeSignal(400, 2_000, { percentNew: 20 })).toMatchObject({ fired: true, threshold: 400 });
    expect(volumeSignal(400, 2_000, { percentNew: 25, everyRows: 1000 })).toMatchObject({ fired: false, threshold: 500 });
  });

  it('performance compares in the metric direction and stays quiet without enough labels', () => {
    expect(performanceSignal('auc', 0.71, 0.75, 500).fired).toBe(true);
    expect(performanceSignal('auc', 0.8, 0.75, 500).fired).toBe(false);
    expect(performanceSignal('log_loss', 0.52, 0.5, 500).fired).toBe(true);
    expect(performanceSignal('auc', null, 0.75, 12)).toMatchObject({ fired: false, detail: 'not enough labelled rows to score the champion (12)' });
  });

  it('names every fired kind in a stable order', () => {
    const fired = (kind: 'time' | 'volume' | 'drift') => ({ kind, fired: true, value: 1, threshold: 1, detail: '' });
    expect(triggerReason([fired('time'), fired('volume')])).toBe('volume+time');
    expect(triggerReason([{ ...fired('drift'), fired: false }])).toBeNull();
  });
});

describe('admitRetrain', () => {
  const fresh = { lastTriggeredMs: null, startedPerDay: {} };
  it('allows one retrain at a time, after the cooldown, within the daily budget', () => {
    expect(admitRetrain(fresh, 0, HOUR, 2, false).admit).toBe(true);
    expect(admitRetrain(fresh, 0, HOUR, 2, true)).toEqual({ admit: false, reason: 'a retrain of this model is already running' });
    expect(admitRetrain({ lastTriggeredMs: 0, startedPerDay: {} }, HOUR / 2, HOUR, 2, false)).toEqual({ admit: false, reason: 'cooldown: 1800 s left' });
    const day = new Date(5 * HOUR).toISOString().slice(0, 10);
    expect(admitRetrain({ lastTriggeredMs: 0, startedPerDay: { [day]: 2 } }, 5 * HOUR, HOUR, 2, false)).toEqual({ admit: false, reason: 'daily budget of 2 retrains used' });
  });
});

describe('dependencies', () => {
  const graph = new Map([
    ['emb', []],
    ['ranker', ['emb']],
    ['reranker', ['ranker', 'emb']],
    ['other', []],
  ]);
  it('orders dependants upstream first, transitively, and only the affected ones', () => {
    expect(dependantsInOrder(graph, 'emb')).toEqual(['ranker', 'reranker']);
    expect(dependantsInOrder(graph, 'ranker')).toEqual(['reranker']);
    expect(dependantsInOrder(graph, 'other')).toEqual([]);
  });
  it('finds a cycle and names its path', () => {
    expect(findCycle(graph)).toBeNull();
    expect(findCycle(new Map([...graph, ['emb', ['reranker']]]))).toEqual(['emb', 'reranker', 'ranker', 'emb']);
  });

  describe('cascadePlan: what a new champion acts on now', () => {
    const stages = (map: Record<string, number>, upstreamOff: string[] = []) => (name: string): DependantInfo => ({
      stage: map[name] ?? 1,
      followsUpstream: (map[name] ?? 1) === 4 && !upstreamOff.includes(name),
    });
    const chain = new Map([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
      ['d', ['c']],
    ]);

    it('without stage-4 dependants, is every dependant upstream first', () => {
      expect(cascadePlan(graph, 'emb', stages({}))).toEqual([
        { name: 'ranker', stage: 1 },
        { name: 'reranker', stage: 1 },
      ]);
      expect(cascadePlan(chain, 'a', stages({ b: 2, c: 3 }))).toEqual([
        { name: 'b', stage: 2 },
        { name: 'c', stage: 3 },
        { name: 'd', stage: 1 },
      ]);
    });

    it('a → b (stage 4) → c → d: b is signalled; c and d wait for b’s own promotion to cascade to them', () => {
      expect(cascadePlan(chain, 'a', stages({ b: 4 }))).toEqual([{ name: 'b', stage: 4 }]);
      // b's own promotion: c and d follow it now.
      expect(cascadePlan(chain, 'b', stages({ b: 4 }))).toEqual([
        { name: 'c', stage: 1 },
        { name: 'd', stage: 1 },
      ]);
    });

    it('a dependant that also depends on the promoted model directly still waits for the stage-4 one', () => {
      // emb → ranker (stage 4) → reranker, and emb → reranker.
      expect(cascadePlan(graph, 'emb', stages({ ranker: 4 }))).toEqual([{ name: 'ranker', stage: 4 }]);
      // Only the direct path: reranker follows emb now.
      const direct = new Map([...graph, ['reranker', ['emb']]]);
      expect(cascadePlan(direct, 'emb', stages({ ranker: 4 }))).toEqual([
        { name: 'ranker', stage: 4 },
        { name: 'reranker', stage: 1 },
      ]);
    });

    it('a stage-4 model below another stage-4 one is signalled by that one’s cascade, not now', () => {
      expect(cascadePlan(chain, 'a', stages({ b: 4, c: 4 }))).toEqual([{ name: 'b', stage: 4 }]);
      expect(cascadePlan(chain, 'b', stages({ b: 4, c: 4 }))).toEqual([{ name: 'c', stage: 4 }]);
      expect(cascadePlan(chain, 'c', stages({ b: 4, c: 4 }))).toEqual([{ name: 'd', stage: 1 }]);
    });

    it('siblings not below the stage-4 model are retrained now', () => {
      // a → b (stage 4) → c; a → e → f; c also depends on e.
      const fan = new Map([
        ['a', []],
        ['b', ['a']],
        ['c', ['b', 'e']],
        ['e', ['a']],
        ['f', ['e']],
      ]);
      expect(cascadePlan(fan, 'a', stages({ b: 4 }))).toEqual([
        { name: 'b', stage: 4 },
        { name: 'e', stage: 1 },
        { name: 'f', stage: 1 },
      ]);
    });

    it('a stage-4 model with the upstream trigger off will not retrain, so it defers nothing', () => {
      expect(cascadePlan(chain, 'a', stages({ b: 4 }, ['b']))).toEqual([
        { name: 'b', stage: 4 },
        { name: 'c', stage: 1 },
        { name: 'd', stage: 1 },
      ]);
    });
  });
});
