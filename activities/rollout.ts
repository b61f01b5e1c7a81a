// Activities of the staged rollout (workflows/rollout.ts): plan it from the model spec's rollout
// section, write each routing change (one transaction, keyed by rollout and step, so a retry adds
// nothing), read online metrics and judge them (guardrails, the A/B test, the interleaving
// preference), and promote or roll back. Every DB read and write of a rollout happens here.
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { decideAb } from '../experiments/ab-decision';
import { breaches, checkGuardrails, describeGap, type ArmObservation, type GuardrailCheck } from '../experiments/guardrails';
import { interleavingPreference } from '../experiments/interleaving';
import { degradation, type OnlineMetric } from '../experiments/online-metrics';
import { msprtNormal } from '../experiments/sequential';
import { psi } from '../monitoring/numeric-drift';
import { currentChampion } from '../lineage/models';
import { applyRoutingChange, rollbackToPreviousChampion, RoutingError, type AppliedChange, type ChampionRollback, type NewRoute, type RouteSelector } from '../lineage/routing';
import type { Database, RolloutStatus } from '../lineage/schema';
import { readArmMetrics, readInterleavingCounts, readPairedMetrics, type ArmMetrics, type LabelRule } from '../serving/online-metrics';
import { InvalidRolloutSpecError, parseRolloutSpec, planRollout, type MeasuredBaseline, type PlannedAb, type PlannedCanary, type PlannedInterleaving, type PlannedShadow, type RolloutPlan } from '../serving/rollout-spec';
import type { ActivityDeps } from './deps';

/** Failure types of rollout activities that retrying cannot fix (the workflow names them non-retryable). */
export const RolloutFailure = {
  UnknownModel: 'UnknownModel',
  InvalidSpec: 'InvalidSpec',
  UnknownVersion: 'UnknownVersion',
  RolloutConflict: 'RolloutConflict',
  NoPreviousChampion: 'NoPreviousChampion',
} as const;

