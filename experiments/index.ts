// Rollout statistics, all pure functions: sticky assignment, sample sizes, two-sample and
// sequential tests, team-draft interleaving and canary guardrails.
export { BUCKETS, assignmentBucket, inFirstPercent, seedFromString } from './assignment';
export { decideAb, type AbDecision, type AbSettings, type AbVerdict } from './ab-decision';
export { binomialTest, binomialLogPmf } from './binomial';
export { breaches, checkGuardrails, describeGap, type ArmObservation, type GuardrailCheck, type GuardrailName, type GuardrailSettings, type GuardrailStatus } from './guardrails';
export { attributeClicks, interleavingPreference, teamDraftInterleave, type ClickCredit, type InterleavedItem, type PreferenceResult, type Team } from './interleaving';
export { normalCdf, normalQuantile, normalSf } from './normal';
export { ONLINE_METRICS, degradation, higherIsBetter, isProportionMetric, metricValue, type OnlineMetric } from './online-metrics';
export { sampleSizeTwoMeans, sampleSizeTwoProportions, type Alternative, type PowerSettings } from './sample-size';
export { msprtNormal, msprtTwoMeans, msprtTwoProportions, type MsprtResult } from './sequential';
export { studentTSf, regularizedBeta } from './special';
export { pairedTTest, summarize, summaryFromSums, tQuantile, twoProportionZTest, welchTTest, type ProportionSample, type SampleSummary, type TestResult } from './two-sample';
