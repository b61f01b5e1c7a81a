// The batched log writer: flushes by size and by time, keeps and retries a batch through database
// failures (an acknowledged row is never dropped for that), refuses rows past its cap, and isolates
// a row the database rejects as invalid without losing its neighbours.
import { describe, expect, it } from 'vitest';
import { BatchWriter } from '../../serving/batch-writer';

describe('BatchWriter', () => {
  it('writes in batches of maxBatch, and the remainder on the timer', async () => {
    const batches: number[][] = [];
    const w = new BatchWriter<number>({ name: 't', maxBatch: 4, flushMs: 20, write: async (rows) => void batches.push([...rows]) });
    for (let i = 0; i < 10; i++) w.offer(i);
    expect(await w.drain(2_000)).toBe(0);
    expect(batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batches.every((b) => b.length <= 4)).toBe(true);
    await w.close();
  });

  it('keeps a failed batch at the head and retries it until the database is back', async () => {
    let up = false;
    const written: number[] = [];
    const failures: string[] = [];
    const w = new BatchWriter<number>({
      name: 't',
      maxBatch: 3,
      flushMs: 5,
      retryMs: 5,
      maxRetryMs: 20,
      write: async (rows) => {
        if (!up) throw Object.assign(new Error('Connection terminated'), { code: 'ECONNRESET' });
        written.push(...rows);
      },
      events: { failed: (e) => failures.push(e.message) },
    });
    for (let i = 0; i < 7; i++) expect(w.offer(i)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(w.depth).toBe(7);
    expect(failures.length).toBeGreaterThan(1);
    up = true;
    expect(await w.drain(2_000)).toBe(0);
    expect(written).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await w.close();
  });

  it('refuses rows past its cap instead of accepting rows it might lose', async () => {
    const w = new BatchWriter<number>({ name: 't', maxQueued: 3, flushMs: 1_000, write: async () => {} });
    expect(w.offer(1, 2)).toBe(true);
    expect(w.offer(3, 4)).toBe(false);
    expect(w.offer(3)).toBe(true);
    expect(w.hasRoom()).toBe(false);
    await w.close();
    expect(w.offer(9)).toBe(false);
  });

  it('bisects a batch with an invalid row down to that row and drops only it', async () => {
    const written: number[] = [];
    const poisoned: string[] = [];
    const w = new BatchWriter<number>({
      name: 't',
      maxBatch: 8,
      flushMs: 5,
      write: async (rows) => {
        if (rows.includes(5)) throw Object.assign(new Error('invalid input syntax'), { code: '22P02' });
        written.push(...rows);
      },
      events: { poisoned: (e) => poisoned.push(e.message) },
    });
    for (let i = 0; i < 8; i++) w.offer(i);
    expect(await w.drain(2_000)).toBe(0);
    expect(written.sort()).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(poisoned).toEqual(['invalid input syntax']);
    expect(w.poisonedRows).toBe(1);
    await w.close();
  });
});
