// Stage-4 trigger rules and the dependency graph, as plain functions.
import { describe, expect, it } from 'vitest';
import { dependantsInOrder, findCycle } from '../../lifecycle/dependencies';
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
});
