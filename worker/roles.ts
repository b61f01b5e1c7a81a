// Parses the --roles flag: which task queues this worker process serves.
import type { QueueRole } from './workers';

export function parseRoles(value: string | undefined): QueueRole[] {
  if (!value || value === 'all') return ['orchestration', 'training'];
  const roles = value.split(',').map((r) => r.trim());
  for (const role of roles) {
    if (role !== 'orchestration' && role !== 'training') throw new Error(`unknown worker role "${role}": use orchestration, training or both (comma-separated)`);
  }
  return roles as QueueRole[];
}
