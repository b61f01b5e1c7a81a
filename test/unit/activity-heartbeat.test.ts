// heartbeatWhileRunning: an activity with no progress of its own still heartbeats while it runs
// (so a heartbeat timeout means a dead worker, not a long evaluation), and stops when it ends.
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { heartbeatWhileRunning } from '../../activities/heartbeat';

describe('heartbeatWhileRunning', () => {
  it('heartbeats on a timer while the activity runs, passes its result and errors through, and stops afterwards', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const activities = heartbeatWhileRunning(
      {
        slow: async (ms: number) => {
          await new Promise((r) => setTimeout(r, ms));
          return ms * 2;
        },
        broken: async () => {
          throw new Error('evaluation failed');
        },
      },
      20,
    );
    expect(await env.run(activities.slow, 230)).toBe(460);
    // ~11 beats in 230 ms at 20 ms; timers on a busy machine may fire late, never early.
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats.length).toBeLessThanOrEqual(12);
    expect(beats[0]).toEqual({ alive: 'slow' });
    const afterEnd = beats.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(beats.length).toBe(afterEnd);
    await expect(env.run(activities.broken)).rejects.toThrow('evaluation failed');
  });
});
