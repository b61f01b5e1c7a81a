// Model spec validation: defaults filled in, every bad field named, equal specs hash equal.
import { describe, expect, it } from 'vitest';
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
      expect(problems).toContain('stage:');
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
});
