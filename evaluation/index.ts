// Public surface of the offline tests: metrics' bootstrap intervals, slices, behavioural tests,
// operational budgets, the evaluation spec, the champion/challenger gate and its report card.
export {
  bootstrapMetric,
  bootstrapMetrics,
  bootstrapReplicates,
  pairedBootstrap,
  percentileInterval,
  DEFAULT_BOOTSTRAP,
  type BootstrapOptions,
  type ConfidenceInterval,
  type MetricRef,
  type PairedComparison,
} from './bootstrap';
export { builtInKernel, kernelFromFunction, type MetricKernel, type WeightedEvaluator } from './metric-kernels';
export { columnsFromMatrix, defineSlices, evaluateSlices, type SliceColumns, type SliceDefinition, type SliceResult } from './slices';
export { runBehaviouralTests, runDirectionalTest, runInvarianceTest, runPerturbationTest, type BehaviouralResult, type BehaviouralRows, type PredictFn } from './behavioural';
export { checkBudgets, hasBudgetLimits, measureOperationalMetrics, type BudgetCheck, type MeasureOptions, type OperationalMeasurements } from './budgets';
export {
  behaviouralTestProblems,
  durationToMs,
  evaluationSpecProblems,
  evaluationSpecSchema,
  InvalidEvaluationSpecError,
  parseEvaluationSpec,
  resolvePrimaryMetric,
  type BehaviouralFeatureLayout,
  type EvaluationSpec,
  type EvaluationSpecInput,
} from './spec';
export { judgeCandidate, type JudgeInput, type UnloadableChampion } from './gate';
export { parseReportCard, reportCardSchema, reportCardToJson, REPORT_CARD_SCHEMA_VERSION, type ReportCard } from './report-card';
export { renderReportCardHtml } from './report-card-html';
