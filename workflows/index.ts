// The workflow bundle's entry: every workflow type the workers serve.
export { retrainWorkflow } from './retrain';
export { continualLearningWorkflow } from './continual';
export { rolloutWorkflow } from './rollout';
export { freshnessExperimentWorkflow } from './freshness';
export { artifactSweepWorkflow } from './sweep';
export { monitoringWorkflow } from './monitoring';
