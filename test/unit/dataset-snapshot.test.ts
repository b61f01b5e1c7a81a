// Dataset snapshots: the time split never leaks, and the Arrow encoding is deterministic so equal
// windows hash equally.
import { describe, expect, it } from 'vitest';
import { decodeDataset, encodeDataset, sha256Hex, type DatasetColumns } from '../../datasets/snapshot';
import { timeOrderedSplit } from '../../datasets/time-split';

describe('timeOrderedSplit', () => {
  it('puts the latest rows in validation, strictly later than training', () => {
    const times = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(timeOrderedSplit(times, 0.2)).toEqual({ trainRows: 8, validationRows: 2, cutoffMs: 9 });
  });

  it('never splits rows that share a timestamp', () => {
    const times = [1, 2, 3, 4, 5, 6, 7, 8, 8, 8];
    const split = timeOrderedSplit(times, 0.2);
    expect(split).toEqual({ trainRows: 7, validationRows: 3, cutoffMs: 8 });
    expect(times[split.trainRows - 1]).toBeLessThan(split.cutoffMs!);
  });

  it('refuses unsorted input', () => {
    expect(() => timeOrderedSplit([1, 3, 2], 0.3)).toThrow('rows must be sorted by time (row 2 is earlier than row 1)');
  });
});

describe('Arrow snapshot encoding', () => {
  const layout = { numeric: ['x'], categorical: ['country'] };
  const columns: DatasetColumns = {
    eventTimeMs: Float64Array.from([1000, 2000, 3000]),
    entityIds: ['u1', 'u2', 'u3'],
    features: { x: Float64Array.from([0.5, -1.25, 3]) },
    categorical: { country: ['fr', 'de', 'fr'] },
    labels: Float64Array.from([1, 0, 1]),
    split: Int8Array.from([0, 0, 1]),
  };

  it('round-trips every column', () => {
    const decoded = decodeDataset(encodeDataset(columns, layout), layout);
    expect(decoded).toEqual(columns);
  });

  it('is deterministic: the same rows give the same bytes and hash', () => {
    expect(sha256Hex(encodeDataset(columns, layout))).toBe(sha256Hex(encodeDataset(structuredClone(columns), layout)));
    const changed = { ...columns, labels: Float64Array.from([1, 0, 0]) };
    expect(sha256Hex(encodeDataset(changed, layout))).not.toBe(sha256Hex(encodeDataset(columns, layout)));
  });

  it('names a missing column', () => {
    expect(() => decodeDataset(encodeDataset(columns, layout), { numeric: ['x', 'y'], categorical: [] })).toThrow('dataset snapshot has no column "f_y"');
  });
});
