// The data steps of the retrain DAG as one group, for the worker's activity registry:
// computeNaturalLabels → pullLabelledWindow → validateDataWindow → formDatasetSnapshot.
import { datasetActivities } from './dataset';
import type { ActivityDeps } from './deps';
import { labelActivities } from './labels';
import { pullActivities } from './pull';
import { validateActivities } from './validate';

export function dataActivities(deps: ActivityDeps) {
  return {
    ...labelActivities(deps),
    ...pullActivities(deps),
    ...validateActivities(deps),
    ...datasetActivities(deps),
  };
}

export type DataActivities = ReturnType<typeof dataActivities>;
