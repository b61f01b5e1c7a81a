// The optional promotion gate of a backtest (--gate): the offline gate of the retrain DAG
// (evaluation/gate.ts judgeCandidate under the spec's evaluation rules), judging the candidate
// against the champion on the candidate dataset's validation split, as evaluateCandidate does
// (without the static test set, behavioural tests and budgets, which need the served artifact).
import { judgeCandidate } from '../../evaluation/gate';
import { predictTabular } from '../../ml/tabular/predict';
import type { ModelSpec } from '../../spec/model-spec';
import type { TrainedModel, WindowTraining } from './train-window';

export interface GateVerdict {
  promote: boolean;
  reason: string;
}

export function judgeBacktestCandidate(spec: ModelSpec, candidate: WindowTraining, champion: TrainedModel): GateVerdict {
  if (!candidate.validation) return { promote: false, reason: 'no validation rows to judge the candidate on' };
  if (spec.task !== 'binary_classification' && spec.task !== 'regression') return { promote: true, reason: `the gate does not judge ${spec.task}; promoted` };
  const { frame, labels } = candidate.validation;
  const card = judgeCandidate({
    spec: spec.evaluation,
    task: spec.task,
    labels,
    candidate: predictTabular(candidate.trained.model, frame),
    champion: predictTabular(champion.model, frame),
    // A fixed timestamp keeps the report card (and so the backtest) deterministic.
    now: new Date(0),
  });
  // needs_approval: nobody answers in a replay, so the spec's approval.onTimeout decides.
  const promote = card.decision === 'pass' || (card.decision === 'needs_approval' && card.approval.onTimeout === 'approve');
  return { promote, reason: `${card.decision}${card.reasons.length ? `: ${card.reasons.join('; ')}` : ''}` };
}
