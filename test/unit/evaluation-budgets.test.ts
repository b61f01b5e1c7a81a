// Operational budgets: the checks each limit produces, and a real onnxruntime measurement whose
// numbers are consistent (p50 <= p99, throughput of the measured batch, the file's byte size).
import { describe, expect, it } from 'vitest';
import { createMatrix } from '../../ml/dataset-matrix';
import { trainLogisticRegression } from '../../ml/logistic-regression';
import { exportLogisticRegressionToOnnx } from '../../ml/onnx';
import { syntheticLogisticData } from '../../ml/synthetic';
import { checkBudgets, hasBudgetLimits, measureOperationalMetrics, type OperationalMeasurements } from '../../evaluation/budgets';
import { parseEvaluationSpec } from '../../evaluation/spec';

const measured: OperationalMeasurements = {
  modelBytes: 500,
  latencyMs: { p50: 0.04, p99: 0.2, mean: 0.05, runs: 200, warmupRuns: 20 },
  throughput: { rowsPerSecond: 1e6, batchSize: 1024, runs: 5 },
  runtime: 'test',
};

describe('checkBudgets', () => {
  it('produces one check per declared limit, with the comparison the right way round', () => {
    const budget = parseEvaluationSpec({ budgets: { maxModelBytes: 400, maxLatencyP50Ms: 1, maxLatencyP99Ms: 0.1, minThroughputRowsPerSecond: 2e6 } }).budgets!;
    const checks = checkBudgets(measured, budget);
    expect(checks.map((c) => [c.rule, c.passed])).toEqual([
      ['budget.model_bytes', false],
      ['budget.latency_p50_ms', true],
      ['budget.latency_p99_ms', false],
      ['budget.throughput_rows_per_s', false],
    ]);
    expect(checks[0].detail).toBe('model size 500 bytes > budget 400 bytes');
    expect(checks[3].detail).toBe('batch throughput 1000000 rows/s (batch 1024) < budget 2000000 rows/s');
    expect(checkBudgets(measured, parseEvaluationSpec({ budgets: {} }).budgets!)).toEqual([]);
    expect(hasBudgetLimits(parseEvaluationSpec({ budgets: {} }).budgets)).toBe(false);
    expect(hasBudgetLimits(undefined)).toBe(false);
  });
});

describe('measureOperationalMetrics', () => {
  it('times a real onnxruntime session', async () => {
    const data = syntheticLogisticData({ rows: 300, weights: [1, -1, 0.5], seed: 1 });
    const bytes = exportLogisticRegressionToOnnx(trainLogisticRegression(data.X, data.y, { epochs: 2 }).model);
    const m = await measureOperationalMetrics(bytes, data.X, { warmupRuns: 3, runs: 30, batchSize: 700, batchRuns: 3 });
    expect(m.modelBytes).toBe(bytes.byteLength);
    expect(m.latencyMs.p50).toBeGreaterThan(0);
    expect(m.latencyMs.p50).toBeLessThanOrEqual(m.latencyMs.p99);
    expect(m.latencyMs.runs).toBe(30);
    expect(m.throughput).toMatchObject({ batchSize: 700, runs: 3 });
    expect(m.throughput.rowsPerSecond).toBeGreaterThan(1000);
    await expect(measureOperationalMetrics(bytes, createMatrix(['x0', 'x1', 'x2'], 0))).rejects.toThrow(/the sample has no rows/);
    await expect(measureOperationalMetrics(bytes, data.X, { runs: 0 })).rejects.toThrow(/runs must be an integer >= 1/);
  });
});
