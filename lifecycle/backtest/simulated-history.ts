// Builds a labelled history from the drifting simulator (scenarios/simulator.ts generateDay): the
// same requests, features and true outcomes the simulator would log day by day, in time order,
// without a database. Seeded per day, so the same seed gives the same history.
import { generateDay, SIMULATOR_FEATURES, type DriftSpec } from '../../scenarios/simulator';
import type { FeatureSpec } from '../../spec/model-spec';
import { featureLayout } from '../../spec/feature-layout';
import { assertHistory, DAY_MS, type LabelledHistory } from './history';

export interface SimulatedHistoryOptions {
  days: number;
  rowsPerDay: number;
  seed: number;
  drift: DriftSpec[];
  /** Day 0 (UTC midnight); default 2026-01-01. */
  start?: string;
}

export const DEFAULT_SIMULATION_START = '2026-01-01T00:00:00.000Z';

/** The CTR task's features in spec form (the device category learns its vocabulary from data). */
export function simulatorFeatureSpecs(): FeatureSpec[] {
  return SIMULATOR_FEATURES.ctr.map((f) => (f.type === 'numeric' ? { name: f.name, type: 'numeric' as const } : { name: f.name, type: 'categorical' as const, maxCategories: 50 }));
}

export function simulatedHistory(options: SimulatedHistoryOptions): LabelledHistory {
  const start = options.start ?? DEFAULT_SIMULATION_START;
  if (new Date(start).getTime() % DAY_MS !== 0) throw new Error(`simulation start ${start} must be a UTC midnight so day indices line up with drift days`);
  const layout = featureLayout(simulatorFeatureSpecs());
  const n = options.days * options.rowsPerDay;
  const eventTimeMs = new Float64Array(n);
  const labels = new Float64Array(n);
  const entityIds = new Array<string>(n);
  const numeric = Object.fromEntries(layout.numeric.map((name) => [name, new Float64Array(n)]));
  const categorical = Object.fromEntries(layout.categorical.map((name) => [name, new Array<string | null>(n)]));
  let row = 0;
  for (let day = 0; day < options.days; day++) {
    const generated = generateDay({ task: 'ctr', modelName: 'backtest', start, days: options.days, rowsPerDay: options.rowsPerDay, seed: options.seed, drift: options.drift }, day);
    generated.predictions.forEach((prediction, i) => {
      eventTimeMs[row] = new Date(prediction.predictedAt).getTime();
      labels[row] = generated.truth[i];
      entityIds[row] = prediction.unitId ?? '';
      for (const name of layout.numeric) numeric[name][row] = prediction.features[name] as number;
      for (const name of layout.categorical) categorical[name][row] = String(prediction.features[name]);
      row++;
    });
  }
  const history: LabelledHistory = { layout, eventTimeMs, labels, entityIds, hasEntity: true, numeric, categorical };
  assertHistory(history, 'simulated history');
  return history;
}
