// The stateless/stateful decision of stages 1-3 and the version numbering of the v1 → v1.1 → v1.2 chain.
import { describe, expect, it } from 'vitest';
import { nextVersionNumbers, planTraining, type ChampionFacts, type PlanInputs } from '../../lifecycle/training-plan';

const champion: ChampionFacts = {
  versionId: 'ctr@v1.2',
  version: 'v1.2',
  architectureHash: 'arch-a',
  artifactUri: 'file:///m.onnx',
  checkpointUri: 'file:///m.ckpt',
  highWaterMark: '2026-01-30T23:59:00.000Z',
  samplesSeen: 12_000,
  statefulChainLength: 2,
};
const base: PlanInputs = { stage: 3, architectureHash: 'arch-a', recalibrateEvery: 7, champion, trainerSupportsWarmStart: true };

describe('planTraining', () => {
  it('stage 3 with a compatible champion warm-starts on data after its high-water mark', () => {
    expect(planTraining(base)).toEqual({
      mode: 'stateful',
      iteration: 'data',
      parentVersionId: 'ctr@v1.2',
      parentArtifactUri: 'file:///m.onnx',
      parentCheckpointUri: 'file:///m.ckpt',
      dataSince: '2026-01-30T23:59:00.000Z',
      parentSamplesSeen: 12_000,
      reason: 'stateful update of ctr@v1.2 on data after 2026-01-30T23:59:00.000Z',
    });
  });

  it('stages 1 and 2 always train from scratch, as a data iteration of the same architecture', () => {
    for (const stage of [1, 2]) {
      const plan = planTraining({ ...base, stage });
      expect(plan).toMatchObject({ mode: 'stateless', iteration: 'data', parentVersionId: 'ctr@v1.2', dataSince: null });
      expect(plan.reason).toBe(`stage ${stage} retrains from scratch`);
    }
  });

  it('a changed architecture (model iteration) forces stateless', () => {
    const plan = planTraining({ ...base, architectureHash: 'arch-b' });
    expect(plan).toMatchObject({ mode: 'stateless', iteration: 'model', parentArtifactUri: null });
    expect(plan.reason).toBe('model iteration: features or architecture changed since ctr@v1.2');
  });

  it('recalibrates with a full retrain every N stateful updates', () => {
    expect(planTraining({ ...base, recalibrateEvery: 3 }).mode).toBe('stateful');
    const plan = planTraining({ ...base, recalibrateEvery: 2 });
    expect(plan.mode).toBe('stateless');
    expect(plan.reason).toContain('periodic recalibration: 2 stateful updates');
  });

  it('a full retrain that was not promoted postpones the next recalibration: stateful updates go on for recalibrateEvery more', () => {
    const due = { ...champion, statefulChainLength: 7 };
    expect(planTraining({ ...base, champion: due }).mode).toBe('stateless');
    const postponed = planTraining({ ...base, champion: { ...due, statefulUpdatesSinceFailedRecalibration: 0 } });
    expect(postponed).toMatchObject({ mode: 'stateful', parentVersionId: 'ctr@v1.2', dataSince: '2026-01-30T23:59:00.000Z' });
    expect(postponed.reason).toContain('recalibration postponed: the last full retrain was not promoted; 0 stateful update(s) since, of 7 before the next');
    expect(planTraining({ ...base, champion: { ...due, statefulUpdatesSinceFailedRecalibration: 6 } }).mode).toBe('stateful');
    const again = planTraining({ ...base, champion: { ...due, statefulUpdatesSinceFailedRecalibration: 7 } });
    expect(again.mode).toBe('stateless');
    expect(again.reason).toBe('periodic recalibration: 7 stateful updates since the last full retrain (7 since the last one that failed) (stateful.recalibrateEvery = 7)');
    // Model iteration still forces a full retrain at once.
    expect(planTraining({ ...base, architectureHash: 'arch-b', champion: { ...due, statefulUpdatesSinceFailedRecalibration: 0 } }).mode).toBe('stateless');
  });

  it('the first version, and a requested full retrain, are stateless', () => {
    expect(planTraining({ ...base, champion: null })).toMatchObject({ mode: 'stateless', iteration: 'model', parentVersionId: null });
    expect(planTraining({ ...base, forceStateless: true }).reason).toBe('full retrain requested');
    expect(planTraining({ ...base, requestedMode: 'stateless' })).toMatchObject({ mode: 'stateless', reason: 'full retrain requested' });
  });

  it('a requested stateful run warm-starts below stage 3, but never past the rules that force a full retrain', () => {
    expect(planTraining({ ...base, stage: 1, requestedMode: 'stateful' })).toMatchObject({
      mode: 'stateful',
      parentVersionId: 'ctr@v1.2',
      dataSince: '2026-01-30T23:59:00.000Z',
      reason: 'requested stateful update of ctr@v1.2 on data after 2026-01-30T23:59:00.000Z',
    });
    expect(planTraining({ ...base, requestedMode: 'stateful' }).reason).toBe('stateful update of ctr@v1.2 on data after 2026-01-30T23:59:00.000Z');
    expect(planTraining({ ...base, stage: 1, requestedMode: 'stateful', champion: null }).mode).toBe('stateless');
    expect(planTraining({ ...base, stage: 1, requestedMode: 'stateful', architectureHash: 'arch-b' }).reason).toContain('model iteration');
    expect(planTraining({ ...base, stage: 1, requestedMode: 'stateful', recalibrateEvery: 2 }).reason).toContain('periodic recalibration');
  });
});

describe('nextVersionNumbers', () => {
  it('stateless bumps the major; stateful adds a minor under its parent', () => {
    expect(nextVersionNumbers('stateless', 0, null)).toEqual({ major: 1, minor: 0, label: 'v1' });
    expect(nextVersionNumbers('stateful', 1, { major: 1, maxMinorUnderMajor: 0 })).toEqual({ major: 1, minor: 1, label: 'v1.1' });
    expect(nextVersionNumbers('stateful', 1, { major: 1, maxMinorUnderMajor: 1 })).toEqual({ major: 1, minor: 2, label: 'v1.2' });
    expect(nextVersionNumbers('stateless', 1, null)).toEqual({ major: 2, minor: 0, label: 'v2' });
  });
});
