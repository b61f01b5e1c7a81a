// DAG step "evaluate": the offline tests. Scores the candidate — and the champion, on the same rows —
// with onnxruntime-node on the backtest (the snapshot's latest rows, strictly later than training)
// and on the model's frozen static test set, runs slices, behavioural tests and operational budgets,
// applies the spec's sign-off rules, and stores the report card as JSON and HTML.
import { decodeDataset, type DatasetColumns } from '../datasets/snapshot';
import { hasBudgetLimits, measureOperationalMetrics, type OperationalMeasurements } from '../evaluation/budgets';
import { runBehaviouralTests, type BehaviouralResult } from '../evaluation/behavioural';
import { judgeCandidate, type UnloadableChampion } from '../evaluation/gate';
import { renderReportCardHtml } from '../evaluation/report-card-html';
import type { ReportCard } from '../evaluation/report-card';
import { behaviouralTestProblems, durationToMs, type EvaluationSpec } from '../evaluation/spec';
import { SliceSpecError, type SliceColumns } from '../evaluation/slices';
import { currentChampion } from '../lineage/models';
import { OnnxModel } from '../ml/onnx-runtime';
import type { TabularFrame } from '../ml/tabular/encoding';
import { featureLayout } from '../spec/model-spec';
import { ArtifactNotFoundError, type ArtifactStore } from '../storage/artifact-store';
import { FailureType } from '../workflows/failure-types';
import type { CandidateEvaluation, EvaluateRequest } from '../workflows/types';
import { elapsedSince, runKey, type ActivityDeps } from './deps';
import { badInput } from './failures';
import { markStep } from './pipeline-run';
import { frameForModel, scoreFrame } from './scoring';
import { splitRows, type RowRange } from './split-rows';

interface EvaluationSet {
  name: string;
  kind: 'static' | 'backtest';
  columns: DatasetColumns;
  range: RowRange;
}

function sliceColumnsOf(spec: EvaluationSpec, set: EvaluationSet): SliceColumns {
  const wanted = new Set([...spec.slices.features, ...spec.slices.cohorts.flatMap((c) => (Array.isArray(c.where) ? c.where : [c.where]).map((w) => w.feature))]);
  const out: Record<string, Float64Array | string[]> = {};
  for (const name of wanted) {
    const { start, end } = set.range;
    if (set.columns.features[name]) out[name] = set.columns.features[name].subarray(start, end);
    else if (set.columns.categorical[name]) out[name] = set.columns.categorical[name].slice(start, end);
    else throw badInput(FailureType.InvalidSpec, `evaluation.slices names feature "${name}", which the model's data does not have`);
  }
  return out;
}

type ChampionLoad = { model: OnnxModel; id: string } | { unloadable: UnloadableChampion };

/**
 * The current champion's model. Only a champion whose artifact is missing (ArtifactNotFoundError:
 * it will not appear by retrying) or corrupt (onnxruntime cannot load it) comes back as
 * `unloadable`, which the gate judges as a failed comparison, never as "no champion". Any other
 * error is thrown: a transient store failure (a 503 or a timeout that outlasted the store's own
 * retries) fails the attempt and Temporal retries the activity; a permanent one (permission denied,
 * no such bucket) fails the run naming the store's error (failFastOnPermanentStorageErrors).
 */
async function loadChampion(store: ArtifactStore, row: { id: string; artifact_uri: string }): Promise<ChampionLoad> {
  const unloadable = (error: string): ChampionLoad => ({ unloadable: { id: row.id, artifactUri: row.artifact_uri, error } });
  let bytes: Uint8Array;
  try {
    bytes = await store.get(row.artifact_uri);
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) return unloadable('not found in the artifact store');
    throw error;
  }
  try {
    return { model: await OnnxModel.load(bytes), id: row.id };
  } catch (error) {
    return unloadable(`onnxruntime cannot load it: ${(error as Error).message}`);
  }
}

async function judgeOn(
  set: EvaluationSet,
  spec: EvaluationSpec,
  candidate: OnnxModel,
  candidateBytes: Uint8Array,
  champion: { model: OnnxModel; id: string } | null,
  unloadableChampion: UnloadableChampion | undefined,
  candidateId: string,
  task: 'binary_classification' | 'regression',
): Promise<{ card: ReportCard; notes: string[] }> {
  const notes: string[] = [];
  const framed = frameForModel(candidate, set.columns, set.range);
  if ('missing' in framed) throw badInput(FailureType.SchemaViolation, `the ${set.name} set lacks the candidate's features ${framed.missing.join(', ')}`);
  const frame = framed.frame;
  const labels = set.columns.labels.subarray(set.range.start, set.range.end);
  const candidateScores = await scoreFrame(candidate, frame);
  let championScores: Float64Array | undefined;
  if (champion) {
    const championFrame = frameForModel(champion.model, set.columns, set.range);
    if ('missing' in championFrame) notes.push(`champion ${champion.id} cannot be scored on the ${set.name} set (it needs ${championFrame.missing.join(', ')}): judged without a champion`);
    else championScores = await scoreFrame(champion.model, championFrame.frame);
  }
  let behavioural: BehaviouralResult[] | undefined;
  if (spec.behavioural.length) {
    // The tests change the frame the candidate is scored on: numeric columns (setTo, swap, noise,
    // delta) or categorical ones (setTo, swap with string values), and score it the way serving does.
    behavioural = await runBehaviouralTests(spec.behavioural, frame, (changed: TabularFrame) => scoreFrame(candidate, changed));
  }
  let budgets: OperationalMeasurements | undefined;
  if (hasBudgetLimits(spec.budgets)) budgets = await measureOperationalMetrics(candidateBytes, frame, spec.budgets!.measurement);
  const card = judgeCandidate({
    spec,
    task,
    labels,
    candidate: candidateScores,
    champion: championScores,
    sliceColumns: sliceColumnsOf(spec, set),
    behavioural,
    budgets,
    candidateId,
    championId: championScores ? champion!.id : undefined,
    unloadableChampion,
    evaluationSet: { name: set.name, kind: set.kind },
  });
  card.notes.push(...notes);
  return { card, notes };
}

