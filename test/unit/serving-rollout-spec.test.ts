// The rollout section of the model spec: defaults, every problem named with its path, and the
// plan (durations in ms, A/B sample size from the MDE and a baseline from the spec or the champion).
import { describe, expect, it } from 'vitest';
import { sampleSizeTwoMeans, sampleSizeTwoProportions } from '../../experiments/sample-size';
import { InvalidRolloutSpecError, parseRolloutSpec, planRollout } from '../../serving/rollout-spec';

const context = { rolloutId: 'rollout/m/m@v2#r', model: 'm', candidate: 'm@v2', champion: 'm@v1', baselines: {} };

describe('rollout spec', () => {
  it('defaults to shadow then a 5/25/50/100 canary', () => {
    const spec = parseRolloutSpec(undefined);
    expect(spec.phases.map((p) => p.kind)).toEqual(['shadow', 'canary']);
    const plan = planRollout(spec, context);
    expect(plan.phases[1]).toMatchObject({ kind: 'canary', steps: [5, 25, 50, 100], stepDurationMs: 900_000 });
    expect(plan.label).toEqual({ eventType: 'click', windowMs: 3_600_000 });
    expect(plan.checkIntervalMs).toBe(30_000);
  });

  it('takes the natural-label rule of the model spec unless it names its own', () => {
    expect(planRollout(parseRolloutSpec({}), { ...context, modelLabel: { eventType: 'purchase', window: '2h' } }).label).toEqual({ eventType: 'purchase', windowMs: 7_200_000 });
    expect(planRollout(parseRolloutSpec({ labelEvent: 'click', labelWindow: '5m' }), { ...context, modelLabel: { eventType: 'purchase', window: '2h' } }).label).toEqual({ eventType: 'click', windowMs: 300_000 });
  });

  it('names every problem with its path', () => {
    const problems = (input: unknown) => {
      try {
        parseRolloutSpec(input);
      } catch (error) {
        return (error as InvalidRolloutSpecError).problems;
      }
      return [];
    };
    expect(problems({ phases: [{ kind: 'canary', steps: [5, 5] }] })).toEqual(['rollout.phases[0].steps[1]: canary steps must increase: 5 follows 5']);
    expect(problems({ phases: [{ kind: 'shadow', minDuration: '2h', maxDuration: '1h' }] })).toEqual(['rollout.phases[0].maxDuration: maxDuration 1h is shorter than minDuration 2h']);
    expect(problems({ phases: [{ kind: 'canary', stepDuration: 'soon' }] })[0]).toMatch(/^rollout\.phases\[0\]\.stepDuration: use a positive number and a unit/);
    expect(problems({ phases: [{ kind: 'ab', treatmentPercent: 80 }] })[0]).toMatch(/^rollout\.phases\[0\]\.treatmentPercent:/);
    expect(problems({ phases: [{ kind: 'blue-green' }] })[0]).toMatch(/each phase needs "kind": "shadow", "canary", "ab" or "interleaving"/);
    expect(problems({ checkInterval: '1s', colour: 'red' })[0]).toMatch(/Unrecognized key: "colour"/);
  });

  it('sizes an A/B test from the MDE, with the baseline from the spec, the champion, or conservatively', () => {
    const spec = parseRolloutSpec({ phases: [{ kind: 'ab', metric: 'accuracy', mde: 0.03, alpha: 0.05, power: 0.9 }] });
    const measured = planRollout(spec, { ...context, baselines: { accuracy: { mean: 0.8, standardDeviation: 0.4, labelled: 5000 } } }).phases[0];
    if (measured.kind !== 'ab') throw new Error('expected ab');
    // The harder direction (towards 0.5) needs more units.
    expect(measured.settings.samplesPerArm).toBe(sampleSizeTwoProportions(0.8, -0.03, { alpha: 0.05, power: 0.9 }));
    expect(measured.baselineSource).toBe("champion's last 5000 labelled predictions");
    const blind = planRollout(spec, context).phases[0];
    if (blind.kind !== 'ab') throw new Error('expected ab');
    expect(blind.baseline).toBe(0.5);
    expect(blind.settings.samplesPerArm).toBeGreaterThan(measured.settings.samplesPerArm);
    const loss = parseRolloutSpec({ phases: [{ kind: 'ab', metric: 'log_loss', mde: 0.02, baseline: 0.6 }] });
    const planned = planRollout(loss, context).phases[0];
    if (planned.kind !== 'ab') throw new Error('expected ab');
    expect(planned.settings.samplesPerArm).toBe(sampleSizeTwoMeans(0.6, 0.02, { alpha: 0.05, power: 0.8 }));
    expect(() => planRollout(parseRolloutSpec({ phases: [{ kind: 'ab', metric: 'log_loss' }] }), context)).toThrow(/needs a standard deviation .* set baseline/);
  });
});
