// The typed client other services import: one object over Temporal (starts, signals, updates) and
// the lineage database (specs, lineage queries). Every start is idempotent through meaningful
// workflow ids; every method that starts work returns a handle the caller can await.
import type { Client } from '@temporalio/client';
import { loadConfig } from '../infra/config';
import { connectClient } from '../infra/temporal-connection';
import { ancestry, championAt, modelHistory, type AncestryNode, type ModelHistoryEntry } from '../lineage/ancestry';
import { openLineageDb, type LineageDb } from '../lineage/db';
import { currentChampion } from '../lineage/models';
import type { ModelVersionRow } from '../lineage/schema';
import { continualWorkflowIdFor, scheduleIdFor } from '../schedules/reconcile';
import type { ContinualState } from '../workflows/continual-state';
import type { ApprovalDecision, RetrainResult } from '../workflows/types';
import { applyModel, type ApplyOutcome } from './apply';
import { approveModelCandidate, pendingApprovals, type PendingApproval } from './approvals';
import { startRetrain, type RetrainHandle, type RetrainRequest } from './retrain';
import { modelStatus, type ModelStatus } from './status';
import { sweepArtifactsNow, type SweepArtifactsRequest } from './sweep';
import { rollbackToPreviousChampion, whoServed } from '../lineage/routing';
import { abortRollout, approveRollout, getRolloutState, pauseRollout, resumeRollout, rolloutHandle, startRollout, type RolloutRequest } from '../serving/rollout-control';

export type { RetrainRequest, RetrainHandle } from './retrain';
export type { ModelStatus, ModelStatusRun } from './status';
export type { RetrainResult, RetrainInput, ApprovalDecision } from '../workflows/types';

export interface FlywheelConnectOptions {
  temporalAddress?: string;
  namespace?: string;
  /** postgres://…; default DATABASE_URL (unset → the embedded PGlite of this checkout). */
  databaseUrl?: string;
}

export class FlywheelClient {
  constructor(
    readonly temporal: Client,
    readonly lineage: LineageDb,
  ) {}

  static async connect(options: FlywheelConnectOptions = {}): Promise<FlywheelClient> {
    const config = loadConfig();
    const lineage = await openLineageDb({ url: options.databaseUrl ?? config.databaseUrl });
    try {
      const temporal = await connectClient(options.temporalAddress ?? config.temporalAddress, options.namespace ?? config.temporalNamespace);
      return new FlywheelClient(temporal, lineage);
    } catch (error) {
      await lineage.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.temporal.connection.close();
    await this.lineage.close();
  }

  /** Validates, stores and reconciles a spec (stage 1 nothing, 2-3 a Schedule, 4 the continual workflow). */
  applyModel(spec: unknown): Promise<ApplyOutcome> {
    return applyModel(this.temporal, this.lineage.db, spec);
  }

  /** Starts (or, with the same idempotencyKey, re-attaches to) a retrain; await handle.result() or pass wait. */
  retrain(request: RetrainRequest & { wait: true }): Promise<RetrainResult>;
  retrain(request: RetrainRequest & { wait?: false }): Promise<RetrainHandle>;
  async retrain(request: RetrainRequest & { wait?: boolean }): Promise<RetrainResult | RetrainHandle> {
    const handle = await startRetrain(this.temporal, request);
    return request.wait ? handle.result() : handle;
  }

  pendingApprovals(model: string): Promise<PendingApproval[]> {
    return pendingApprovals(this.temporal, model);
  }

  approve(model: string, decision: ApprovalDecision, workflowId?: string) {
    return approveModelCandidate(this.temporal, model, decision, workflowId);
  }

  readonly schedules = {
    pause: (model: string, note = 'paused by the Flywheel client') => this.temporal.schedule.getHandle(scheduleIdFor(model)).pause(note),
    resume: (model: string, note = 'resumed by the Flywheel client') => this.temporal.schedule.getHandle(scheduleIdFor(model)).unpause(note),
    trigger: (model: string) => this.temporal.schedule.getHandle(scheduleIdFor(model)).trigger(),
    backfill: (model: string, start: Date, end: Date) => this.temporal.schedule.getHandle(scheduleIdFor(model)).backfill({ start, end, overlap: 'BUFFER_ALL' }),
    describe: (model: string) => this.temporal.schedule.getHandle(scheduleIdFor(model)).describe(),
  };

  readonly continual = {
    pause: (model: string) => this.temporal.workflow.getHandle(continualWorkflowIdFor(model)).signal('pause'),
    resume: (model: string) => this.temporal.workflow.getHandle(continualWorkflowIdFor(model)).signal('resume'),
    checkNow: (model: string) => this.temporal.workflow.getHandle(continualWorkflowIdFor(model)).signal('checkNow'),
    retrainNow: (model: string, requestedBy = 'Flywheel client') => this.temporal.workflow.getHandle(continualWorkflowIdFor(model)).signal('retrainNow', requestedBy),
    state: (model: string) => this.temporal.workflow.getHandle(continualWorkflowIdFor(model)).query<ContinualState>('continualState'),
  };

  /** Operator controls of a staged rollout (rollout/<model>/<candidate>). */
  readonly rollouts = {
    start: (request: RolloutRequest) => startRollout(this.temporal, request),
    state: (model: string, candidateVersionId: string) => getRolloutState(rolloutHandle(this.temporal, model, candidateVersionId)),
    pause: (model: string, candidateVersionId: string, reason?: string) => pauseRollout(rolloutHandle(this.temporal, model, candidateVersionId), reason),
    resume: (model: string, candidateVersionId: string) => resumeRollout(rolloutHandle(this.temporal, model, candidateVersionId)),
    abort: (model: string, candidateVersionId: string, reason: string) => abortRollout(rolloutHandle(this.temporal, model, candidateVersionId), reason),
    approve: (model: string, candidateVersionId: string, note?: string) => approveRollout(rolloutHandle(this.temporal, model, candidateVersionId), note),
  };

  /** Puts the previous champion back (routing history and version statuses updated). */
  rollback(model: string, reason: string) {
    return rollbackToPreviousChampion(this.lineage.db, model, reason);
  }

  /** Which version served `unitId` at instant `at`, from the routing history. */
  whoServed(model: string, unitId: string, at: Date) {
    return whoServed(this.lineage.db, model, unitId, at);
  }

  champion(model: string): Promise<ModelVersionRow | undefined> {
    return currentChampion(this.lineage.db, model);
  }

  championAt(model: string, at: Date): Promise<ModelVersionRow | null> {
    return championAt(this.lineage.db, model, at);
  }

  ancestry(versionId: string): Promise<AncestryNode[]> {
    return ancestry(this.lineage.db, versionId);
  }

  history(model: string): Promise<ModelHistoryEntry[]> {
    return modelHistory(this.lineage.db, model);
  }

  /** Runs the artifact sweep now (what the daily `artifact-sweep` Schedule does) and returns its summary. */
  sweepArtifacts(request: SweepArtifactsRequest = {}) {
    return sweepArtifactsNow(this.temporal, request);
  }

  /** Models (or one model) with stage, champion and latest runs: the same answer as `flywheel status --json`. */
  status(model?: string): Promise<ModelStatus[]> {
    return modelStatus(this.lineage.db, model);
  }
}
