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

/** The GPU ids trainers may use: the worker's own CUDA_VISIBLE_DEVICES when set (a host shared by several workers), else 0..count-1. */
export function visibleGpuIds(env: NodeJS.ProcessEnv = process.env, count: () => number = countGpus): string[] {
  const visible = env.CUDA_VISIBLE_DEVICES?.trim();
  if (visible !== undefined && visible !== '') return visible.split(',').map((id) => id.trim()).filter((id) => id !== '' && id !== '-1');
  return Array.from({ length: count() }, (_, i) => String(i));
}

export interface GpuLease {
  /** The value for the trainer's CUDA_VISIBLE_DEVICES: one GPU id. */
  readonly visibleDevices: string;
  release(): void;
}

/**
 * Hands each concurrent training attempt a GPU of its own: the least-used id (lowest first), so
 * with one slot per GPU no two trainers share a device, and with more slots than GPUs (an explicit
 * --training-slots) the load spreads evenly instead of piling onto GPU 0, where every trainer would
 * otherwise land.
 */
export class GpuPool {
  private readonly inUse: number[];

  constructor(readonly ids: readonly string[]) {
    if (ids.length === 0) throw new Error('a GPU pool needs at least one GPU id');
    this.inUse = ids.map(() => 0);
  }

  acquire(): GpuLease {
    let best = 0;
    for (let i = 1; i < this.ids.length; i++) if (this.inUse[i] < this.inUse[best]) best = i;
    this.inUse[best]++;
    let released = false;
    return {
      visibleDevices: this.ids[best],
      release: () => {
        if (released) return;
        released = true;
        this.inUse[best]--;
      },
    };
  }

  /** Attempts holding each GPU now, by id. */
  load(): Record<string, number> {
    return Object.fromEntries(this.ids.map((id, i) => [id, this.inUse[i]]));
  }
}
