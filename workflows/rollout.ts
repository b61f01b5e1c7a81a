// The staged rollout of one candidate version: shadow, canary, A/B and interleaving phases as the
// model spec's rollout section lists them, then promotion. A guardrail breach, a lost test or an
// operator's abort ends every route of the candidate (all traffic back on the champion) and says
// why. Deterministic and thin: timers are workflow timers, every read and write is an activity,
// and operators steer it with updates (pause, resume, abort, approve) and the rolloutState query.
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  defineQuery,
  defineUpdate,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PhaseCheck, RolloutActivities, RouteResult } from '../activities/rollout';
import type { RolloutPlan } from '../serving/rollout-spec';
import { NON_RETRYABLE_FAILURES } from './failure-types';
import { rootMessage } from './root-message';
import { CandidateVersion, ModelName, PipelineStep } from './search-attributes';

// Kept in step with RolloutFailure in activities/rollout.ts (workflow code imports no activity code).
const ROLLOUT_NON_RETRYABLE = [...NON_RETRYABLE_FAILURES, 'UnknownVersion', 'RolloutConflict', 'NoPreviousChampion'];

const acts = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes: ROLLOUT_NON_RETRYABLE },
});

export type RolloutOutcome = 'promoted' | 'rolled_back' | 'aborted' | 'kept_champion' | 'superseded';

export interface RolloutInput {
  modelName: string;
  candidateVersionId: string;
  /** Overrides the model spec's rollout section (same schema: serving/rollout-spec.ts). */
  rollout?: unknown;
  /** The retrain run that produced the candidate, when started by the DAG. */
  pipelineRunId?: string | null;
  /** Looks per run before continuing as new (keeps history small on long rollouts); default 1,000. */
  maxChecksPerRun?: number;
  /** Set by continue-as-new only. */
  resume?: RolloutResume;
}

export interface PhaseRecord {
  phase: number;
  kind: string;
  step: number | null;
  trafficPercent: number | null;
  startedAt: string;
  endedAt: string | null;
  result: 'running' | 'passed' | 'failed' | 'inconclusive' | 'aborted' | 'approved';
  summary: string;
}

export interface RolloutState {
  rolloutId: string;
  model: string;
  candidate: string;
  champion: string | null;
  status: 'preparing' | 'running' | 'paused' | 'awaiting_approval' | RolloutOutcome | 'failed';
  paused: boolean;
  /** Where the rollout is: phase index and kind, canary step, traffic share, time in the step (paused time excluded). */
  position: { phase: number; kind: string; step: number | null; trafficPercent: number | null; elapsedMs: number } | null;
  lastCheck: (PhaseCheck & { at: string }) | null;
  checks: number;
  history: PhaseRecord[];
  reason: string | null;
}

export interface RolloutResume {
  plan: RolloutPlan;
  phaseIndex: number;
  stepIndex: number;
  /** When the current step's routes took effect (its metric window starts there). */
  stepSince: string;
  /** Canary: when the first step began. */
  phaseSince: string;
  elapsedMs: number;
  previousPValue: number;
  state: RolloutState;
}

export interface RolloutResult {
  rolloutId: string;
  model: string;
  candidate: string;
  /** The champion when the rollout started. */
  previousChampion: string | null;
  outcome: RolloutOutcome;
  reason: string;
  /** The champion when it ended. */
  champion: string | null;
  history: PhaseRecord[];
}

export const rolloutStateQuery = defineQuery<RolloutState>('rolloutState');
export const pauseRolloutUpdate = defineUpdate<RolloutState, [reason: string]>('pauseRollout');
export const resumeRolloutUpdate = defineUpdate<RolloutState, []>('resumeRollout');
export const abortRolloutUpdate = defineUpdate<RolloutState, [reason: string]>('abortRollout');
export const approveRolloutUpdate = defineUpdate<RolloutState, [note: string]>('approveRollout');

/** Why a phase stopped waiting. */
type WatchEnd = { kind: 'pass' | 'fail' | 'inconclusive' | 'timeout' | 'abort' | 'superseded' | 'approved' | 'unapproved'; check: PhaseCheck | null };

