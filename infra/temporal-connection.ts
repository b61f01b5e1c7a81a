// Connects to Temporal (client and worker connections) and turns "cannot connect" into one line
// naming the address and the fix.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
}

function unavailable(address: string, error: unknown): TemporalUnavailableError {
  const detail = (error as Error)?.message?.split('\n')[0] ?? String(error);
  return new TemporalUnavailableError(
    `cannot reach Temporal at ${address}: ${detail} — start one with \`npx flywheel dev\` or set TEMPORAL_ADDRESS`,
  );
}

export async function connectClient(address: string, namespace: string, connectTimeoutMs = 5_000): Promise<Client> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: connectTimeoutMs });
    return new Client({ connection, namespace });
  } catch (error) {
    throw unavailable(address, error);
  }
}

export async function connectWorker(address: string): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address });
  } catch (error) {
    throw unavailable(address, error);
  }
}
