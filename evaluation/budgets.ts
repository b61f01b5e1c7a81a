// Operational measurements of a candidate with onnxruntime-node, the runtime that serves it: model
// size, single-row latency percentiles and batch throughput, checked against the spec's budgets
// (a more accurate model that is too slow or too big for its serving path is not better).
import type { InferenceSession } from 'onnxruntime-node';
import type { DatasetMatrix } from '../ml/dataset-matrix';
import { OnnxModel } from '../ml/onnx-runtime';
import { frameRows, sliceFrame, type TabularFrame } from '../ml/tabular/encoding';
import type { BudgetSpec } from './spec';
import { quantileSorted } from './stats';

export interface OperationalMeasurements {
  modelBytes: number;
  latencyMs: { p50: number; p99: number; mean: number; runs: number; warmupRuns: number };
  throughput: { rowsPerSecond: number; batchSize: number; runs: number };
  /** Where it was measured: budgets only compare within one kind of host. */
  runtime: string;
}

export interface MeasureOptions {
  warmupRuns?: number;
  runs?: number;
  batchSize?: number;
  batchRuns?: number;
  sessionOptions?: InferenceSession.SessionOptions;
}

export interface BudgetCheck {
  /** budget.model_bytes, budget.latency_p50_ms, budget.latency_p99_ms, budget.throughput_rows_per_s */
  rule: string;
  passed: boolean;
  actual: number;
  limit: number;
  detail: string;
}

export const DEFAULT_MEASUREMENT = Object.freeze({ warmupRuns: 20, runs: 200, batchSize: 1024, batchRuns: 5 });

/**
 * Loads the model into a fresh session and times it on the sample rows. Latency: `runs` timed
 * single-row predictions (cycling through the sample), after `warmupRuns` untimed ones that let
 * the runtime allocate and warm its caches; each timing covers what a server does per request
 * (tensor creation and session.run). Throughput: a batch of `batchSize` rows (the sample repeated)
 * timed `batchRuns` times; rows/s uses the median batch time.
 */
export async function measureOperationalMetrics(modelBytes: Uint8Array, sample: DatasetMatrix | TabularFrame, options: MeasureOptions = {}): Promise<OperationalMeasurements> {
  const warmupRuns = options.warmupRuns ?? DEFAULT_MEASUREMENT.warmupRuns;
  const runs = options.runs ?? DEFAULT_MEASUREMENT.runs;
  const batchSize = options.batchSize ?? DEFAULT_MEASUREMENT.batchSize;
  const batchRuns = options.batchRuns ?? DEFAULT_MEASUREMENT.batchRuns;
  // Models with categorical inputs take a frame (numeric matrix + string columns); others a matrix.
  const frame: TabularFrame = 'numeric' in sample ? sample : { numeric: sample, categorical: {} };
  const sampleRows = frameRows(frame);
  if (sampleRows === 0) throw new Error('measureOperationalMetrics: the sample has no rows; pass a few representative evaluation rows');
  for (const [name, value, min] of [['warmupRuns', warmupRuns, 0], ['runs', runs, 1], ['batchSize', batchSize, 1], ['batchRuns', batchRuns, 1]] as const) {
    if (!Number.isInteger(value) || value < min) throw new Error(`measureOperationalMetrics: ${name} must be an integer >= ${min}, got ${value}`);
  }
  const model = await OnnxModel.load(modelBytes);
  try {
    // Rows are cut out before timing so the copy is not measured.
    const rows = Array.from({ length: Math.min(sampleRows, 256) }, (_, i) => sliceFrame(frame, [i]));
    for (let r = 0; r < warmupRuns; r++) await model.run(rows[r % rows.length]);
    const latencies = new Float64Array(runs);
    for (let r = 0; r < runs; r++) {
      const start = process.hrtime.bigint();
      await model.run(rows[r % rows.length]);
      latencies[r] = Number(process.hrtime.bigint() - start) / 1e6;
    }
    const batch = sliceFrame(frame, Array.from({ length: batchSize }, (_, i) => i % sampleRows));
    await model.run(batch);
    const batchTimes = new Float64Array(batchRuns);
    for (let r = 0; r < batchRuns; r++) {
      const start = process.hrtime.bigint();
      await model.run(batch);
      batchTimes[r] = Number(process.hrtime.bigint() - start) / 1e9;
    }
    latencies.sort();
    batchTimes.sort();
    const medianBatchSeconds = quantileSorted(batchTimes, 0.5);
    return {
      modelBytes: modelBytes.byteLength,
      latencyMs: { p50: quantileSorted(latencies, 0.5), p99: quantileSorted(latencies, 0.99), mean: latencies.reduce((s, v) => s + v, 0) / runs, runs, warmupRuns },
      throughput: { rowsPerSecond: batchSize / Math.max(medianBatchSeconds, 1e-12), batchSize, runs: batchRuns },
      runtime: `onnxruntime-node cpu (${process.platform}-${process.arch})`,
    };
  } finally {
    await model.release();
  }
}

/** One check per limit the budget declares; an empty list when it declares none. */
export function checkBudgets(measurements: OperationalMeasurements, budget: BudgetSpec): BudgetCheck[] {
  const checks: BudgetCheck[] = [];
  const atMost = (rule: string, what: string, actual: number, limit: number | undefined, unit: string): void => {
    if (limit === undefined) return;
    const passed = actual <= limit;
    checks.push({ rule, passed, actual, limit, detail: `${what} ${fmt(actual)} ${unit} ${passed ? '<=' : '>'} budget ${limit} ${unit}` });
  };
  atMost('budget.model_bytes', 'model size', measurements.modelBytes, budget.maxModelBytes, 'bytes');
  atMost('budget.latency_p50_ms', 'single-row latency p50', measurements.latencyMs.p50, budget.maxLatencyP50Ms, 'ms');
  atMost('budget.latency_p99_ms', 'single-row latency p99', measurements.latencyMs.p99, budget.maxLatencyP99Ms, 'ms');
  if (budget.minThroughputRowsPerSecond !== undefined) {
    const actual = measurements.throughput.rowsPerSecond;
    const limit = budget.minThroughputRowsPerSecond;
    const passed = actual >= limit;
    checks.push({
      rule: 'budget.throughput_rows_per_s',
      passed,
      actual,
      limit,
      detail: `batch throughput ${fmt(actual)} rows/s (batch ${measurements.throughput.batchSize}) ${passed ? '>=' : '<'} budget ${limit} rows/s`,
    });
  }
  return checks;
}

/** True when the budget sets at least one limit (a budget block with only measurement settings sets none). */
export function hasBudgetLimits(budget: BudgetSpec | undefined): boolean {
  return (
    budget !== undefined &&
    (budget.maxModelBytes !== undefined ||
      budget.maxLatencyP50Ms !== undefined ||
      budget.maxLatencyP99Ms !== undefined ||
      budget.minThroughputRowsPerSecond !== undefined)
  );
}

function fmt(value: number): string {
  return Number(value.toPrecision(4)).toString();
}