class RolloutEnded extends Error {
  constructor(
    readonly outcome: Exclude<RolloutOutcome, 'promoted'>,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function finished(status: RolloutState['status']): boolean {
  return !['preparing', 'running', 'paused', 'awaiting_approval'].includes(status);
}

export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutResult> {
  const info = workflowInfo();
  const rolloutId = input.resume?.plan.rolloutId ?? `${info.workflowId}#${info.firstExecutionRunId}`;
  const state: RolloutState = input.resume?.state ?? {
    rolloutId,
    model: input.modelName,
    candidate: input.candidateVersionId,
    champion: null,
    status: 'preparing',
    paused: false,
    position: null,
    lastCheck: null,
    checks: 0,
    history: [],
    reason: null,
  };
  const operator = { abort: null as string | null, approvals: 0 };
  let statusBeforePause: RolloutState['status'] = 'running';
  let checksThisRun = 0;
  const maxChecks = input.maxChecksPerRun ?? 1_000;

  setHandler(rolloutStateQuery, () => state);
  const whileRunning = () => {
    if (finished(state.status)) throw new Error(`rollout ${rolloutId} has ended (${state.status})`);
  };
  setHandler(
    pauseRolloutUpdate,
    (reason) => {
      state.paused = true;
      statusBeforePause = state.status;
      state.status = 'paused';
      state.reason = reason || 'paused by an operator';
      return state;
    },
    {
      validator: (_reason: string) => {
        whileRunning();
        if (state.paused) throw new Error('the rollout is already paused');
      },
    },
  );
  setHandler(
    resumeRolloutUpdate,
    () => {
      state.paused = false;
      state.status = statusBeforePause;
      return state;
    },
    {
      validator: () => {
        whileRunning();
        if (!state.paused) throw new Error('the rollout is not paused');
      },
    },
  );
  setHandler(
    abortRolloutUpdate,
    (reason) => {
      operator.abort = reason;
      return state;
    },
    {
      validator: (reason) => {
        whileRunning();
        if (typeof reason !== 'string' || !reason.trim()) throw new Error('give a reason for the abort: it is recorded with the rollback');
      },
    },
  );
  setHandler(
    approveRolloutUpdate,
    () => {
      operator.approvals++;
      return state;
    },
    {
      validator: (_note: string) => {
        whileRunning();
        if (state.paused) throw new Error('the rollout is paused: resume it before approving');
      },
    },
  );

  upsertSearchAttributes([
    { key: ModelName, value: input.modelName },
    { key: CandidateVersion, value: input.candidateVersionId },
  ]);
  const enter = (label: string) => upsertSearchAttributes([{ key: PipelineStep, value: `rollout:${label}` }]);

  // Each activity carries a summary (user metadata on its scheduled event, not a command attribute,
  // so recorded histories still replay) that makes the Event History read as the rollout's steps.
  const plan =
    input.resume?.plan ??
    (await acts.prepareRollout.executeWithOptions({ summary: `plan the staged rollout of ${input.candidateVersionId}` }, [
      { rolloutId, model: input.modelName, candidate: input.candidateVersionId, rollout: input.rollout, pipelineRunId: input.pipelineRunId ?? null },
    ]));
  state.champion = plan.champion;
  if (!input.resume) {
    state.status = 'running';
    upsertMemo({ rolloutId, phases: plan.phases.map((p) => p.kind), champion: plan.champion, label: plan.label });
  }

  /** The last phase waits for an operator's approval when the spec says so. */
  const gated = (phaseIndex: number) => plan.approval === 'manual' && phaseIndex === plan.phases.length - 1;

  const record = (entry: Omit<PhaseRecord, 'endedAt' | 'result' | 'summary'>): PhaseRecord => {
    const full: PhaseRecord = { ...entry, endedAt: null, result: 'running', summary: '' };
    state.history.push(full);
    return full;
  };
  const close = (entry: PhaseRecord, result: PhaseRecord['result'], summary: string) => {
    entry.endedAt = new Date().toISOString();
    entry.result = result;
    entry.summary = summary;
  };

  let resume = input.resume;
  let previousPValue = resume?.previousPValue ?? 1;

  /**
   * Looks at the phase every check interval until its verdict is in, holding while paused (the
   * clock stops; guardrails still run and can still roll back), waking early on abort and approve.
   * With `gate` (the last step under manual approval) a passing phase keeps being watched, guardrails
   * and all, until an operator approves or the approval timeout runs out.
   */
  async function watch(
    position: { phase: number; step: number; stepSince: string; phaseSince: string },
    limits: { minMs: number; maxMs: number },
    evaluate: () => Promise<PhaseCheck>,
    gate = false,
  ): Promise<WatchEnd> {
    let elapsed = resume?.elapsedMs ?? 0;
    resume = undefined;
    let last = Date.now();
    let approvalsSeen = operator.approvals;
    let readySince: number | null = null;
    for (;;) {
      await condition(() => operator.abort !== null || operator.approvals > approvalsSeen, plan.checkIntervalMs);
      const now = Date.now();
      if (!state.paused) elapsed += now - last;
      last = now;
      if (state.position) state.position.elapsedMs = elapsed;
      if (operator.abort !== null) return { kind: 'abort', check: null };
      const check = await evaluate();
      state.checks++;
      checksThisRun++;
      state.lastCheck = { ...check, at: new Date().toISOString() };
      if (!check.candidateActive) return { kind: 'superseded', check };
      if (check.status === 'fail') return { kind: 'fail', check };
      if (operator.approvals > approvalsSeen && !state.paused) return { kind: 'approved', check };
      approvalsSeen = operator.approvals;
      if (!state.paused) {
        const ready = (check.status === 'pass' || check.status === 'inconclusive') && elapsed >= limits.minMs;
        if (ready && gate && check.status === 'pass') {
          readySince ??= now;
          state.status = 'awaiting_approval';
          if (now - readySince >= plan.approvalTimeoutMs) return { kind: 'unapproved', check };
        } else {
          if (gate && state.status === 'awaiting_approval') state.status = 'running';
          if (ready) return { kind: check.status === 'pass' ? 'pass' : 'inconclusive', check };
          if (elapsed >= limits.maxMs) return { kind: 'timeout', check };
        }
      }
      if (checksThisRun >= maxChecks || workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof rolloutWorkflow>({
          ...input,
          resume: { plan, phaseIndex: position.phase, stepIndex: position.step, stepSince: position.stepSince, phaseSince: position.phaseSince, elapsedMs: elapsed, previousPValue, state },
        });
      }
    }
  }

  async function route(phase: number, step: Parameters<RolloutActivities['applyRolloutRoute']>[0]['step']): Promise<RouteResult> {
    return acts.applyRolloutRoute.executeWithOptions({ summary: routeSummary(plan, phase, step) }, [{ plan, phaseIndex: phase, step }]);
  }

  /** Turns a phase's end into "go on" or a RolloutEnded with the outcome and the reason. */
  function judge(end: WatchEnd, entry: PhaseRecord, what: string, ifInconclusive: 'keep_champion' | 'promote' = 'keep_champion'): void {
    const reason = end.check?.reason ?? '';
    switch (end.kind) {
      case 'pass':
        close(entry, 'passed', reason);
        return;
      case 'approved':
        close(entry, 'approved', `approved by an operator; last look: ${reason}`);
        return;
      case 'fail':
        close(entry, 'failed', reason);
        throw new RolloutEnded('rolled_back', reason);
      case 'abort':
        close(entry, 'aborted', operator.abort!);
        throw new RolloutEnded('aborted', `aborted by an operator: ${operator.abort}`);
      case 'superseded':
        close(entry, 'aborted', 'routes ended outside the rollout');
        throw new RolloutEnded('superseded', `the candidate's routes were ended outside this rollout (e.g. a champion rollback) during ${what}`);
      case 'unapproved': {
        const why = `${what} passed but no operator approved the promotion within ${Math.round(plan.approvalTimeoutMs / 1000)} s`;
        close(entry, 'inconclusive', why);
        throw new RolloutEnded('kept_champion', why);
      }
      case 'inconclusive':
      case 'timeout': {
        const why = end.kind === 'timeout' ? `${what} reached its maximum duration without a verdict: ${reason}` : reason;
        if (ifInconclusive === 'promote') {
          close(entry, 'inconclusive', `${why} (the spec says promote when inconclusive)`);
          return;
        }
        close(entry, 'inconclusive', why);
        throw new RolloutEnded('kept_champion', why);
      }
    }
  }

  try {
    if (!plan.champion) {
      // A model's first version has nothing to be compared with.
      return await promote('no champion to compare with: the first version is promoted directly');
    }
    const startPhase = resume?.phaseIndex ?? 0;
    for (let i = startPhase; i < plan.phases.length; i++) {
      const phase = plan.phases[i];
      if (phase.kind === 'canary') {
        let phaseSince = resume?.phaseSince ?? null;
        for (let k = resume?.stepIndex ?? 0; k < phase.steps.length; k++) {
          enter(`canary:${phase.steps[k]}`);
          const routed = await route(i, { kind: 'canary', stepIndex: k });
          phaseSince ??= routed.at;
          state.position = { phase: i, kind: 'canary', step: k, trafficPercent: phase.steps[k], elapsedMs: 0 };
          const entry = resume ? state.history[state.history.length - 1] : record({ phase: i, kind: 'canary', step: k, trafficPercent: phase.steps[k], startedAt: routed.at });
          const since = phaseSince;
          const end = await watch(
            { phase: i, step: k, stepSince: routed.at, phaseSince: since },
            { minMs: phase.stepDurationMs, maxMs: phase.maxStepDurationMs },
            () =>
              acts.checkRolloutCanary.executeWithOptions({ summary: `check canary step ${phase.steps[k]}%: guardrails ${plan.candidate} vs ${plan.champion}` }, [
                { plan, phaseIndex: i, stepIndex: k, stepSince: routed.at, phaseSince: since },
              ]),
            gated(i) && k === phase.steps.length - 1,
          );
          judge(end, entry, `canary step ${phase.steps[k]}%`);
        }
      } else {
        enter(phase.kind);
        const routed = await route(i, { kind: phase.kind });
        const percent = phase.kind === 'ab' ? phase.treatmentPercent : phase.trafficPercent;
        state.position = { phase: i, kind: phase.kind, step: null, trafficPercent: percent, elapsedMs: 0 };
        const entry = resume ? state.history[state.history.length - 1] : record({ phase: i, kind: phase.kind, step: null, trafficPercent: percent, startedAt: routed.at });
        const where = { phase: i, step: 0, stepSince: routed.at, phaseSince: routed.at };
        let end: WatchEnd;
        if (phase.kind === 'shadow') {
          end = await watch(
            where,
            { minMs: phase.minDurationMs, maxMs: phase.maxDurationMs },
            () => acts.checkRolloutShadow.executeWithOptions({ summary: `check shadow: ${plan.candidate}'s predictions vs ${plan.champion}'s` }, [{ plan, phaseIndex: i, since: routed.at }]),
            gated(i),
          );
        } else if (phase.kind === 'ab') {
          end = await watch(
            where,
            { minMs: phase.minDurationMs, maxMs: phase.maxDurationMs },
            async () => {
              const check = await acts.checkRolloutAb.executeWithOptions({ summary: `check A/B test: ${plan.candidate} vs ${plan.champion}` }, [{ plan, phaseIndex: i, since: routed.at, previousPValue }]);
              previousPValue = check.pValue ?? previousPValue;
              return check;
            },
            gated(i),
          );
        } else {
          end = await watch(
            where,
            { minMs: phase.minDurationMs, maxMs: phase.maxDurationMs },
            () => acts.checkRolloutInterleaving.executeWithOptions({ summary: `check interleaving: ${plan.candidate} vs ${plan.champion}` }, [{ plan, phaseIndex: i, since: routed.at }]),
            gated(i),
          );
        }
        judge(end, entry, `the ${phase.kind} phase`, phase.kind === 'ab' || phase.kind === 'interleaving' ? phase.ifInconclusive : 'keep_champion');
      }
      // Experiment routes end between phases; the last phase's routes end with the promotion itself.
      if (i < plan.phases.length - 1) await route(i, { kind: 'end' });
      resume = undefined;
    }
    if (plan.approval === 'manual' && plan.phases.length === 0) {
      // No phase to watch while waiting: a plain approval gate.
      enter('awaiting_approval');
      if (!state.paused) state.status = 'awaiting_approval';
      else statusBeforePause = 'awaiting_approval';
      const seen = operator.approvals;
      const approved = await condition(() => operator.approvals > seen || operator.abort !== null, plan.approvalTimeoutMs);
      if (operator.abort !== null) throw new RolloutEnded('aborted', `aborted by an operator: ${operator.abort}`);
      if (!approved) throw new RolloutEnded('kept_champion', `no operator approved the promotion within ${Math.round(plan.approvalTimeoutMs / 1000)} s`);
      state.status = 'running';
    }
    const last = state.history[state.history.length - 1];
    return await promote(last ? `passed ${state.history.filter((h) => h.result !== 'running').length} rollout step(s); last: ${last.summary}` : 'no rollout phases configured');
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    // Ending routes must finish even if a cancellation arrives meanwhile.
    if (error instanceof RolloutEnded) return await CancellationScope.nonCancellable(() => end(error.outcome, error.reason));
    // A failure of the rollout itself (or a cancellation): take the candidate off the routes first.
    const reason = isCancellation(error) ? 'the rollout was cancelled' : `the rollout failed: ${rootMessage(error)}`;
    await CancellationScope.nonCancellable(async () => {
      await acts.rollBackRolloutCandidate.executeWithOptions({ summary: `take ${plan.candidate} off every route (rollout failed)` }, [{ plan, reason, status: 'rolled_back' }]);
      await acts.closeRollout.executeWithOptions({ summary: 'record the rollout as failed' }, [{ plan, status: 'failed', reason, phase: positionLabel(), summary: { history: state.history } }]);
    });
    state.status = 'failed';
    state.reason = reason;
    throw error;
  }

  function positionLabel(): string | null {
    return state.position ? `${state.position.kind}${state.position.trafficPercent !== null ? `:${state.position.trafficPercent}%` : ''}` : null;
  }

  async function promote(reason: string): Promise<RolloutResult> {
    enter('promote');
    await acts.promoteRolloutCandidate.executeWithOptions({ summary: `promote ${plan.candidate} to champion` }, [{ plan, reason, evidence: { lastCheck: state.lastCheck?.stats ?? null } }]);
    await acts.closeRollout.executeWithOptions({ summary: 'record the rollout as promoted' }, [{ plan, status: 'promoted', reason, phase: positionLabel(), summary: { history: state.history } }]);
    state.status = 'promoted';
    state.reason = reason;
    enter('promoted');
    return { rolloutId, model: plan.model, candidate: plan.candidate, previousChampion: plan.champion, outcome: 'promoted', reason, champion: plan.candidate, history: state.history };
  }

  async function end(outcome: Exclude<RolloutOutcome, 'promoted'>, reason: string): Promise<RolloutResult> {
    enter(outcome);
    // superseded: someone else already moved the routes; there is nothing of ours left to end.
    if (outcome !== 'superseded') {
      await acts.rollBackRolloutCandidate.executeWithOptions({ summary: `take ${plan.candidate} off every route (${outcome.replace('_', ' ')}), all traffic on ${plan.champion}` }, [
        { plan, reason, status: outcome === 'kept_champion' ? 'rejected' : 'rolled_back', evidence: { checks: state.lastCheck?.checks ?? [], stats: state.lastCheck?.stats ?? null } },
      ]);
    }
    await acts.closeRollout.executeWithOptions({ summary: `record the rollout as ${outcome.replace('_', ' ')}` }, [{ plan, status: outcome, reason, phase: positionLabel(), summary: { history: state.history } }]);
    state.status = outcome;
    state.reason = reason;
    return { rolloutId, model: plan.model, candidate: plan.candidate, previousChampion: plan.champion, outcome, reason, champion: plan.champion, history: state.history };
  }
}

/** The Event History's line for a routing change: which share of traffic the candidate gets, and how. */
function routeSummary(plan: RolloutPlan, phaseIndex: number, step: Parameters<RolloutActivities['applyRolloutRoute']>[0]['step']): string {
  const phase = plan.phases[phaseIndex];
  switch (step.kind) {
    case 'canary':
      return phase?.kind === 'canary' ? `route ${phase.steps[step.stepIndex]}% of traffic to ${plan.candidate} (canary)` : `route canary traffic to ${plan.candidate}`;
    case 'shadow':
      return `shadow ${plan.candidate} beside ${plan.champion}`;
    case 'ab':
      return `start the A/B test: ${plan.candidate} vs ${plan.champion}`;
    case 'interleaving':
      return `start interleaving ${plan.candidate} with ${plan.champion}`;
    case 'end':
      return `end the ${phase?.kind ?? 'phase'}'s routes`;
  }
}
