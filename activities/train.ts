// DAG step "train" (runs on the training task queue): runs the spec's trainer — a built-in
// TypeScript one or an external command — in a child process, heartbeating progress and the newest
// checkpoint every 2 s; a retry resumes from that checkpoint. Stateless by default; the workflow
// asks for a stateful (warm-started) update with the optional TrainRequestV2 fields.
//
// Retry/timeout policy the workflow sets (workflows/retrain.ts): maximumAttempts 3,
// scheduleToStart 30 min (no training worker polling is an outage), startToClose 2 h,
// heartbeatTimeout 2 min (a dead worker is noticed within 2 min; retries then resume from the
// last checkpoint). Bad data, invalid trainer settings, a trainer exiting 65, an unloadable
// model and a trainer timeout fail without retrying (nonRetryable on the failure itself).
import { trainWithTrainerProcess, type TrainActivityOptions } from '../training/activity';
import type { TrainedCandidateV2, TrainRequestV2 } from '../training/types';
import type { ActivityDeps } from './deps';
import { failFastOnPermanentStorageErrors } from './failures';
import { markStep } from './pipeline-run';

export function trainActivities(deps: ActivityDeps, options: TrainActivityOptions = {}) {
  return failFastOnPermanentStorageErrors({
    async trainCandidate(request: TrainRequestV2): Promise<TrainedCandidateV2> {
      return trainWithTrainerProcess({ store: deps.store, markStep: (id, step) => markStep(deps, id, step) }, request, options);
    },
  });
}
