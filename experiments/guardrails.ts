// Canary guardrails: the checks that decide, at every look during a canary step, whether the
// candidate is hurting users compared with the champion serving alongside it. Each check says ok,
// breach (roll back now) or insufficient (not enough data yet to judge), with the evidence.
import { psi } from '../monitoring/numeric-drift';
import { degradation, type OnlineMetric } from './online-metrics';
import { msprtNormal } from './sequential';
import type { SampleSummary } from './two-sample';

/** What one version did in the window being judged. */
export interface ArmObservation {
  versionId: string;
  /** Predictions made (served), errors included. */
  requests: number;
  /** Predictions that failed inside the model (logged with an error, no prediction). */
  errors: number;
  /** Labelled predictions and their per-request metric values. */
  metric: SampleSummary;
  /** 99th percentile of serving time in ms; null without enough requests. */
  latencyP99Ms: number | null;
  /** A sample of the predicted scores, for the distribution-shift check. */
  predictions: readonly number[];
}

export interface GuardrailSettings {
  metric: OnlineMetric;
  /** Labelled predictions each arm needs before the metric is judged. */
  minLabelled: number;
  /** Worse by more than this (in the metric's units) and significantly so → breach. */
  maxDegradation: number;
  /** Significance of "worse by more than maxDegradation", as an always-valid (mSPRT) p-value. */
  alpha: number;
  /** mSPRT mixing scale in metric units; default max(maxDegradation, a quarter of the metric's standard deviation). */
  msprtTau?: number;
  /** Candidate error rate above the champion's by more than this → breach. */
  maxErrorRateIncrease: number;
  /** Requests the candidate needs before error rate and latency are judged. */
  minRequests: number;
  /** Candidate p99 above champion p99 × ratio + slack → breach. */
  latencyP99Ratio: number;
  latencySlackMs: number;
  /** Absolute ceiling on the candidate's p99, if set. */
  latencyP99MaxMs?: number;
  /** PSI of the candidate's predictions against the champion's above this → breach. */
  maxPredictionPsi: number;
  /** Predictions each arm needs before the shift is judged. */
  minPredictions: number;
}

export type GuardrailName = 'metric' | 'error_rate' | 'latency_p99' | 'prediction_shift';
export type GuardrailStatus = 'ok' | 'breach' | 'insufficient';

export interface GuardrailCheck {
  name: GuardrailName;
  status: GuardrailStatus;
  observed: number | null;
  limit: number | null;
  message: string;
}

function round(x: number, digits = 4): number {
  return Number.isFinite(x) ? Number(x.toFixed(digits)) : x;
}

export function checkMetric(candidate: ArmObservation, champion: ArmObservation, s: GuardrailSettings): GuardrailCheck {
  const name = 'metric';
  const have = Math.min(candidate.metric.n, champion.metric.n);
  if (have < s.minLabelled || have < 2) {
    return { name, status: 'insufficient', observed: null, limit: s.maxDegradation, message: `${s.metric}: ${candidate.metric.n} candidate / ${champion.metric.n} champion labelled predictions, need ${s.minLabelled} each` };
  }
  const worse = degradation(s.metric, candidate.metric.mean, champion.metric.mean);
  const variance = candidate.metric.variance / candidate.metric.n + champion.metric.variance / champion.metric.n;
  const test = msprtNormal(worse, variance, { tau: defaultTau(s, candidate.metric, champion.metric), theta0: s.maxDegradation, alpha: s.alpha });
  const breach = worse > s.maxDegradation && test.pValue < s.alpha;
  const text = `${s.metric} candidate ${round(candidate.metric.mean)} vs champion ${round(champion.metric.mean)} (${describeGap(worse)}, always-valid p=${round(test.pValue, 6)} against ${s.maxDegradation}; alpha ${s.alpha})`;
  return { name, status: breach ? 'breach' : 'ok', observed: worse, limit: s.maxDegradation, message: text };
}

/**
 * Guardrails are looked at again and again while a step runs; a fixed-horizon test re-run at
 * every look would roll back good candidates by chance (peeking). The mSPRT's p-value is valid at
 * any look. The mixing scale tau is the size of degradation worth catching quickly: at least the
 * tolerance, and a quarter of the metric's spread, so gross breakage is caught within a few dozen labels.
 */
