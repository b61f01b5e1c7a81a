// Shared test fixtures: the example model spec and a seeded labelled history loaded into lineage.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import type { Database } from '../../lineage/schema';
import { generateCtrHistory } from '../../scenarios/ctr-history';

export const HISTORY_END = new Date('2026-01-31T00:00:00Z');

export function exampleSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const spec = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'ctr.model.json'), 'utf8'));
  return { ...spec, ...overrides };
}

/** Applies the example spec under `name` and loads `rows` labelled rows ending at HISTORY_END. */
export async function seedModel(db: Kysely<Database>, name = 'ctr', rows = 1500, seed = 7): Promise<void> {
  await applyModelSpec(db, exampleSpec({ name }));
  await insertLabelledExamples(db, name, generateCtrHistory({ seed, rows, end: HISTORY_END, days: 30 }));
}
