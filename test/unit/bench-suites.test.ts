// The pure parts of the orchestration and scale suites: the worker-option overrides, the activity
// clock, the DAG/script step check, activity statistics and the scale settings from the environment.
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { ActivityClock, assertSameSteps, withWorkerOverrides } from '../../bench/suites/orchestration';
import { activityStats, DEFAULT_SETTINGS, describeSettings, settingsFromEnv, SWEEP, SWEEP_BASE } from '../../bench/suites/scale';

type Create = (options: WorkerOptions) => Promise<Worker>;
const target = Worker as unknown as { create: Create };
const realCreate = target.create;

afterEach(() => {
  target.create = realCreate;
});

describe('withWorkerOverrides', () => {
  it('merges workflow settings into workflow workers only, appends interceptors, and restores Worker.create', async () => {
    const seen: WorkerOptions[] = [];
    const stub: Create = async (options) => {
      seen.push(options);
      return {} as Worker;
    };
    target.create = stub;
    const existing = () => ({});
    const added = () => ({});
    await withWorkerOverrides({ workflow: { maxCachedWorkflows: 10, maxConcurrentWorkflowTaskExecutions: 4 }, activityInterceptors: [added] }, async () => {
      await Worker.create({ taskQueue: 'flywheel', workflowsPath: '/x.ts', maxConcurrentActivityTaskExecutions: 20, interceptors: { activity: [existing] } });
      await Worker.create({ taskQueue: 'flywheel-training', maxConcurrentActivityTaskExecutions: 2 });
    });
    expect(seen[0]).toMatchObject({ taskQueue: 'flywheel', maxCachedWorkflows: 10, maxConcurrentWorkflowTaskExecutions: 4, maxConcurrentActivityTaskExecutions: 20 });
    expect(seen[0].interceptors?.activity).toEqual([existing, added]);
    expect(seen[1].maxCachedWorkflows).toBeUndefined();
    expect(seen[1].interceptors?.activity).toEqual([added]);
    expect(target.create).toBe(stub);
  });

  it('restores Worker.create when the wrapped call throws', async () => {
    const stub: Create = async () => ({}) as Worker;
    target.create = stub;
    await expect(withWorkerOverrides({}, async () => Promise.reject(new Error('no server')))).rejects.toThrow('no server');
    expect(target.create).toBe(stub);
  });
});

describe('ActivityClock', () => {
  const ctx = (activityType: string, workflowId: string, attempt = 1) =>
    ({ info: { activityType, attempt, workflowExecution: { workflowId, runId: 'r' }, currentAttemptScheduledTimestampMs: Date.now() - 5 } }) as never;

  it('times each execution per workflow, with its attempt, outcome and queueing', async () => {
    const clock = new ActivityClock();
    const ok = clock.interceptor(ctx('pull', 'wf1')).inbound!.execute!({ args: [], headers: {} }, async () => {
      await new Promise((r) => setTimeout(r, 20));
      return 'done';
    });
    expect(await ok).toBe('done');
    const failing = clock.interceptor(ctx('train', 'wf1', 2)).inbound!.execute!({ args: [], headers: {} }, async () => Promise.reject(new Error('trainer crashed')));
    await expect(failing).rejects.toThrow('trainer crashed');
    const records = clock.records('wf1');
    expect(records.map((r) => [r.activity, r.attempt, r.ok])).toEqual([
      ['pull', 1, true],
      ['train', 2, false],
    ]);
    expect(records[0].ms).toBeGreaterThanOrEqual(15);
    expect(records[0].queuedMs).toBeGreaterThanOrEqual(5);
    expect(records[1].error).toBe('trainer crashed');
    expect(clock.records('other')).toEqual([]);
    expect(clock.all()).toHaveLength(2);
  });
});

describe('assertSameSteps', () => {
  it('passes when the script runs the DAG’s activities in its order, and names both lists otherwise', () => {
    expect(() => assertSameSteps(['a', 'b'], ['a', 'b'])).not.toThrow();
    expect(() => assertSameSteps(['a', 'b', 'c'], ['a', 'b'])).toThrow(/out of step.*the DAG ran \[a, b, c\], the script \[a, b\]/);
    expect(() => assertSameSteps(['a', 'b'], ['b', 'a'])).toThrow(/out of step/);
  });
});

describe('scale settings and statistics', () => {
  it('reads overrides from FLYWHEEL_BENCH_SCALE and refuses unknown or bad ones', () => {
    expect(settingsFromEnv({})).toEqual(DEFAULT_SETTINGS);
    expect(settingsFromEnv({ FLYWHEEL_BENCH_SCALE: '{"trainingSlots":4,"maxCachedWorkflows":10}' })).toEqual({ ...DEFAULT_SETTINGS, trainingSlots: 4, maxCachedWorkflows: 10 });
    expect(() => settingsFromEnv({ FLYWHEEL_BENCH_SCALE: '{"slots":4}' })).toThrow(/unknown setting "slots"/);
    expect(() => settingsFromEnv({ FLYWHEEL_BENCH_SCALE: '{"poolSize":-1}' })).toThrow(/poolSize must be a non-negative integer/);
    expect(() => settingsFromEnv({ FLYWHEEL_BENCH_SCALE: 'trainingSlots=4' })).toThrow(/not JSON/);
  });

  it('describes settings, and the sweep varies one knob at a time from its base (two where the label joins two with +)', () => {
    expect(describeSettings({ trainingSlots: 2, activitySlots: 20, poolSize: 10 })).toBe('training slots 2, activity slots 20, PG pool 10, workflow-task slots default (40), cached workflows default');
    for (const { label, settings } of SWEEP.slice(1)) {
      const changed = (Object.keys(settings) as Array<keyof typeof settings>).filter((k) => settings[k] !== SWEEP_BASE[k]);
      expect(changed.length, label).toBeLessThanOrEqual(label.split(' + ').length);
    }
  });

  it('summarises activity records per type: executions, failures, retries, median and p95 times', () => {
    const rec = (activity: string, ms: number, extra: object = {}) => ({ activity, ms, attempt: 1, ok: true, queuedMs: ms / 10, ...extra });
    const stats = activityStats([rec('train', 100), rec('train', 300), rec('train', 200, { ok: false, error: 'pool timeout' }), rec('train', 250, { attempt: 2 }), rec('pull', 5)]);
    expect(stats.train).toMatchObject({ executions: 4, failedAttempts: 1, retried: 1, medianMs: 200, p95Ms: 300, medianQueuedMs: 20, errors: ['pool timeout'] });
    expect(stats.pull).toMatchObject({ executions: 1, medianMs: 5, p95Ms: 5, failedAttempts: 0 });
  });
});
