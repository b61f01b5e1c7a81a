// Failure types that retrying cannot fix: activities raise them as non-retryable ApplicationFailures
// and the workflow's retry policies name them. Pure constants, safe in workflow code.
export const FailureType = {
  UnknownModel: 'UnknownModel',
  InvalidSpec: 'InvalidSpec',
  EmptyDataWindow: 'EmptyDataWindow',
  InsufficientData: 'InsufficientData',
  OneClassWindow: 'OneClassWindow',
  SchemaViolation: 'SchemaViolation',
  InvalidTrainingData: 'InvalidTrainingData',
  CorruptArtifact: 'CorruptArtifact',
  DataValidationFailed: 'DataValidationFailed',
  TrainerTimedOut: 'TrainerTimedOut',
} as const;

export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

export const NON_RETRYABLE_FAILURES: string[] = Object.values(FailureType);
