// A seeded, deterministic CTR-like labelled history: the data source of the first retrain DAG,
// the demo and the tests. Later scenarios add drift, delayed outcomes and categorical features.
import { createRng } from '../ml/random';

export interface LabelledExample {
  entityId: string;
  eventTime: Date;
  features: Record<string, number | string>;
  label: number;
}

export interface CtrHistoryOptions {
  seed?: number;
  rows?: number;
  /** The history ends here (exclusive); default 2026-01-31T00:00Z so runs are reproducible. */
  end?: Date;
  days?: number;
  /** True weights of the logistic ground truth; their keys are the feature names. */
  weights?: Record<string, number>;
  bias?: number;
}

export const DEFAULT_CTR_WEIGHTS: Record<string, number> = {
  ad_relevance: 1.6,
  user_ctr_7d: 1.1,
  position: -0.9,
  hour_sin: 0.3,
};

export function generateCtrHistory(options: CtrHistoryOptions = {}): LabelledExample[] {
  const rng = createRng(options.seed ?? 7);
  const rows = options.rows ?? 2_000;
  const days = options.days ?? 30;
  const end = (options.end ?? new Date('2026-01-31T00:00:00Z')).getTime();
  const start = end - days * 86_400_000;
  const weights = options.weights ?? DEFAULT_CTR_WEIGHTS;
  const bias = options.bias ?? -0.4;
  const names = Object.keys(weights);
  const out: LabelledExample[] = [];
  for (let i = 0; i < rows; i++) {
    // Evenly spread, jittered event times keep every day of the window populated.
    const t = start + ((i + rng.next()) / rows) * (end - start);
    const features: Record<string, number> = {};
    let logit = bias;
    for (const name of names) {
      const value = name === 'position' ? 1 + rng.nextInt(5) : rng.normal();
      features[name] = value;
      logit += weights[name] * (name === 'position' ? (value - 3) / 1.4 : value);
    }
    const label = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    out.push({ entityId: `user-${rng.nextInt(500)}`, eventTime: new Date(Math.floor(t)), features, label });
  }
  return out;
}