function defaultTau(s: GuardrailSettings, a: SampleSummary, b: SampleSummary): number {
  if (s.msprtTau !== undefined) return s.msprtTau;
  const spread = Math.sqrt(Math.max(0, (a.variance + b.variance) / 2));
  return Math.max(s.maxDegradation, 0.25 * spread, 1e-6);
}

/** "worse by 0.05" or "better by 0.02": a negative degradation reads as an improvement. */
export function describeGap(worse: number): string {
  return worse >= 0 ? `worse by ${round(worse)}` : `better by ${round(-worse)}`;
}

export function checkErrorRate(candidate: ArmObservation, champion: ArmObservation, s: GuardrailSettings): GuardrailCheck {
  const name = 'error_rate';
  const rate = candidate.requests ? candidate.errors / candidate.requests : 0;
  const base = champion.requests ? champion.errors / champion.requests : 0;
  const limit = base + s.maxErrorRateIncrease;
  // Errors are judged before minRequests too once they alone exceed the limit over minRequests:
  // a model that fails every request should not get to serve hundreds of failures first.
  if (candidate.requests < s.minRequests && candidate.errors <= limit * s.minRequests) {
    return { name, status: 'insufficient', observed: rate, limit, message: `error rate: ${candidate.requests} candidate requests, need ${s.minRequests}` };
  }
  const breach = rate > limit;
  return { name, status: breach ? 'breach' : 'ok', observed: rate, limit, message: `error rate candidate ${round(rate)} (${candidate.errors}/${candidate.requests}) vs champion ${round(base)}; limit ${round(limit)}` };
}

export function checkLatency(candidate: ArmObservation, champion: ArmObservation, s: GuardrailSettings): GuardrailCheck {
  const name = 'latency_p99';
  if (candidate.latencyP99Ms === null || candidate.requests < s.minRequests) {
    return { name, status: 'insufficient', observed: candidate.latencyP99Ms, limit: null, message: `latency: ${candidate.requests} candidate requests, need ${s.minRequests}` };
  }
  const relative = champion.latencyP99Ms === null ? Infinity : champion.latencyP99Ms * s.latencyP99Ratio + s.latencySlackMs;
  const limit = Math.min(relative, s.latencyP99MaxMs ?? Infinity);
  const breach = candidate.latencyP99Ms > limit;
  return {
    name,
    status: breach ? 'breach' : 'ok',
    observed: candidate.latencyP99Ms,
    limit: Number.isFinite(limit) ? limit : null,
    message: `p99 candidate ${round(candidate.latencyP99Ms, 3)} ms vs champion ${champion.latencyP99Ms === null ? 'n/a' : round(champion.latencyP99Ms, 3)} ms; limit ${Number.isFinite(limit) ? round(limit, 3) : 'none'} ms`,
  };
}

export function checkPredictionShift(candidate: ArmObservation, champion: ArmObservation, s: GuardrailSettings): GuardrailCheck {
  const name = 'prediction_shift';
  if (candidate.predictions.length < s.minPredictions || champion.predictions.length < s.minPredictions) {
    return { name, status: 'insufficient', observed: null, limit: s.maxPredictionPsi, message: `prediction shift: ${candidate.predictions.length} candidate / ${champion.predictions.length} champion predictions, need ${s.minPredictions} each` };
  }
  const value = psi(Float64Array.from(champion.predictions), Float64Array.from(candidate.predictions), { feature: 'prediction' }).value;
  const breach = value > s.maxPredictionPsi;
  return { name, status: breach ? 'breach' : 'ok', observed: value, limit: s.maxPredictionPsi, message: `prediction PSI candidate vs champion ${round(value)}; limit ${s.maxPredictionPsi}` };
}

/** Every guardrail for one look. */
export function checkGuardrails(candidate: ArmObservation, champion: ArmObservation, settings: GuardrailSettings): GuardrailCheck[] {
  return [checkMetric(candidate, champion, settings), checkErrorRate(candidate, champion, settings), checkLatency(candidate, champion, settings), checkPredictionShift(candidate, champion, settings)];
}

export function breaches(checks: readonly GuardrailCheck[]): GuardrailCheck[] {
  return checks.filter((c) => c.status === 'breach');
}
