// The staged window: rows written batch by batch into bounded part files read back exactly,
// missing values included.
import { describe, expect, it } from 'vitest';
import { allocateStaged, copyStaged, decodeStagedPart, StagedWindowWriter } from '../../datasets/staged-window';

describe('StagedWindowWriter', () => {
  it('splits rows into parts of bounded size and round-trips every column', async () => {
    const layout = { numeric: ['x'], categorical: ['c'] };
    const parts: Uint8Array[] = [];
    const writer = new StagedWindowWriter({
      layout,
      auxiliary: ['w'],
      batchRows: 4,
      partRows: 8,
      writePart: async (index, bytes) => {
        parts[index] = bytes;
        return `mem://part-${index}`;
      },
    });
    const n = 21;
    for (let i = 0; i < n; i++) {
      const b = writer.batch;
      const j = b.length;
      b.eventTimeMs[j] = 1000 + i;
      b.labelAvailableMs[j] = i % 2 ? Number.NaN : 2000 + i;
      b.entityIds.push(`e${i}`);
      b.numeric[0][j] = i === 5 ? Number.NaN : i / 2;
      b.categorical[0].push(i === 6 ? null : `v${i % 3}`);
      b.auxiliary[0][j] = i;
      b.labels[j] = i % 2;
      b.length++;
      if (b.full) await writer.flushBatch();
    }
    const { rows, parts: listed } = await writer.finish();
    expect(rows).toBe(n);
    expect(listed).toEqual([
      { uri: 'mem://part-0', rows: 8 },
      { uri: 'mem://part-1', rows: 8 },
      { uri: 'mem://part-2', rows: 5 },
    ]);
    const all = allocateStaged(n, layout, ['w']);
    let offset = 0;
    for (const bytes of parts) {
      const part = decodeStagedPart(bytes, layout, ['w']);
      copyStaged(all, part, offset);
      offset += part.eventTimeMs.length;
    }
    expect(Array.from(all.eventTimeMs)).toEqual(Array.from({ length: n }, (_, i) => 1000 + i));
    expect(all.numeric.x[5]).toBeNaN();
    expect(all.numeric.x[7]).toBe(3.5);
    expect(all.categorical.c[6]).toBeNull();
    expect(all.categorical.c[7]).toBe('v1');
    expect(all.labelAvailableMs[1]).toBeNaN();
    expect(all.labelAvailableMs[2]).toBe(2002);
    expect(all.entityIds[20]).toBe('e20');
    expect(Array.from(all.auxiliary.w)).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});
