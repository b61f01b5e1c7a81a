// Model spec validation: defaults filled in, every bad field named, equal specs hash equal.
import { describe, expect, it } from 'vitest';
import { cronProblem } from '../../spec/lifecycle-spec';
import { InvalidSpecError, parseModelSpec, specHash } from '../../spec/model-spec';

const minimal = { name: 'ctr', features: [{ name: 'a' }, { name: 'b', type: 'categorical' }] };

describe('parseModelSpec', () => {
  it('fills documented defaults and treats untyped features as numeric', () => {
    const spec = parseModelSpec(minimal);
    expect(spec.stage).toBe(1);
    expect(spec.features).toEqual([
      { name: 'a', type: 'numeric' },
      { name: 'b', type: 'categorical', maxCategories: 50 },
    ]);
    expect(spec.data).toMatchObject({ windowDays: 30, validationFraction: 0.2, minRows: 50 });
    expect(spec.evaluation).toMatchObject({ floors: {}, requireApproval: false, staticTestSet: { enabled: true, fraction: 0.1 } });
  });

  it('names each invalid field', () => {
    try {
      parseModelSpec({ name: '9lives', features: [{ name: 'a' }, { name: 'a' }], stage: 5, data: { validationFraction: 1.5 } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidSpecError);
      const problems = (error as InvalidSpecError).problems.join('\n');
      expect(problems).toContain('name: use lowercase letters');
      expect(problems).toContain('stage: stage must be 1, 2, 3 or 4 (1 manual, 2 scheduled, 3 scheduled and stateful, 4 continual)');
      expect(problems).not.toContain('Invalid input');
      expect(problems).toContain('data.validationFraction:');
      expect(problems).toContain('features[1].name: duplicate feature "a"');
    }
  });

  it('checks the evaluation rules against the task and the features at apply time', () => {
    const problemsOf = (evaluation: Record<string, unknown>, task = 'binary_classification'): string[] => {
      try {
        parseModelSpec({ ...minimal, task, ...(task === 'regression' ? { trainer: { type: 'mlp' } } : {}), evaluation });
        return [];
      } catch (error) {
        return (error as InvalidSpecError).problems;
      }
    };
    expect(problemsOf({ floors: { auc: 0.7 } }, 'regression')).toEqual(['evaluation.floors.auc: metric "auc" does not apply to regression; use one of mae, rmse']);
    expect(problemsOf({ slices: { features: ['region'], cohorts: [{ name: 'big', where: { feature: 'size', op: '>=', value: 3 } }] } })).toEqual([
      'evaluation.slices.features[0]: no feature "region" in the model (features: a, b)',
      'evaluation.slices.cohorts[0].where.feature: no feature "size" in the model (features: a, b)',
    ]);
    const behavioural = problemsOf({
      behavioural: [
        { kind: 'invariance', name: 'b_swap', feature: 'b', change: { swap: [0, 1] } },
        { kind: 'directional', name: 'b_up', feature: 'b', delta: 1, expect: 'non_decreasing' },
        { kind: 'invariance', name: 'c_set', feature: 'c', change: { setTo: 1 } },
      ],
    });
    expect(behavioural).toHaveLength(3);
    expect(behavioural[0]).toMatch(/^evaluation\.behavioural\[0\]\.change\.swap: feature "b" is categorical \(string values\) but swap gives the number\(s\) 0, 1/);
    expect(behavioural[1]).toMatch(/^evaluation\.behavioural\[1\]\.feature: "b" is categorical: a directional test adds delta to a numeric feature/);
    expect(behavioural[2]).toMatch(/^evaluation\.behavioural\[2\]\.feature: no feature "c" among the model's inputs/);
    // The same rules on fitting features and metrics pass.
    expect(problemsOf({ floors: { auc: 0.7 }, slices: { features: ['b'] }, behavioural: [{ kind: 'invariance', name: 'b_swap', feature: 'b', change: { swap: ['x', 'y'] } }] })).toEqual([]);
  });

  it('refuses unknown top-level fields', () => {
    expect(() => parseModelSpec({ ...minimal, shedule: '1d' })).toThrow(/shedule/);
  });

  it('hashes equal specs equally regardless of key order and explicit defaults', () => {
    const explicit = parseModelSpec({ features: minimal.features, name: 'ctr', stage: 1 });
    expect(specHash(explicit)).toBe(specHash(parseModelSpec(minimal)));
    expect(specHash(parseModelSpec({ ...minimal, stage: 2, schedule: { every: '1d' } }))).not.toBe(specHash(explicit));
  });

  it('asks each stage for its settings and refuses a dependency on itself', () => {
    expect(() => parseModelSpec({ ...minimal, stage: 2 })).toThrow('schedule: stage 2 runs on a schedule: add schedule.every (e.g. "1d") or schedule.cron');
    expect(() => parseModelSpec({ ...minimal, stage: 3, schedule: { every: '1d', cron: '0 3 * * *' } })).toThrow('set exactly one of schedule.every');
    expect(() => parseModelSpec({ ...minimal, stage: 4 })).toThrow('continual: stage 4 is trigger-driven');
    expect(() => parseModelSpec({ ...minimal, stage: 4, continual: { triggers: {} } })).toThrow('continual.triggers: declare at least one trigger');
    expect(parseModelSpec({ ...minimal, stage: 4, continual: { triggers: { volume: { everyRows: 512 } } } }).continual).toMatchObject({ checkEvery: '5m', cooldown: '30m', dailyBudget: 24 });
    expect(() => parseModelSpec({ ...minimal, dependsOn: ['ctr'] })).toThrow('dependsOn: a model cannot depend on itself ("ctr")');
    expect(() => parseModelSpec({ ...minimal, task: 'multiclass' })).toThrow('task: multiclass: the trainers support it');
  });

  describe('schedule.cron', () => {
    const problemsOf = (schedule: Record<string, unknown>): string[] => {
      try {
        parseModelSpec({ ...minimal, stage: 2, schedule });
        return [];
      } catch (error) {
        return (error as InvalidSpecError).problems;
      }
    };

    // Each accepted expression was also accepted by the Temporal dev server's schedule cron, and each
    // refused one that Temporal parses is refused there too (checked with `temporal server start-dev`).
    it.each(['0 3 * * *', '*/15 * * * *', '0 3 * * MON-FRI', '0 3 * jan,Feb sun', '0 3 1-31/2 * *', '0-59/7 0-23 1-31 1-12 0-7', '1,2,3 * * * *', '@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'])(
      'accepts %s',
      (cron) => {
        expect(cronProblem(cron)).toBeNull();
        expect(problemsOf({ cron })).toEqual([]);
      },
    );

    it.each([
      ['0 3 * *', '4 fields, not 5'],
      ['0 0 3 * * *', '6 fields, not 5'],
      ['bogus', '1 field, not 5'],
      ['61 * * * *', 'minute "61" is outside 0-59'],
      ['0 25 * * *', 'hour "25" is outside 0-23'],
      ['0 3 0 * *', 'day-of-month "0" is outside 1-31'],
      ['0 3 * 13 *', 'month "13" is outside 1-12'],
      ['0 3 * * 8', 'day-of-week "8" is outside 0-7'],
      ['5-1 * * * *', 'minute range "5-1" ends before it starts'],
      ['0 3 * * sat-sun', 'day-of-week range "sat-sun" ends before it starts'],
      ['0 3 ? * *', 'day-of-month "?" is not a number, range, step or list'],
      ['0 3 L * *', 'day-of-month "L" is not a number, range, step or list'],
      ['*/0 * * * *', 'minute "*/0" is not a number, range, step or list'],
      ['@reboot', 'unknown name @reboot'],
      ['@DAILY', 'write @daily in lowercase'],
      ['@every 1h', '@every is not a cron name: use schedule.every'],
    ])('refuses %s (%s), naming the field and the fix', (cron, problem) => {
      expect(cronProblem(cron)).toContain(problem);
      const problems = problemsOf({ cron });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`schedule.cron: "${cron}" is not a valid cron expression (${problem}`);
      expect(problems[0]).toContain('use 5 fields "minute hour day-of-month month day-of-week" in UTC, e.g. "0 3 * * *"');
      expect(problems[0]).toContain('@daily');
    });

    it('refuses what Temporal refuses on an interval: offset not shorter than every, an interval under 1s, offset with cron', () => {
      expect(problemsOf({ every: '1h', offset: '30m' })).toEqual([]);
      expect(problemsOf({ every: '1h', offset: '1h' })).toEqual(['schedule.offset: "1h" must be shorter than schedule.every ("1h"), e.g. every "1d" at offset "3h"']);
      expect(problemsOf({ every: '0.5s' })).toEqual(['schedule.every: "0.5s" is shorter than Temporal\'s smallest interval: use at least "1s"']);
      expect(problemsOf({ cron: '0 3 * * *', offset: '1h' })).toEqual(['schedule.offset: offset shifts schedule.every; with schedule.cron put the time in the expression (e.g. "0 3 * * *") and remove offset']);
    });
  });

  it('refuses a stage-4 performance metric that does not fit the task, naming the field and the metrics that do', () => {
    const problemsOf = (task: string, performance: Record<string, unknown>): string[] => {
      try {
        parseModelSpec({ ...minimal, task, ...(task === 'regression' ? { trainer: { type: 'mlp' } } : {}), stage: 4, continual: { triggers: { performance } } });
        return [];
      } catch (error) {
        return (error as InvalidSpecError).problems;
      }
    };
    // The default metric (auc) on a regressor.
    expect(problemsOf('regression', { bound: 0.5 })).toEqual(['continual.triggers.performance.metric: "auc" scores binary_classification models, not regression; use one of mae, rmse']);
    expect(problemsOf('regression', { metric: 'log_loss', bound: 0.5 })).toEqual(['continual.triggers.performance.metric: "log_loss" scores binary_classification models, not regression; use one of mae, rmse']);
    expect(problemsOf('binary_classification', { metric: 'rmse', bound: 0.5 })).toEqual([
      'continual.triggers.performance.metric: "rmse" scores regression models, not binary_classification; use one of auc, accuracy, log_loss',
    ]);
    expect(problemsOf('binary_classification', { metric: 'accuracy', bound: 0.7 })).toEqual([]);
    expect(problemsOf('regression', { metric: 'mae', bound: 3 })).toEqual([]);
  });
});
