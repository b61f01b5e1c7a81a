// How many GPUs this host has, for the training worker's default concurrency: one training
// activity per GPU, so two trainers never share a device by accident. Asks `nvidia-smi -L` (one
// line per GPU); hosts without it, or where it fails, count as having none.
import { execFileSync } from 'node:child_process';

export function countGpus(run: () => string = () => execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] })): number {
  try {
    return run()
      .split('\n')
      .filter((line) => /^GPU \d+:/.test(line.trim())).length;
  } catch {
    return 0;
  }
}

/** The training slots to use when none were asked for: the GPU count, or 1 on a CPU-only host. */
export function defaultTrainingSlots(gpus: number = countGpus()): number {
  return gpus > 0 ? gpus : 1;
}
