// Builds the non-retryable failures activities raise for bad input, so the workflow stops at once
// with a message naming the problem instead of retrying something that cannot succeed.
import { ApplicationFailure } from '@temporalio/common';
import { isPermanentStoreError } from '../storage/errors';
import type { FailureTypeName } from '../workflows/failure-types';

export function badInput(type: FailureTypeName, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details ? [details] : undefined });
}

/**
 * Wraps activities so a storage failure that waiting cannot fix (a missing artifact, permission
 * denied, no such bucket: storage/errors.ts isPermanentStoreError) fails the attempt as
 * non-retryable, naming the store's error. Without it Temporal retries such an attempt with backoff
 * (10 attempts, about 4 minutes for the light activities) before the run fails with the same message.
 * Transient failures (5xx, timeouts) the store's own retries could not ride out stay retryable.
 */
export function failFastOnPermanentStorageErrors<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (error) {
        if (!isPermanentStoreError(error)) throw error;
        throw ApplicationFailure.create({
          type: error.name,
          message: `${error.message} (the artifact store refused or lacks this object; not retried: fix the store's permissions, bucket or the lineage row naming it)`,
          nonRetryable: true,
          // No cause: the message already carries the backend's answer, and the workflow reports
          // the innermost cause's message (the bare HTTP body) when there is one.
        });
      }
    };
  }
  return wrapped as T;
}
