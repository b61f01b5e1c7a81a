// Signing off a candidate that the offline gate sent for approval: finds the model's retrain that
// waits for it and answers through the workflow's `approveCandidate` update.
import type { Client } from '@temporalio/client';
import type { ApprovalDecision, RetrainStatus } from '../workflows/types';

export interface PendingApproval {
  workflowId: string;
  candidateVersionId: string | null;
  reportHtmlUri: string | null;
}

/** Retrains of `model` currently waiting for a person, newest first. */
export async function pendingApprovals(client: Client, model: string): Promise<PendingApproval[]> {
  const found: PendingApproval[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowType = "retrainWorkflow" AND ModelName = "${model.replace(/"/g, '')}" AND ExecutionStatus = "Running"` })) {
    const status = await client.workflow.getHandle(run.workflowId).query<RetrainStatus>('retrainStatus');
    if (status.awaitingApproval) found.push({ workflowId: run.workflowId, candidateVersionId: status.candidateVersionId, reportHtmlUri: status.reportHtmlUri });
  }
  return found;
}

export async function answerApproval(client: Client, workflowId: string, decision: ApprovalDecision): Promise<{ accepted: boolean; outcome: string }> {
  return client.workflow.getHandle(workflowId).executeUpdate<{ accepted: boolean; outcome: string }, [ApprovalDecision]>('approveCandidate', { args: [decision] });
}

/** Approves (or rejects) the one candidate of `model` awaiting sign-off; an error names what is off. */
export async function approveModelCandidate(client: Client, model: string, decision: ApprovalDecision, workflowId?: string): Promise<PendingApproval & { outcome: string }> {
  const pending = workflowId ? [{ workflowId, candidateVersionId: null, reportHtmlUri: null }] : await pendingApprovals(client, model);
  if (pending.length === 0) throw new Error(`no candidate of model "${model}" is waiting for approval`);
  if (pending.length > 1) throw new Error(`${pending.length} runs of "${model}" wait for approval (${pending.map((p) => p.workflowId).join(', ')}): pass --run <workflowId>`);
  const { outcome } = await answerApproval(client, pending[0].workflowId, decision);
  return { ...pending[0], outcome };
}
