// Decides how a run trains — stateless from scratch or stateful from the champion — from the
// model's stage and lineage: the heart of stages 1-3. Pure, so every rule is unit-tested.

export interface ChampionFacts {
  versionId: string;
  version: string;
  architectureHash: string | null;
  artifactUri: string;
  checkpointUri: string | null;
  highWaterMark: string;
  /** Samples the champion's weights have seen (lineage), for the stateful run's running total. */
  samplesSeen: number;
  /** Stateful updates in the champion's ancestry since the last stateless version. */
  statefulChainLength: number;
  /**
   * When a full retrain was tried after the champion's last one and did not become champion (the
   * gate rejected it, or it was rolled back): the stateful updates registered since that attempt.
   * Unset: no such attempt. Lets stateful updates go on after a failed recalibration instead of
   * retrying the full retrain on every run while the champion stops updating.
   */
  statefulUpdatesSinceFailedRecalibration?: number;
}

export interface PlanInputs {
  stage: number;
  architectureHash: string;
  recalibrateEvery: number;
  champion: ChampionFacts | null;
  /** A caller may insist on a full retrain (e.g. `flywheel retrain --full`). */
  forceStateless?: boolean;
  /**
   * A caller's requested mode (client `retrain({ mode })`, `flywheel retrain --mode`): 'stateless'
   * is a full retrain; 'stateful' warm-starts from the champion even below stage 3, still subject
   * to the rules that force a full retrain (no champion, model iteration, recalibration). Unset:
   * the stage decides.
   */
  requestedMode?: 'stateless' | 'stateful';
  /** Whether the spec's trainer can continue from a parent's weights. */
  trainerSupportsWarmStart: boolean;
}

export interface TrainingPlan {
  mode: 'stateless' | 'stateful';
  iteration: 'data' | 'model';
  parentVersionId: string | null;
  parentArtifactUri: string | null;
  parentCheckpointUri: string | null;
  /** Stateful runs train on rows after this instant only (the parent's high-water mark). */
  dataSince: string | null;
  parentSamplesSeen: number | null;
  reason: string;
}

function stateless(inputs: PlanInputs, reason: string): TrainingPlan {
  const sameArchitecture = inputs.champion?.architectureHash === inputs.architectureHash;
  return {
    mode: 'stateless',
    iteration: inputs.champion && sameArchitecture ? 'data' : 'model',
    // A stateless run still records what it replaces, so lineage reads as one line of versions.
    parentVersionId: inputs.champion?.versionId ?? null,
    parentArtifactUri: null,
    parentCheckpointUri: null,
    dataSince: null,
    parentSamplesSeen: null,
    reason,
  };
}

export function planTraining(inputs: PlanInputs): TrainingPlan {
  const { champion } = inputs;
  if (inputs.forceStateless || inputs.requestedMode === 'stateless') return stateless(inputs, 'full retrain requested');
  const requested = inputs.requestedMode === 'stateful';
  if (inputs.stage < 3 && !requested) return stateless(inputs, `stage ${inputs.stage} retrains from scratch`);
  if (!champion) return stateless(inputs, 'no champion yet: first version trains from scratch');
  if (champion.architectureHash !== inputs.architectureHash) {
    return stateless(inputs, `model iteration: features or architecture changed since ${champion.versionId}`);
  }
  if (!inputs.trainerSupportsWarmStart) return stateless(inputs, 'the trainer cannot warm-start');
  const sinceFailed = champion.statefulUpdatesSinceFailedRecalibration;
  if (champion.statefulChainLength >= inputs.recalibrateEvery && (sinceFailed === undefined || sinceFailed >= inputs.recalibrateEvery)) {
    const since = sinceFailed === undefined ? 'since the last full retrain' : `since the last full retrain (${sinceFailed} since the last one that failed)`;
    return stateless(inputs, `periodic recalibration: ${champion.statefulChainLength} stateful updates ${since} (stateful.recalibrateEvery = ${inputs.recalibrateEvery})`);
  }
  return {
    mode: 'stateful',
    iteration: 'data',
    parentVersionId: champion.versionId,
    parentArtifactUri: champion.artifactUri,
    parentCheckpointUri: champion.checkpointUri,
    dataSince: champion.highWaterMark,
    parentSamplesSeen: champion.samplesSeen,
    reason:
      `${requested && inputs.stage < 3 ? 'requested ' : ''}stateful update of ${champion.versionId} on data after ${champion.highWaterMark}` +
      (champion.statefulChainLength >= inputs.recalibrateEvery ? ` (recalibration postponed: the last full retrain was not promoted; ${sinceFailed} stateful update(s) since, of ${inputs.recalibrateEvery} before the next)` : ''),
  };
}

/** v3 + stateless → v4; v3.2 + stateful → v3.3 (minor counts updates on one full retrain). */
export function nextVersionNumbers(mode: 'stateless' | 'stateful', maxMajor: number, parent: { major: number; maxMinorUnderMajor: number } | null): { major: number; minor: number; label: string } {
  if (mode === 'stateful' && parent) {
    const minor = parent.maxMinorUnderMajor + 1;
    return { major: parent.major, minor, label: `v${parent.major}.${minor}` };
  }
  const major = maxMajor + 1;
  return { major, minor: 0, label: `v${major}` };
}
