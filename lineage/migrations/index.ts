// The ordered list of lineage migrations, bundled in code so the same set runs on pg and PGlite
// without a migrations folder lookup at run time.
import type { Migration } from 'kysely';
import * as lineageCore from './0001_lineage_core';
import * as productionLog from './0002_production_log';
import * as serving from './0010_serving';
import * as trainingLineage from './0020_training_lineage';
import * as reportCards from './0021_report_cards';
import * as monitoring from './0030_monitoring';
import * as freshness from './0040_freshness';

export const migrations: Record<string, Migration> = {
  '0001_lineage_core': lineageCore,
  '0002_production_log': productionLog,
  '0010_serving': serving,
  '0020_training_lineage': trainingLineage,
  '0021_report_cards': reportCards,
  '0030_monitoring': monitoring,
  '0040_freshness': freshness,
};
