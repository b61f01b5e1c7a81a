// The training worker's default slot count follows the host's GPUs (nvidia-smi -L), 1 without any.
import { describe, expect, it } from 'vitest';
import { countGpus, defaultTrainingSlots, GpuPool, visibleGpuIds } from '../../worker/gpus';

describe('GPU count for training slots', () => {
  it('counts the GPU lines nvidia-smi -L prints, and treats a missing or failing nvidia-smi as none', () => {
    const h200x2 = 'GPU 0: NVIDIA H200 (UUID: GPU-6f1c)\nGPU 1: NVIDIA H200 (UUID: GPU-9a2e)\n';
    expect(countGpus(() => h200x2)).toBe(2);
    expect(countGpus(() => 'GPU 0: NVIDIA H200 (UUID: GPU-6f1c)\n  MIG 3g.71gb Device 0: (UUID: MIG-1)\n')).toBe(1);
    expect(
      countGpus(() => {
        throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
      }),
    ).toBe(0);
    expect(countGpus(() => '')).toBe(0);
  });

  it('defaults to one training slot per GPU, and one on a CPU-only host', () => {
    expect(defaultTrainingSlots(4)).toBe(4);
    expect(defaultTrainingSlots(0)).toBe(1);
  });
});

describe('GPU leases for concurrent trainers', () => {
  it('lists the GPUs a worker may use: its CUDA_VISIBLE_DEVICES when set, else every GPU nvidia-smi counts', () => {
    expect(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '2,3' }, () => 8)).toEqual(['2', '3']);
    expect(visibleGpuIds({}, () => 2)).toEqual(['0', '1']);
    expect(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '-1' }, () => 2)).toEqual([]);
    expect(visibleGpuIds({}, () => 0)).toEqual([]);
  });

  it('gives concurrent attempts different GPUs, reuses a released one, and spreads extra slots evenly', () => {
    const pool = new GpuPool(['0', '1']);
    const a = pool.acquire();
    const b = pool.acquire();
    expect([a.visibleDevices, b.visibleDevices]).toEqual(['0', '1']);
    a.release();
    a.release(); // releasing twice frees the GPU once
    expect(pool.load()).toEqual({ '0': 0, '1': 1 });
    const c = pool.acquire();
    expect(c.visibleDevices).toBe('0');
    // A third concurrent attempt (more slots than GPUs) shares the least-loaded GPU, not always GPU 0.
    const d = pool.acquire();
    const e = pool.acquire();
    expect(pool.load()).toEqual({ '0': 2, '1': 2 });
    expect([d.visibleDevices, e.visibleDevices].sort()).toEqual(['0', '1']);
  });
});