function reportHtml(cards: ReportCard[]): string {
  const pages = cards.map(renderReportCardHtml);
  if (pages.length === 1) return pages[0];
  // One document: the backtest card, then the static test set's, each a full section.
  const bodies = pages.map((page) => page.replace(/^[\s\S]*?<body[^>]*>/i, '').replace(/<\/body>[\s\S]*$/i, ''));
  const head = pages[0].match(/^[\s\S]*?<body[^>]*>/i)?.[0] ?? '<html><body>';
  return `${head}${bodies.join('<hr>')}</body></html>`;
}

export function evaluateActivities(deps: ActivityDeps) {
  const { db, store } = deps;
  return {
    async evaluateCandidate(request: EvaluateRequest): Promise<CandidateEvaluation> {
      const started = performance.now();
      await markStep(deps, request.pipelineRunId, 'evaluate');
      const spec = request.spec.evaluation;
      const task = request.spec.task;
      if (task === 'multiclass') throw badInput(FailureType.InvalidSpec, 'task multiclass: the offline gate does not support it yet');
      const layout = featureLayout(request.spec.features);
      const columns = decodeDataset(await store.get(request.datasetUri), layout);
      const sets: EvaluationSet[] = [{ name: 'backtest', kind: 'backtest', columns, range: splitRows(columns).validation }];
      if (request.staticTestSetUri) {
        const staticColumns = decodeDataset(await store.get(request.staticTestSetUri), layout);
        sets.push({ name: request.staticTestSetId ?? 'static', kind: 'static', columns: staticColumns, range: { start: 0, end: staticColumns.labels.length } });
      }

      const candidateBytes = await store.get(request.artifactUri);
      let candidate: OnnxModel;
      try {
        candidate = await OnnxModel.load(candidateBytes);
      } catch (error) {
        throw badInput(FailureType.CorruptArtifact, `candidate model ${request.artifactUri} cannot be loaded by onnxruntime: ${(error as Error).message}`);
      }
      // A behavioural test must name an input of the candidate, with values of that input's type
      // (strings for a categorical feature): a spec error, raised before anything is scored.
      const problems = behaviouralTestProblems(spec.behavioural, { numeric: candidate.featureNames ?? [], categorical: candidate.categoricalFeatures });
      if (problems.length > 0) {
        await candidate.release();
        throw badInput(FailureType.InvalidSpec, `model "${request.modelName}": ${problems.map((p) => `evaluation.${p}`).join('; ')}`);
      }
      let champion: { model: OnnxModel; id: string } | null = null;
      try {
        // Inside the try: a champion that fails to load with a transient error is rethrown, and the
        // candidate's session is still released.
        const championRow = await currentChampion(db, request.modelName);
        let unloadableChampion: UnloadableChampion | undefined;
        if (championRow) {
          const loaded = await loadChampion(store, championRow);
          if ('unloadable' in loaded) unloadableChampion = loaded.unloadable;
          else champion = loaded;
        }
        const cards: ReportCard[] = [];
        for (const set of sets) {
          try {
            cards.push((await judgeOn(set, spec, candidate, candidateBytes, champion, unloadableChampion, request.candidateLabel ?? 'candidate', task)).card);
          } catch (error) {
            if (error instanceof SliceSpecError) throw badInput(FailureType.InvalidSpec, `model "${request.modelName}": evaluation.${error.message}`);
            throw error;
          }
        }
        // The strictest outcome wins: fail anywhere fails; otherwise approval if any card asks for it.
        const decision = cards.some((c) => c.decision === 'fail') ? 'fail' : cards.some((c) => c.decision === 'needs_approval') ? 'needs_approval' : 'pass';
        const reasons = cards.flatMap((c) => (cards.length > 1 ? c.reasons.map((r) => `[${c.evaluationSet.kind}] ${r}`) : c.reasons));
        const prefix = `reports/${request.modelName}/${runKey(request.pipelineRunId)}`;
        const reportJsonUri = await store.put(`${prefix}/report-card.json`, JSON.stringify({ decision, reasons, cards }, null, 2), { contentType: 'application/json' });
        const reportHtmlUri = await store.put(`${prefix}/report-card.html`, reportHtml(cards), { contentType: 'text/html' });
        const backtest = cards[0];
        const metrics = Object.fromEntries(
          backtest.metrics.filter((m) => m.candidate.estimate !== null).map((m) => [m.name, m.candidate.estimate as number]),
        );
        return {
          metrics,
          decision,
          reasons,
          notes: cards.flatMap((c) => c.notes),
          validationRows: backtest.evaluationSet.rows,
          championId: champion?.id ?? null,
          staticTestSetRows: cards[1]?.evaluationSet.rows ?? null,
          reportJsonUri,
          reportHtmlUri,
          approval: { required: spec.requireApproval, timeoutMs: durationToMs(spec.approval.timeout), onTimeout: spec.approval.onTimeout },
          elapsedMs: elapsedSince(started),
        };
      } finally {
        await candidate.release();
        await champion?.model.release();
      }
    },
  };
}
