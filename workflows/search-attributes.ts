// The search attributes every Flywheel run carries, so the Temporal UI can filter runs by model,
// stage, trigger, candidate and current DAG step. Shared by workflows, the client and the dev server.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ModelName = defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD);
export const MaturityStage = defineSearchAttributeKey('MaturityStage', SearchAttributeType.INT);
export const TriggerReason = defineSearchAttributeKey('TriggerReason', SearchAttributeType.KEYWORD);
export const CandidateVersion = defineSearchAttributeKey('CandidateVersion', SearchAttributeType.KEYWORD);
export const PipelineStep = defineSearchAttributeKey('PipelineStep', SearchAttributeType.KEYWORD);

/** Set by Temporal on runs a Schedule starts (the nominal time, jitter included; backfills too). */
export const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export const ALL_SEARCH_ATTRIBUTES = [ModelName, MaturityStage, TriggerReason, CandidateVersion, PipelineStep];

/** Name → type as the Temporal CLI's `--search-attribute KEY=TYPE` flag spells it. */
export const SEARCH_ATTRIBUTE_CLI_TYPES: Record<string, 'Keyword' | 'Int'> = {
  ModelName: 'Keyword',
  MaturityStage: 'Int',
  TriggerReason: 'Keyword',
  CandidateVersion: 'Keyword',
  PipelineStep: 'Keyword',
};
