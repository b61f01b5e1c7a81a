// The evaluate step as the DAG runs it: the real evaluateCandidate activity on a real dataset
// snapshot and static test set (formed by the data activities from labelled rows in PostgreSQL) and
// real ONNX artifacts scored by onnxruntime-node. The models are exported logistic regressions
// (and one deliberately large MLP) with known weights over a known world, so each scenario's
// expected decision follows from its construction; each must name the rule that decided it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orchestrationActivities, type OrchestrationActivities } from '../../activities';
import { runKey } from '../../activities/deps';
import type { ReportCard } from '../../evaluation/report-card';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import { applyRoutingChange } from '../../lineage/routing';
import { exportTabularToOnnx } from '../../ml/onnx';
import { createRng } from '../../ml/random';
import type { TabularModel } from '../../ml/tabular/model';
import type { LabelledExample } from '../../scenarios/ctr-history';
import { featureLayout, parseModelSpec, type ModelSpec } from '../../spec/model-spec';
import { ArtifactStoreError, openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { isTransientError } from '../../storage/retry';
import type { CandidateEvaluation, DatasetSnapshot } from '../../workflows/types';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const MODEL = 'evalgate';
const END = new Date('2026-01-31T00:00:00Z');
const WINDOW_START = new Date(END.getTime() - 30 * 86_400_000).toISOString();
const WINDOW_END = END.toISOString();
const NUMERIC = ['ad_relevance', 'user_ctr_7d', 'freshness'] as const;
const REGIONS = ['north', 'south', 'east', 'west'] as const;
const GENDERS = ['f', 'm'] as const;

/**
 * The world: P(click) = sigmoid(-0.3 + 1.6 ad_relevance + 1.1 user_ctr_7d + 0.3 freshness + region
 * effect), features N(0, 1), regions and genders uniform. Gender has no effect: it is the protected
 * attribute an invariance test guards.
 */
interface Weights {
  bias: number;
  ad_relevance: number;
  user_ctr_7d: number;
  freshness: number;
  region: Record<(typeof REGIONS)[number], number>;
  gender: Record<(typeof GENDERS)[number], number>;
}
const TRUTH: Weights = { bias: -0.3, ad_relevance: 1.6, user_ctr_7d: 1.1, freshness: 0.3, region: { north: 0.4, south: -0.4, east: 0, west: 0.2 }, gender: { f: 0, m: 0 } };

/**
 * Measured on 200,000 draws of the world (AUC / log loss overall; log loss on region=south):
 * champion 0.795 / 0.549 / 0.534; better (the truth) 0.861 / 0.462 / 0.448; worse (user_ctr_7d with
 * the wrong sign) 0.722 / 0.653; south_miscalibrated 0.811 / 0.567 / 0.871; gender_biased 0.856;
 * freshness_inverted 0.843. Every candidate but `worse` beats the champion on AUC.
 */
const MODELS = {
  /** A stale model that never learned user_ctr_7d. */
  champion: { ...TRUTH, user_ctr_7d: 0 },
  better: TRUTH,
  worse: { ...TRUTH, user_ctr_7d: -0.5 },
  /** Right everywhere but south, where it adds +2.0 instead of -0.4 to the logit: calibration there collapses. */
  south_miscalibrated: { ...TRUTH, region: { ...TRUTH.region, south: 2.0 } },
  /** Learned a gender offset from a proxy. */
  gender_biased: { ...TRUTH, gender: { f: 0.3, m: -0.3 } },
  /** Fresher ads score lower: against the domain's directional expectation. */
  freshness_inverted: { ...TRUTH, freshness: -0.3 },
} satisfies Record<string, Weights>;

function generate(rows: number, seed: number): LabelledExample[] {
  const rng = createRng(seed);
  const start = END.getTime() - 30 * 86_400_000;
  return Array.from({ length: rows }, (_, i) => {
    const features = {
      ad_relevance: rng.normal(),
      user_ctr_7d: rng.normal(),
      freshness: rng.normal(),
      region: REGIONS[rng.nextInt(4)],
      gender: GENDERS[rng.nextInt(2)],
    };
    const z = TRUTH.bias + NUMERIC.reduce((s, f) => s + TRUTH[f] * features[f], 0) + TRUTH.region[features.region];
    const label = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    return { entityId: `user-${rng.nextInt(800)}`, eventTime: new Date(Math.floor(start + ((i + rng.next()) / rows) * 30 * 86_400_000)), features, label };
  });
}

const CATEGORICAL = [
  { name: 'region', vocabulary: [...REGIONS] },
  { name: 'gender', vocabulary: [...GENDERS] },
];
const INPUTS = NUMERIC.length + REGIONS.length + GENDERS.length;

function firstLayerWeights(w: Weights): number[] {
  return [...NUMERIC.map((f) => w[f]), ...REGIONS.map((r) => w.region[r]), ...GENDERS.map((g) => w.gender[g])];
}

/** An exported logistic regression over raw inputs (standardisation is the identity). */
function logistic(w: Weights): Uint8Array {
  const model: TabularModel = {
    kind: 'logistic_regression',
    task: 'binary_classification',
    numericFeatures: [...NUMERIC],
    categorical: CATEGORICAL,
    standardization: { mean: [0, 0, 0], std: [1, 1, 1] },
    hiddenActivation: 'relu',
    layers: [{ inputs: INPUTS, outputs: 1, weights: firstLayerWeights(w), bias: [w.bias] }],
  };
  return exportTabularToOnnx(model);
}

/**
 * The same function as logistic(w), computed through `depth` ReLU layers `width` units wide: unit 0
 * carries logit + 50 (positive for any realistic row, so ReLU passes it), every other weight is zero
 * but still multiplied. 3,000 layers are ~9,000 ONNX operators run one after another for every
 * request, so a single row costs several milliseconds on CPU (operator dispatch, not memory: the
 * file is ~12 MB), while its predictions (hence metrics, slices and behavioural tests) match the
 * small model's. A stand-in for "a far heavier architecture that is no more accurate".
 */
function heavy(w: Weights, width = 32, depth = 3000): Uint8Array {
  const shift = 50;
  const first = new Array<number>(INPUTS * width).fill(0);
  firstLayerWeights(w).forEach((v, i) => (first[i * width] = v));
  const firstBias = new Array<number>(width).fill(0);
  firstBias[0] = w.bias + shift;
  const layers = [{ inputs: INPUTS, outputs: width, weights: first, bias: firstBias }];
  for (let l = 1; l < depth; l++) {
    const weights = new Array<number>(width * width).fill(0);
    weights[0] = 1;
    layers.push({ inputs: width, outputs: width, weights, bias: new Array<number>(width).fill(0) });
  }
  const out = new Array<number>(width).fill(0);
  out[0] = 1;
  layers.push({ inputs: width, outputs: 1, weights: out, bias: [-shift] });
  return exportTabularToOnnx({
    kind: 'mlp',
    task: 'binary_classification',
    numericFeatures: [...NUMERIC],
    categorical: CATEGORICAL,
    standardization: { mean: [0, 0, 0], std: [1, 1, 1] },
    hiddenActivation: 'relu',
    layers,
  });
}

const EVALUATION = {
  floors: { auc: 0.65 },
  maxRegression: { auc: { absolute: 0.01 } },
  slices: { features: ['region'], minRows: 50, maxRegression: { log_loss: { absolute: 0.05 } } },
  behavioural: [
    { kind: 'invariance', name: 'gender_invariant', feature: 'gender', change: { swap: ['f', 'm'] }, epsilon: 0.01 },
    { kind: 'directional', name: 'fresher_ads_score_higher', feature: 'freshness', delta: 0.5, expect: 'non_decreasing', minFraction: 0.95 },
  ],
  // 1 ms per row on the request path; a logistic regression takes ~0.1 ms here.
  budgets: { maxLatencyP50Ms: 1, measurement: { warmupRuns: 10, runs: 60, batchSize: 64, batchRuns: 2 } },
  staticTestSet: { fraction: 0.1, minRows: 100 },
};

function modelSpec(evaluation: Record<string, unknown> = EVALUATION): Record<string, unknown> {
  return {
    name: MODEL,
    task: 'binary_classification',
    features: [
      ...NUMERIC.map((name) => ({ name })),
      { name: 'region', type: 'categorical', vocabulary: [...REGIONS] },
      { name: 'gender', type: 'categorical', vocabulary: [...GENDERS] },
    ],
    data: { windowDays: 30, validationFraction: 0.2, minRows: 200 },
    evaluation,
  };
}

/** "[backtest] slice_bound.log_loss[region=south]" for each reason that names a failed rule. */
function failedRules(result: CandidateEvaluation): string[] {
  return result.reasons.map((r) => /^(\[(?:backtest|static)\] [^\s:]+):/.exec(r)?.[1] ?? `(unparsed) ${r}`);
}

describe('evaluateCandidate on a real snapshot and real ONNX artifacts', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let storeDir: string;
  let store: ArtifactStore;
  let activities: OrchestrationActivities;
  let spec: ModelSpec;
  let dataset: DatasetSnapshot;
  let staticSet: { testSetId: string; uri: string; rows: number };
  let runs = 0;

  async function startRun(label: string): Promise<string> {
    const pipelineRunId = `retrain/${MODEL}/${label}-${++runs}`;
    await activities.startPipelineRun({ pipelineRunId, runId: `run-${runs}`, modelName: MODEL, trigger: 'manual', startedAt: new Date().toISOString() });
    return pipelineRunId;
  }

  async function evaluate(label: string, artifact: Uint8Array, runSpec: ModelSpec = spec, using: OrchestrationActivities = activities): Promise<CandidateEvaluation> {
    const pipelineRunId = await startRun(label);
    const artifactUri = await store.put(`models/${MODEL}/${label}-${runs}/model.onnx`, artifact);
    return using.evaluateCandidate({
      pipelineRunId,
      modelName: MODEL,
      datasetUri: dataset.uri,
      artifactUri,
      spec: runSpec,
      staticTestSetId: staticSet.testSetId,
      staticTestSetUri: staticSet.uri,
      candidateLabel: label,
    });
  }

  async function reportCards(result: CandidateEvaluation): Promise<ReportCard[]> {
    const json = JSON.parse(Buffer.from(await store.get(result.reportJsonUri)).toString('utf8')) as { decision: string; cards: ReportCard[] };
    expect(json.decision).toBe(result.decision);
    return json.cards;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    storeDir = mkdtempSync(path.join(tmpdir(), 'flywheel-evaluate-'));
    store = openArtifactStore(pathToFileURL(storeDir).toString());
    activities = orchestrationActivities({ db: lineage.db, store });
    await applyModelSpec(lineage.db, modelSpec());
    spec = parseModelSpec(modelSpec());
    await insertLabelledExamples(lineage.db, MODEL, generate(5000, 21));

    // The DAG's data steps, as the retrain workflow runs them: freeze the static test set, pull the
    // window without its rows, form the time-split snapshot.
    const pipelineRunId = await startRun('data');
    const layout = featureLayout(spec.features);
    const frozen = await activities.ensureStaticTestSet({ pipelineRunId, modelName: MODEL, layout, windowStart: WINDOW_START, windowEnd: WINDOW_END, settings: spec.evaluation.staticTestSet });
    expect(frozen).not.toBeNull();
    staticSet = frozen!;
    const pulled = await activities.pullLabelledWindow({ pipelineRunId, modelName: MODEL, layout, windowStart: WINDOW_START, windowEnd: WINDOW_END, since: null, minRows: spec.data.minRows, spec });
    dataset = await activities.formDatasetSnapshot({
      pipelineRunId,
      modelName: MODEL,
      layout,
      stagingUri: pulled.stagingUri,
      windowStart: WINDOW_START,
      windowEnd: WINDOW_END,
      validationFraction: spec.data.validationFraction,
      spec,
    });
    expect(staticSet.rows).toBe(500);
    expect(dataset.validationRows).toBeGreaterThan(800);
  });

  afterAll(async () => {
    await lineage?.close();
    await database?.drop();
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  });

  describe('a first model (no champion yet)', () => {
    it('passes on floors, behavioural tests and budgets alone, and says the champion comparisons were skipped', async () => {
      const result = await evaluate('first', logistic(MODELS.better));
      expect(result.decision).toBe('pass');
      expect(result.championId).toBeNull();
      expect(result.reasons).toEqual([
        '[backtest] all 4 checks passed: floor.auc, behavioural.gender_invariant, behavioural.fresher_ads_score_higher, budget.latency_p50_ms',
        '[static] all 4 checks passed: floor.auc, behavioural.gender_invariant, behavioural.fresher_ads_score_higher, budget.latency_p50_ms',
      ]);
      expect(result.notes).toContain('no champion: there is nothing to compare with, so the gate judged floors, behavioural tests and budgets only; skipped max_regression.auc');
      expect(result.notes).toContain('no champion: slice bounds (slices.maxRegression) skipped');
    });
  });

  describe('against a champion', () => {
    const championKey = `models/${MODEL}/v1/model.onnx`;
    let championUri: string;

    beforeAll(async () => {
      const pipelineRunId = await startRun('champion');
      const versionId = `${MODEL}@v1`;
      const artifactUri = await store.put(championKey, logistic(MODELS.champion));
      championUri = artifactUri;
      await lineage.db
        .insertInto('model_versions')
        .values({
          id: versionId,
          model_name: MODEL,
          version: 'v1',
          major: 1,
          minor: 0,
          parent_version_id: null,
          training_mode: 'stateless',
          iteration_kind: 'model',
          spec_hash: 'seeded',
          dataset_id: dataset.datasetId,
          artifact_uri: artifactUri,
          status: 'candidate',
          metrics: '{}',
          samples_seen: dataset.trainRows,
          high_water_mark: new Date(dataset.highWaterMark),
          pipeline_run_id: pipelineRunId,
        })
        .execute();
      await applyRoutingChange(lineage.db, {
        model: MODEL,
        changeKey: `seed/${MODEL}/v1`,
        kind: 'promote',
        reason: 'test seed',
        start: [{ versionId, mode: 'champion', trafficPercent: 100 }],
        statuses: [{ versionId, status: 'champion' }],
      });
    });

    it('passes a better candidate, every rule checked on the backtest and the static test set', async () => {
      const result = await evaluate('better', logistic(MODELS.better));
      expect(result.championId).toBe(`${MODEL}@v1`);
      expect(result.decision).toBe('pass');
      expect(result.reasons).toHaveLength(2);
      for (const [i, set] of ['backtest', 'static'].entries()) {
        expect(result.reasons[i]).toMatch(new RegExp(`^\\[${set}\\] all 9 checks passed: floor\\.auc, max_regression\\.auc, `));
        for (const rule of ['slice_bound.log_loss[region=south]', 'behavioural.gender_invariant', 'behavioural.fresher_ads_score_higher', 'budget.latency_p50_ms']) {
          expect(result.reasons[i]).toContain(rule);
        }
      }
      expect(result.staticTestSetRows).toBe(500);
      expect(result.validationRows).toBe(dataset.validationRows);
      // The behavioural tests ran on the ONNX frame, the categorical protected attribute included.
      const [backtest, staticCard] = await reportCards(result);
      expect(backtest.evaluationSet).toEqual({ name: 'backtest', kind: 'backtest', rows: dataset.validationRows });
      expect(staticCard.evaluationSet).toMatchObject({ name: staticSet.testSetId, kind: 'static', rows: 500 });
      const gender = backtest.behavioural.find((b) => b.name === 'gender_invariant')!;
      expect(gender).toMatchObject({ kind: 'invariance', passed: true, rowsTested: dataset.validationRows });
      expect(gender.detail).toBe('"gender" swapped among ["f", "m"]: max |change| 0 <= epsilon 0.01');
      expect(backtest.slices.filter((s) => s.kind === 'feature_value').map((s) => s.key)).toEqual(['region=east', 'region=north', 'region=south', 'region=west']);
      expect(backtest.budgets?.measurements.latencyMs.runs).toBe(60);
      expect(backtest.budgets?.measurements.latencyMs.p50).toBeLessThan(1);
      const html = Buffer.from(await store.get(result.reportHtmlUri)).toString('utf8');
      expect(html).toContain('gender_invariant');
    });

    it('rejects a candidate worse overall, naming max_regression.auc', async () => {
      const result = await evaluate('worse', logistic(MODELS.worse));
      expect(result.decision).toBe('fail');
      const rules = failedRules(result);
      expect(rules).toContain('[backtest] max_regression.auc');
      expect(rules).toContain('[static] max_regression.auc');
      expect(result.reasons.find((r) => r.startsWith('[backtest] max_regression.auc:'))).toMatch(
        /^\[backtest\] max_regression\.auc: candidate - champion = -0\.\d+ \[-0\.\d+, -0\.\d+\] \(95% paired bootstrap\) is entirely below -0\.0100 \(allowed regression 0\.01 absolute\)$/,
      );
      // Its budget and behavioural tests were fine: the reasons name only what failed.
      expect(rules.some((r) => /budget|behavioural/.test(r))).toBe(false);
    });

    it('rejects a candidate better overall but worse on one slice, naming the slice', async () => {
      const result = await evaluate('slice', logistic(MODELS.south_miscalibrated));
      expect(result.decision).toBe('fail');
      expect(failedRules(result)).toEqual(['[backtest] slice_bound.log_loss[region=south]', '[static] slice_bound.log_loss[region=south]']);
      expect(result.reasons[0]).toMatch(/^\[backtest\] slice_bound\.log_loss\[region=south\]: candidate - champion = \+0\.\d+ .* is entirely above \+0\.0500 .*\[slice of \d+ rows\]$/);
      // The aggregate improved: the primary-metric rule passed on both sets.
      const [backtest, staticCard] = await reportCards(result);
      for (const card of [backtest, staticCard]) {
        expect(card.checks.find((c) => c.rule === 'max_regression.auc')?.status).toBe('pass');
        expect(card.metrics.find((m) => m.name === 'auc')!.difference!.estimate).toBeGreaterThan(0);
      }
    });

    it('rejects a candidate over the latency budget, naming the budget', async () => {
      const bytes = heavy(MODELS.better);
      expect(bytes.byteLength).toBeGreaterThan(10e6);
      const result = await evaluate('heavy', bytes);
      expect(result.decision).toBe('fail');
      expect(failedRules(result)).toEqual(['[backtest] budget.latency_p50_ms', '[static] budget.latency_p50_ms']);
      expect(result.reasons[0]).toMatch(/^\[backtest\] budget\.latency_p50_ms: single-row latency p50 [\d.]+ ms > budget 1 ms$/);
      const [backtest] = await reportCards(result);
      expect(backtest.budgets?.measurements.latencyMs.p50).toBeGreaterThan(1);
      expect(backtest.budgets?.measurements.modelBytes).toBe(bytes.byteLength);
      // Same predictions as the small better model: every other rule passed.
      expect(backtest.checks.filter((c) => c.status === 'fail').map((c) => c.rule)).toEqual(['budget.latency_p50_ms']);
    }, 240_000);

    it('rejects a candidate that moves predictions with the protected categorical attribute, naming the invariance test', async () => {
      const result = await evaluate('gender', logistic(MODELS.gender_biased));
      expect(result.decision).toBe('fail');
      expect(failedRules(result)).toEqual(['[backtest] behavioural.gender_invariant', '[static] behavioural.gender_invariant']);
      expect(result.reasons[0]).toMatch(/^\[backtest\] behavioural\.gender_invariant: invariance: "gender" swapped among \["f", "m"\]: max \|change\| 0\.1\d+ > epsilon 0\.01 \(\d+ of \d+ rows over\)$/);
    });

    it('rejects a candidate against the directional expectation, naming the test', async () => {
      const result = await evaluate('direction', logistic(MODELS.freshness_inverted));
      expect(result.decision).toBe('fail');
      expect(failedRules(result)).toEqual(['[backtest] behavioural.fresher_ads_score_higher', '[static] behavioural.fresher_ads_score_higher']);
      expect(result.reasons[0]).toMatch(/^\[backtest\] behavioural\.fresher_ads_score_higher: directional: "freshness" \+ 0\.5: [\d.]+% of rows non-decreasing < 95% required$/);
    });

    it('refuses a behavioural test with numbers for the categorical attribute as a spec error, scoring nothing', async () => {
      const behavioural = [{ kind: 'invariance', name: 'gender_invariant', feature: 'gender', change: { swap: [0, 1] } }];
      // Applying such a spec fails already (spec/model-spec.ts); a spec stored before that check
      // existed still reaches the evaluate step, which checks against the candidate's own inputs.
      expect(() => parseModelSpec(modelSpec({ ...EVALUATION, behavioural }))).toThrow(/evaluation\.behavioural\[0\]\.change\.swap: feature "gender" is categorical/);
      const mistyped = { ...spec, evaluation: { ...spec.evaluation, behavioural: [{ ...spec.evaluation.behavioural[0], change: { swap: [0, 1] } }] } } as ModelSpec;
      const failure = await evaluate('mistyped', logistic(MODELS.better), mistyped).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: 'InvalidSpec', nonRetryable: true });
      expect((failure as Error).message).toBe(
        `model "${MODEL}": evaluation.behavioural[0].change.swap: feature "gender" is categorical (string values) but swap gives the number(s) 0, 1; ` +
          'give the categories as strings, e.g. swap: ["0", "1"]',
      );
    });

    it('refuses slicing a continuous feature by value as a non-retryable spec error naming the field', async () => {
      const sliced = parseModelSpec(modelSpec({ ...EVALUATION, slices: { features: ['freshness'], minRows: 50, maxDistinctValues: 50 } }));
      const failure = await evaluate('sliced', logistic(MODELS.better), sliced).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure).toMatchObject({ type: 'InvalidSpec', nonRetryable: true });
      expect((failure as Error).message).toMatch(/^model "[^"]+": evaluation\.slices\.features: "freshness" has more than 50 distinct values; slice a continuous feature with cohorts/);
    });

    // The champion serves, but its artifact cannot be read or loaded. A missing or corrupt artifact
    // must not turn into "no champion" (with no floors, that passed the candidate unchecked): every
    // comparison fails, naming the champion. A transient store error is thrown, for Temporal to retry.
    describe('a champion whose artifact cannot be loaded', () => {
      /** Runs fn with the champion's artifact replaced (null: deleted), then puts the real one back. */
      async function withChampionArtifact<T>(bytes: Uint8Array | null, fn: () => Promise<T>): Promise<T> {
        const original = await store.get(championUri);
        if (bytes === null) await store.delete(championUri);
        else await store.put(championKey, bytes);
        try {
          return await fn();
        } finally {
          expect(await store.put(championKey, original)).toBe(championUri);
        }
      }

      it('deleted: the candidate fails on the (default) comparison rule, whose reason names the champion, its URI and the error', async () => {
        // The bare spec: no floors, no behavioural tests, no budgets. Judged as "no champion" this
        // passed with "no thresholds set"; the champion exists, so the comparison it implies fails.
        const bare = parseModelSpec(modelSpec({}));
        const result = await withChampionArtifact(null, async () => {
          expect(await store.exists(championUri)).toBe(false);
          return evaluate('champion-deleted', logistic(MODELS.better), bare);
        });
        expect(result.decision).toBe('fail');
        expect(result.championId).toBeNull(); // nothing was compared with it
        expect(failedRules(result)).toEqual(['[backtest] max_regression.auc', '[static] max_regression.auc']);
        for (const [i, set] of ['backtest', 'static'].entries()) {
          expect(result.reasons[i]).toBe(
            `[${set}] max_regression.auc: champion ${MODEL}@v1 exists but its artifact ${championUri} could not be loaded (not found in the artifact store): ` +
              'the candidate cannot be compared with it, so the bound cannot be shown to hold [default rule]',
          );
        }
        expect(result.notes.join('\n')).not.toMatch(/no champion|judged without a champion|no thresholds set/);
        const cards = await reportCards(result);
        expect(cards).toHaveLength(2);
        for (const card of cards) {
          expect(card).toMatchObject({ decision: 'fail', hasChampion: false, championId: null });
          expect(card.checks).toEqual([expect.objectContaining({ rule: 'max_regression.auc', category: 'max_regression', status: 'fail' })]);
          expect(card.notes.some((n) => n.startsWith(`champion ${MODEL}@v1 exists but its artifact ${championUri} could not be loaded`))).toBe(true);
        }
      });

      it('corrupt: every declared comparison fails naming onnxruntime\'s error; slice bounds are not judged; the other rules still run', async () => {
        const result = await withChampionArtifact(Buffer.from('this is not an ONNX model'), () => evaluate('champion-corrupt', logistic(MODELS.better)));
        expect(result.decision).toBe('fail');
        expect(result.championId).toBeNull();
        expect(failedRules(result)).toEqual(['[backtest] max_regression.auc', '[static] max_regression.auc']);
        expect(result.reasons[0]).toMatch(
          new RegExp(`^\\[backtest\\] max_regression\\.auc: champion ${MODEL}@v1 exists but its artifact ${championUri.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} could not be loaded \\(onnxruntime cannot load it: .+\\): the candidate cannot be compared with it, so the bound cannot be shown to hold$`),
        );
        const [backtest] = await reportCards(result);
        // Floors, behavioural tests and budgets were judged, and passed, as for any candidate.
        expect(backtest.checks.filter((c) => c.status === 'pass').map((c) => c.rule)).toEqual(['floor.auc', 'behavioural.gender_invariant', 'behavioural.fresher_ads_score_higher', 'budget.latency_p50_ms']);
        expect(backtest.checks.some((c) => c.category === 'slice_bound')).toBe(false);
        expect(backtest.notes).toContain(`champion ${MODEL}@v1 could not be loaded: slice bounds (slices.maxRegression) not judged`);
      });

      it('a transient store error on the champion\'s get is thrown (Temporal retries the activity), with no decision and no report card', async () => {
        let championGets = 0;
        const outage = new ArtifactStoreError('GCS get of gs://bucket/models/v1/model.onnx failed (HTTP 503) after 5 attempts: Service Unavailable', { status: 503 });
        // The real store, except that reading the champion's artifact fails the way the GCS store
        // reports a 503 that outlasted its own retries.
        const flaky: ArtifactStore = {
          rootUri: store.rootUri,
          uriFor: (key) => store.uriFor(key),
          put: (key, data, opts) => store.put(key, data, opts),
          exists: (uri) => store.exists(uri),
          delete: (uri) => store.delete(uri),
          list: (prefix) => store.list(prefix),
          get: async (uri) => {
            if (uri !== championUri) return store.get(uri);
            championGets += 1;
            throw outage;
          },
        };
        const flakyActivities = orchestrationActivities({ db: lineage.db, store: flaky });
        const failure = await evaluate('champion-503', logistic(MODELS.better), spec, flakyActivities).then(
          (result) => result,
          (error: unknown) => error,
        );
        expect(championGets).toBe(1);
        // The store's own error, unchanged: not a decision, and not made non-retryable.
        expect(failure).toBe(outage);
        expect(failure).not.toBeInstanceOf(ApplicationFailure);
        expect(isTransientError(failure)).toBe(true);
        // Nothing was judged: no report card was written for the run.
        expect(await store.list(`reports/${MODEL}/${runKey(`retrain/${MODEL}/champion-503-${runs}`)}`)).toEqual([]);
        // The champion itself was fine: the same request with the real store compares against it.
        expect((await evaluate('champion-back', logistic(MODELS.better))).championId).toBe(`${MODEL}@v1`);
      });
    });
  });
});
