// The state the stage-4 continual workflow keeps (and carries across continue-as-new), as the
// `continualState` query returns it.
import type { AdmissionState, TriggerSignal } from '../lifecycle/triggers';

export interface CheckRecord {
  at: string;
  signals: TriggerSignal[];
  outcome: string;
  retrainWorkflowId?: string;
}

export interface ContinualState extends AdmissionState {
  paused: boolean;
  checks: number;
  retrainsStarted: number;
  /** Upstream champions announced by signal and not yet acted on. */
  pendingUpstream: string[];
  forceRetrain: string | null;
  lastChecks: CheckRecord[];
  lastRetrain: { workflowId: string; reason: string; result: string } | null;
}

