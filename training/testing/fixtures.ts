// Test fixtures for training: seeded CTR-like dataset snapshots (Arrow IPC, as the dataset step
// writes them) and a model spec to train them with. Used by tests and the training benchmark.
import { encodeDataset, SPLIT_TRAIN, SPLIT_VALIDATION } from '../../datasets/snapshot';
import { createRng } from '../../ml/random';
import { parseModelSpec, type ModelSpec } from '../../spec/model-spec';

export const CTR_FEATURES = ['ad_relevance', 'user_ctr_7d', 'position', 'hour_sin'];

export interface SnapshotOptions {
  rows: number;
  seed: number;
  /** Event times start here and advance evenly over `days`. */
  startMs?: number;
  days?: number;
  validationFraction?: number;
  /** Adds a categorical "device" column (mobile / desktop / tablet) that shifts the click rate. */
  categorical?: boolean;
  /** Multiplies the true weights (drift between windows). */
  weightScale?: number;
}

/** An Arrow snapshot with a time-ordered train/validation split, labels from a known logistic model. */
export function ctrSnapshot(options: SnapshotOptions): Uint8Array {
  const rng = createRng(options.seed);
  const n = options.rows;
  const start = options.startMs ?? Date.UTC(2026, 0, 1);
  const span = (options.days ?? 30) * 86_400_000;
  const weights = [1.6, 1.1, -0.9, 0.3].map((w) => w * (options.weightScale ?? 1));
  const features: Record<string, Float64Array> = Object.fromEntries(CTR_FEATURES.map((f) => [f, new Float64Array(n)]));
  const device: string[] = [];
  const labels = new Float64Array(n);
  const eventTimeMs = new Float64Array(n);
  const split = new Int8Array(n);
  const cut = Math.round(n * (1 - (options.validationFraction ?? 0.2)));
  for (let i = 0; i < n; i++) {
    eventTimeMs[i] = Math.floor(start + ((i + 0.5) / n) * span);
    const position = 1 + rng.nextInt(5);
    const values = [rng.normal(), rng.normal(), position, Math.sin((2 * Math.PI * (eventTimeMs[i] % 86_400_000)) / 86_400_000)];
    CTR_FEATURES.forEach((f, j) => (features[f][i] = values[j]));
    let logit = -0.4 + weights[0] * values[0] + weights[1] * values[1] + weights[2] * ((position - 3) / 1.4) + weights[3] * values[3];
    if (options.categorical) {
      const d = rng.nextInt(3);
      device.push(['mobile', 'desktop', 'tablet'][d]);
      logit += [0.8, -0.6, 0][d];
    }
    labels[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    split[i] = i < cut ? SPLIT_TRAIN : SPLIT_VALIDATION;
  }
  return encodeDataset(
    { eventTimeMs, entityIds: Array.from({ length: n }, (_, i) => `user-${i % 97}`), features, categorical: options.categorical ? { device } : {}, labels, split },
    { numeric: CTR_FEATURES, categorical: options.categorical ? ['device'] : [] },
  );
}

/** A spec for the snapshots above with the given trainer section. */
export function ctrSpec(trainer: Record<string, unknown>, options: { categorical?: boolean; name?: string } = {}): ModelSpec {
  return parseModelSpec({
    name: options.name ?? 'ctr',
    features: [...CTR_FEATURES.map((name) => ({ name })), ...(options.categorical ? [{ name: 'device', type: 'categorical' }] : [])],
    trainer,
  });
}
