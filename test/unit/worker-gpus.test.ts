// The training worker's default slot count follows the host's GPUs (nvidia-smi -L), 1 without any.
import { describe, expect, it } from 'vitest';
import { countGpus, defaultTrainingSlots } from '../../worker/gpus';

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