function fail(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** Routing errors are facts about the data (unknown model, conflicting change), not outages: never retried. */
function asFailure(error: unknown): unknown {
  if (!(error instanceof RoutingError)) return error;
  const type = { unknown_model: RolloutFailure.UnknownModel, unknown_version: RolloutFailure.UnknownVersion, no_champion: RolloutFailure.NoPreviousChampion, no_previous_champion: RolloutFailure.NoPreviousChampion, conflict: RolloutFailure.RolloutConflict }[error.code];
  return fail(type, error.message);
}

export interface PrepareRolloutRequest {
  /** "<workflow id>#<first run id>". */
  rolloutId: string;
  model: string;
  candidate: string;
  /** Overrides the model spec's rollout section. */
  rollout?: unknown;
  pipelineRunId?: string | null;
}

export type RouteStep = { kind: 'shadow' } | { kind: 'canary'; stepIndex: number } | { kind: 'ab' } | { kind: 'interleaving' } | { kind: 'end' };

export interface RouteRequest {
  plan: RolloutPlan;
  phaseIndex: number;
  step: RouteStep;
}

export interface RouteResult {
  /** When the change took effect (ISO): metric windows of the step start here. */
  at: string;
  revision: number;
  applied: boolean;
}

export type CheckStatus = 'continue' | 'pass' | 'fail' | 'inconclusive';

/** One look at a phase: the verdict, a one-line reason, the guardrail evidence and a few numbers. */
export interface PhaseCheck {
  status: CheckStatus;
  reason: string;
  checks: GuardrailCheck[];
  stats: Record<string, number | string | null>;
  /** False when the rollout's routes were ended by someone else (e.g. an operator's champion rollback). */
  candidateActive: boolean;
  /** A/B sequential mode: the always-valid p-value to carry to the next look. */
  pValue?: number;
}

export interface ShadowCheckRequest {
  plan: RolloutPlan;
  phaseIndex: number;
  since: string;
}

export interface CanaryCheckRequest {
  plan: RolloutPlan;
  phaseIndex: number;
  stepIndex: number;
  stepSince: string;
  phaseSince: string;
}

export interface AbCheckRequest {
  plan: RolloutPlan;
  phaseIndex: number;
  since: string;
  previousPValue: number;
}

export interface FinishRequest {
  plan: RolloutPlan;
  /** Why the rollout ends: routes of the candidate end and it gets this status. */
  reason: string;
  evidence?: Record<string, unknown>;
}

export interface CloseRolloutRequest {
  plan: RolloutPlan;
  status: Exclude<RolloutStatus, 'running'>;
  reason: string;
  phase: string | null;
  summary: Record<string, unknown>;
}

function phaseOf<K extends RolloutPlan['phases'][number]['kind']>(plan: RolloutPlan, index: number, kind: K): Extract<RolloutPlan['phases'][number], { kind: K }> {
  const phase = plan.phases[index];
  if (!phase || phase.kind !== kind) throw fail(RolloutFailure.InvalidSpec, `rollout ${plan.rolloutId}: phase ${index} is ${phase?.kind ?? 'missing'}, not ${kind}`);
  return phase as Extract<RolloutPlan['phases'][number], { kind: K }>;
}

function observation(m: ArmMetrics): ArmObservation {
  return { versionId: m.versionId, requests: m.requests, errors: m.errors, metric: m.metric, latencyP99Ms: m.latencyP99Ms, predictions: m.predictions };
}

const round = (x: number | null | undefined, digits = 5): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

async function candidateActive(db: Kysely<Database>, plan: RolloutPlan): Promise<boolean> {
  const row = await db.selectFrom('deployments').select('id').where('rollout_id', '=', plan.rolloutId).where('ended_at', 'is', null).executeTakeFirst();
  return row !== undefined;
}

/** The routes a step starts and ends. Salts are per rollout, so canary steps keep their units. */
function routeChange(plan: RolloutPlan, phaseIndex: number, step: RouteStep): { start: NewRoute[]; end: RouteSelector[]; reason: string; key: string } {
  const key = `${plan.rolloutId}:${phaseIndex}:${step.kind}${step.kind === 'canary' ? `:${step.stepIndex}` : ''}`;
  const champion = plan.champion!;
  switch (step.kind) {
    case 'shadow': {
      const phase = phaseOf(plan, phaseIndex, 'shadow');
      return { key, start: [{ versionId: plan.candidate, mode: 'shadow', trafficPercent: phase.trafficPercent }], end: [], reason: `rollout ${plan.rolloutId}: shadow ${phase.trafficPercent}% of requests` };
    }
    case 'canary': {
      const phase = phaseOf(plan, phaseIndex, 'canary');
      const percent = phase.steps[step.stepIndex];
      return {
        key,
        start: [{ versionId: plan.candidate, mode: 'canary', trafficPercent: percent, salt: `${plan.salt}:canary` }],
        end: [{ mode: 'canary', rolloutId: plan.rolloutId }],
        reason: `rollout ${plan.rolloutId}: canary step ${step.stepIndex + 1}/${phase.steps.length} at ${percent}%`,
      };
    }
    case 'ab': {
      const phase = phaseOf(plan, phaseIndex, 'ab');
      const salt = `${plan.salt}:ab:${phaseIndex}`;
      return {
        key,
        start: [
          { versionId: champion, mode: 'ab', trafficPercent: phase.treatmentPercent, arm: 'control', salt },
          { versionId: plan.candidate, mode: 'ab', trafficPercent: phase.treatmentPercent, arm: 'treatment', salt },
        ],
        end: [],
        reason: `rollout ${plan.rolloutId}: A/B test, ${phase.treatmentPercent}% control vs ${phase.treatmentPercent}% treatment on ${phase.settings.metric}`,
      };
    }
    case 'interleaving': {
      const phase = phaseOf(plan, phaseIndex, 'interleaving');
      const salt = `${plan.salt}:interleaving:${phaseIndex}`;
      return {
        key,
        start: [
          { versionId: champion, mode: 'interleaving', trafficPercent: phase.trafficPercent, arm: 'A', salt },
          { versionId: plan.candidate, mode: 'interleaving', trafficPercent: phase.trafficPercent, arm: 'B', salt },
        ],
        end: [],
        reason: `rollout ${plan.rolloutId}: interleaving ${phase.trafficPercent}% of ranking units`,
      };
    }
    case 'end':
      return { key, start: [], end: [{ rolloutId: plan.rolloutId }], reason: `rollout ${plan.rolloutId}: phase ${phaseIndex + 1} (${plan.phases[phaseIndex]?.kind}) passed` };
  }
}

async function measureBaseline(db: Kysely<Database>, model: string, champion: string, metric: OnlineMetric, label: LabelRule): Promise<MeasuredBaseline | null> {
  const m = await readArmMetrics(db, { model, versionId: champion, mode: 'served', since: new Date(Date.now() - 7 * 86_400_000), label, metric, asOf: new Date(), limit: 20_000, sampleSize: 1 });
  if (m.metric.n < 2) return null;
  return { mean: m.metric.mean, standardDeviation: Math.sqrt(m.metric.variance), labelled: m.metric.n };
}

function labelRuleFromSpec(spec: Record<string, unknown>): { eventType: string; window: string } | null {
  const labels = spec.labels as { kind?: string; eventType?: string; window?: string; joinOn?: string } | undefined;
  // Only a request-joined "event within window" rule gives one label per logged prediction.
  if (labels?.kind === 'event_within' && labels.eventType && labels.window && (labels.joinOn ?? 'request_id') === 'request_id') return { eventType: labels.eventType, window: labels.window };
  return null;
}

export function rolloutActivities(deps: ActivityDeps) {
  const { db } = deps;

  function metricsFor(plan: RolloutPlan, versionId: string, metric: OnlineMetric, routingMode: string, since: Date, asOf: Date): Promise<ArmMetrics> {
    return readArmMetrics(db, { model: plan.model, versionId, mode: 'served', routingMode, since, label: plan.label, metric, asOf });
  }

  return {
    /** Validates the rollout and returns its plan; the plan is stored, so a retry returns the same one. */
    async prepareRollout(request: PrepareRolloutRequest): Promise<RolloutPlan> {
      const stored = await db.selectFrom('rollouts').select('plan').where('id', '=', request.rolloutId).executeTakeFirst();
      if (stored) return stored.plan as unknown as RolloutPlan;
      const model = await db.selectFrom('models').select('spec').where('name', '=', request.model).executeTakeFirst();
      if (!model) throw fail(RolloutFailure.UnknownModel, `unknown model "${request.model}": apply its spec first (flywheel models apply <spec>)`);
      const version = await db.selectFrom('model_versions').select(['model_name', 'status']).where('id', '=', request.candidate).executeTakeFirst();
      if (!version || version.model_name !== request.model) throw fail(RolloutFailure.UnknownVersion, `version "${request.candidate}" does not exist for model "${request.model}"`);
      if (version.status !== 'candidate') throw fail(RolloutFailure.RolloutConflict, `${request.candidate} is ${version.status}, not a candidate: only a registered candidate can be rolled out`);
      const running = await db.selectFrom('rollouts').select(['id', 'candidate_version_id']).where('model_name', '=', request.model).where('status', '=', 'running').executeTakeFirst();
      if (running) throw fail(RolloutFailure.RolloutConflict, `model "${request.model}" is already rolling out ${running.candidate_version_id} (${running.id}); finish or abort it first`);
      const spec = model.spec as Record<string, unknown>;
      let rollout;
      try {
        rollout = parseRolloutSpec(request.rollout ?? spec.rollout ?? {});
      } catch (error) {
        if (error instanceof InvalidRolloutSpecError) throw fail(RolloutFailure.InvalidSpec, error.message);
        throw error;
      }
      const champion = (await currentChampion(db, request.model))?.id ?? null;
      const modelLabel = labelRuleFromSpec(spec);
      const draft = planRollout({ ...rollout, phases: [] }, { rolloutId: request.rolloutId, model: request.model, candidate: request.candidate, champion, modelLabel, baselines: {} });
      const baselines: Partial<Record<OnlineMetric, MeasuredBaseline | null>> = {};
      if (champion) for (const phase of rollout.phases) if (phase.kind === 'ab') baselines[phase.metric] = await measureBaseline(db, request.model, champion, phase.metric, draft.label);
      let plan: RolloutPlan;
      try {
        plan = planRollout(rollout, { rolloutId: request.rolloutId, model: request.model, candidate: request.candidate, champion, modelLabel, baselines });
      } catch (error) {
        if (error instanceof InvalidRolloutSpecError) throw fail(RolloutFailure.InvalidSpec, error.message);
        throw error;
      }
      await db
        .insertInto('rollouts')
        .values({ id: request.rolloutId, model_name: request.model, candidate_version_id: request.candidate, champion_version_id: champion, pipeline_run_id: request.pipelineRunId ?? null, status: 'running', phase: null, reason: null, plan: JSON.stringify(plan) })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      return plan;
    },

    /** Starts (or ends) the routes of one rollout step. */
    async applyRolloutRoute(request: RouteRequest): Promise<RouteResult> {
      const { plan, phaseIndex, step } = request;
      const change = routeChange(plan, phaseIndex, step);
      try {
        const applied: AppliedChange = await applyRoutingChange(db, {
          model: plan.model,
          changeKey: change.key,
          kind: `rollout_${step.kind}`,
          reason: change.reason,
          rolloutId: plan.rolloutId,
          start: change.start,
          end: change.end,
          // Experiment routes compare with the champion the plan was made against; anything else is a conflict.
          expectChampion: step.kind === 'end' ? undefined : plan.champion,
        });
        await db.updateTable('rollouts').set({ phase: `${phaseIndex}:${step.kind}${step.kind === 'canary' ? `:${step.stepIndex}` : ''}` }).where('id', '=', plan.rolloutId).execute();
        return { at: applied.at, revision: applied.revision, applied: applied.applied };
      } catch (error) {
        throw asFailure(error);
      }
    },

    /** Shadow vs champion on the same requests (paired), plus the shadow's error rate and prediction shift. */
    async checkRolloutShadow(request: ShadowCheckRequest): Promise<PhaseCheck> {
      const { plan } = request;
      const phase: PlannedShadow = phaseOf(plan, request.phaseIndex, 'shadow');
      const asOf = new Date();
      const m = await readPairedMetrics(db, { model: plan.model, candidate: plan.candidate, champion: plan.champion!, since: new Date(request.since), label: plan.label, metric: phase.metric, asOf });
      const checks: GuardrailCheck[] = [];
      if (m.pairs >= Math.max(2, phase.minLabelled)) {
        const worse = degradation(phase.metric, m.candidate.mean, m.champion.mean);
        // Paired differences, looked at repeatedly: the always-valid mSPRT p-value against the tolerance.
        const sd = Math.sqrt(m.difference.variance);
        const test = msprtNormal(worse, m.difference.variance / m.difference.n, { tau: Math.max(phase.maxDegradation, 0.25 * sd, 1e-6), theta0: phase.maxDegradation, alpha: phase.alpha });
        const breach = worse > phase.maxDegradation && test.pValue < phase.alpha;
        checks.push({ name: 'metric', status: breach ? 'breach' : 'ok', observed: worse, limit: phase.maxDegradation, message: `${phase.metric} on ${m.pairs} shared requests: candidate ${round(m.candidate.mean)} vs champion ${round(m.champion.mean)} (${describeGap(worse)}, always-valid paired p=${round(test.pValue, 6)} against ${phase.maxDegradation})` });
      } else {
        checks.push({ name: 'metric', status: 'insufficient', observed: null, limit: phase.maxDegradation, message: `${m.pairs} labelled shared requests, need ${phase.minLabelled}` });
      }
      const errorRate = m.shadowRequests ? m.shadowErrors / m.shadowRequests : 0;
      checks.push({
        name: 'error_rate',
        status: m.shadowRequests < 100 ? 'insufficient' : errorRate > phase.maxErrorRate ? 'breach' : 'ok',
        observed: errorRate,
        limit: phase.maxErrorRate,
        message: `shadow error rate ${round(errorRate)} (${m.shadowErrors}/${m.shadowRequests}); limit ${phase.maxErrorRate}`,
      });
      if (m.candidatePredictions.length >= 200) {
        const value = psi(Float64Array.from(m.championPredictions), Float64Array.from(m.candidatePredictions), { feature: 'prediction' }).value;
        checks.push({ name: 'prediction_shift', status: value > phase.maxPredictionPsi ? 'breach' : 'ok', observed: value, limit: phase.maxPredictionPsi, message: `prediction PSI shadow vs champion on the same requests ${round(value, 4)}; limit ${phase.maxPredictionPsi}` });
      }
      const bad = breaches(checks);
      const judged = checks.every((c) => c.status !== 'insufficient');
      return {
        status: bad.length ? 'fail' : judged ? 'pass' : 'continue',
        reason: bad.length ? `shadow guardrail breached: ${bad.map((c) => c.message).join('; ')}` : checks.map((c) => c.message).join('; '),
        checks,
        stats: { pairs: m.pairs, candidate: round(m.candidate.mean), champion: round(m.champion.mean), shadowRequests: m.shadowRequests, shadowErrors: m.shadowErrors },
        candidateActive: await candidateActive(db, plan),
      };
    },

    /** Canary guardrails: the candidate's traffic in this step against the champion's since the canary began. */
    async checkRolloutCanary(request: CanaryCheckRequest): Promise<PhaseCheck> {
      const { plan } = request;
      const phase: PlannedCanary = phaseOf(plan, request.phaseIndex, 'canary');
      const asOf = new Date();
      // The champion's baseline reaches back one step length before the canary, so a 100% step still has one.
      const championSince = new Date(new Date(request.phaseSince).getTime() - phase.stepDurationMs);
      const [candidate, champion] = await Promise.all([
        metricsFor(plan, plan.candidate, phase.guardrails.metric, 'canary', new Date(request.stepSince), asOf),
        metricsFor(plan, plan.champion!, phase.guardrails.metric, 'champion', championSince, asOf),
      ]);
      const checks = checkGuardrails(observation(candidate), observation(champion), phase.guardrails);
      const bad = breaches(checks);
      const enough = candidate.metric.n >= phase.minLabelledPerStep && checks.every((c) => c.status !== 'insufficient');
      return {
        status: bad.length ? 'fail' : enough ? 'pass' : 'continue',
        reason: bad.length
          ? `canary guardrail breached at ${phase.steps[request.stepIndex]}%: ${bad.map((c) => c.message).join('; ')}`
          : `step ${request.stepIndex + 1}/${phase.steps.length} (${phase.steps[request.stepIndex]}%): ${candidate.metric.n} labelled (need ${phase.minLabelledPerStep}); ${checks.map((c) => `${c.name} ${c.status}`).join(', ')}`,
        checks,
        stats: { percent: phase.steps[request.stepIndex], candidateRequests: candidate.requests, candidateLabelled: candidate.metric.n, candidateMetric: round(candidate.metric.mean), championLabelled: champion.metric.n, championMetric: round(champion.metric.mean) },
        candidateActive: await candidateActive(db, plan),
      };
    },

    /** The A/B test at one look, with the operational guardrails still enforced. */
    async checkRolloutAb(request: AbCheckRequest): Promise<PhaseCheck> {
      const { plan } = request;
      const phase: PlannedAb = phaseOf(plan, request.phaseIndex, 'ab');
      const asOf = new Date();
      const since = new Date(request.since);
      const [control, treatment] = await Promise.all([
        metricsFor(plan, plan.champion!, phase.settings.metric, 'ab', since, asOf),
        metricsFor(plan, plan.candidate, phase.settings.metric, 'ab', since, asOf),
      ]);
      const checks = checkGuardrails(observation(treatment), observation(control), phase.guardrails);
      const bad = breaches(checks);
      const verdict = decideAb(control.metric, treatment.metric, phase.settings, request.previousPValue);
      const stats = { controlLabelled: control.metric.n, treatmentLabelled: treatment.metric.n, control: round(control.metric.mean), treatment: round(treatment.metric.mean), samplesPerArm: phase.settings.samplesPerArm, pValue: round(verdict.pValue, 8) };
      const active = await candidateActive(db, plan);
      const pValue = verdict.sequential?.pValue ?? request.previousPValue;
      if (bad.length) return { status: 'fail', reason: `A/B guardrail breached: ${bad.map((c) => c.message).join('; ')}`, checks, stats, candidateActive: active, pValue };
      const status: CheckStatus = verdict.decision === 'treatment' ? 'pass' : verdict.decision === 'control' ? 'fail' : verdict.decision === 'inconclusive' ? 'inconclusive' : 'continue';
      const prefix = { treatment: 'A/B: the candidate wins', control: 'A/B: the champion wins', inconclusive: 'A/B: no significant difference', continue: 'A/B running' }[verdict.decision];
      return { status, reason: `${prefix}: ${verdict.message}`, checks, stats, candidateActive: active, pValue };
    },

    /** Team-draft interleaving: clicks credited per impression, then the sign test. */
    async checkRolloutInterleaving(request: ShadowCheckRequest): Promise<PhaseCheck> {
      const { plan } = request;
      const phase: PlannedInterleaving = phaseOf(plan, request.phaseIndex, 'interleaving');
      const counts = await readInterleavingCounts(db, { model: plan.model, a: plan.champion!, b: plan.candidate, since: new Date(request.since), label: plan.label, asOf: new Date() });
      const pref = interleavingPreference(counts.winsA, counts.winsB, counts.ties, phase.alpha);
      const stats = { impressions: counts.impressions, withClicks: counts.withClicks, winsChampion: counts.winsA, winsCandidate: counts.winsB, ties: counts.ties, deltaCandidate: round(pref.deltaB), pValue: round(pref.pValue, 8) };
      const text = `candidate won ${counts.winsB}, champion ${counts.winsA}, ties ${counts.ties} of ${counts.impressions} impressions (Δ ${round(pref.deltaB, 4)}, sign test p=${round(pref.pValue, 6)})`;
      const active = await candidateActive(db, plan);
      if (counts.withClicks < phase.minImpressions) return { status: 'continue', reason: `interleaving: ${counts.withClicks} impressions with clicks, need ${phase.minImpressions}; ${text}`, checks: [], stats, candidateActive: active };
      const status: CheckStatus = pref.preferred === 'B' ? 'pass' : pref.preferred === 'A' ? 'fail' : 'inconclusive';
      const prefix = { pass: 'users prefer the candidate', fail: 'users prefer the champion', inconclusive: 'no significant preference' }[status as 'pass' | 'fail' | 'inconclusive'];
      return { status, reason: `interleaving: ${prefix}: ${text}`, checks: [], stats, candidateActive: active };
    },

    /** The candidate becomes champion: every route of the rollout and the old champion's row end in one change. */
    async promoteRolloutCandidate(request: FinishRequest): Promise<RouteResult> {
      const { plan } = request;
      try {
        const applied = await applyRoutingChange(db, {
          model: plan.model,
          changeKey: `${plan.rolloutId}:promote`,
          kind: 'promote',
          reason: `rollout ${plan.rolloutId}: ${request.reason}`,
          rolloutId: plan.rolloutId,
          end: [{ rolloutId: plan.rolloutId }, { mode: 'champion' }],
          start: [{ versionId: plan.candidate, mode: 'champion', trafficPercent: 100 }],
          statuses: [
            ...(plan.champion ? [{ versionId: plan.champion, status: 'retired' as const, onlyFrom: ['champion' as const] }] : []),
            { versionId: plan.candidate, status: 'champion' },
          ],
          expectChampion: plan.champion,
          detail: request.evidence,
        });
        return { at: applied.at, revision: applied.revision, applied: applied.applied };
      } catch (error) {
        throw asFailure(error);
      }
    },

    /** Ends every route of the rollout (all traffic back on the champion) and records why. */
    async rollBackRolloutCandidate(request: FinishRequest & { status: 'rolled_back' | 'rejected' }): Promise<RouteResult> {
      const { plan } = request;
      const applied = await applyRoutingChange(db, {
        model: plan.model,
        changeKey: `${plan.rolloutId}:rollback`,
        kind: 'rollback',
        reason: `rollout ${plan.rolloutId}: ${request.reason}`,
        rolloutId: plan.rolloutId,
        end: [{ rolloutId: plan.rolloutId }],
        statuses: [{ versionId: plan.candidate, status: request.status, onlyFrom: ['candidate'] }],
        detail: request.evidence,
      });
      return { at: applied.at, revision: applied.revision, applied: applied.applied };
    },

    /** Records how the rollout ended (rollouts row). */
    async closeRollout(request: CloseRolloutRequest): Promise<void> {
      await db
        .updateTable('rollouts')
        .set({ status: request.status, reason: request.reason, phase: request.phase, summary: JSON.stringify(request.summary), finished_at: new Date() })
        .where('id', '=', request.plan.rolloutId)
        .execute();
    },

    /** Operator's emergency lever: the previous champion serves again (see lineage/routing.ts). */
    async rollbackChampion(request: { model: string; reason: string; changeKey?: string }): Promise<ChampionRollback> {
      try {
        return await rollbackToPreviousChampion(db, request.model, request.reason, request.changeKey);
      } catch (error) {
        throw asFailure(error);
      }
    },
  };
}

export type RolloutActivities = ReturnType<typeof rolloutActivities>;
