// Task queue names: orchestration and light activities on one, training on its own so only
// training (GPU) workers take it.
export const ORCHESTRATION_QUEUE = 'flywheel';
export const TRAINING_QUEUE = 'flywheel-training';
