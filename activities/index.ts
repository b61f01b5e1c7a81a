// All activities, grouped by DAG step, bound to their dependencies. The worker registers
// `orchestrationActivities` on the default queue and `trainingActivities` on the training queue.
import type { ActivityDeps } from './deps';
import { dataActivities } from './data-activities';
import { dependantActivities } from './dependants';
import { evaluateActivities } from './evaluate';
import { failFastOnPermanentStorageErrors } from './failures';
import { heartbeatWhileRunning } from './heartbeat';
import { freshnessActivities } from './freshness';
import { monitoringActivities } from './monitoring';
import { pipelineRunActivities } from './pipeline-run';
import { planActivities } from './plan';
import { registerActivities } from './register';
import { reportActivities } from './reports';
import { rolloutActivities } from './rollout';
import { sweeperActivities } from './sweeper';
import { testSetActivities } from './test-set';
import { trainActivities } from './train';
import { triggerActivities } from './triggers';

export function orchestrationActivities(deps: ActivityDeps) {
  return failFastOnPermanentStorageErrors({
    // These report progress (and resume details) themselves.
    ...dataActivities(deps),
    ...monitoringActivities(deps),
    ...freshnessActivities(deps),
    ...heartbeatWhileRunning({
      ...pipelineRunActivities(deps),
      ...planActivities(deps),
      ...evaluateActivities(deps),
      ...registerActivities(deps),
      ...triggerActivities(deps),
      ...dependantActivities(deps),
      ...testSetActivities(deps),
      ...reportActivities(deps),
      ...rolloutActivities(deps),
      ...sweeperActivities(deps),
    }),
  });
}

export function trainingActivities(deps: ActivityDeps) {
  return trainActivities(deps);
}

export type OrchestrationActivities = ReturnType<typeof orchestrationActivities>;
export type TrainingActivities = ReturnType<typeof trainingActivities>;
export type { ActivityDeps } from './deps';
