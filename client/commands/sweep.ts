// `flywheel sweep [--dry-run] [--older-than 1h] [--model <name>] [--json]`: runs the artifact sweep
// (artifactSweepWorkflow) now and prints what it removed and what it kept, and why.
import type { Command } from 'commander';
import { loadConfig } from '../../infra/config';
import { connectClient } from '../../infra/temporal-connection';
import { sweepArtifactsNow } from '../sweep';

export function registerSweepCommand(program: Command): void {
  program
    .command('sweep')
    .description("remove finished runs' scratch from the artifact store now (what the daily artifact-sweep schedule does); never anything lineage references")
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--older-than <duration>', 'only scratch of runs finished at least this long ago (e.g. 30m, 6h, 2d; 0 for all finished runs)', '1h')
    .option('--model <name>', "only this model's artifacts")
    .option('--json', 'print the summary as one JSON object')
    .action(async (o) => {
      const config = loadConfig();
      const client = await connectClient(config.temporalAddress, config.temporalNamespace);
      try {
        const summary = await sweepArtifactsNow(client, { olderThan: o.olderThan, dryRun: !!o.dryRun, modelName: o.model });
        if (o.json) {
          console.log(JSON.stringify(summary));
          return;
        }
        const verb = summary.dryRun ? 'would remove' : 'removed';
        console.log(`${summary.workflowId}: scanned ${summary.scanned} files, ${summary.referenced} referenced by lineage (kept), ${verb} ${summary.removed}, kept ${summary.kept} other(s) in ${summary.elapsedMs} ms`);
        for (const uri of summary.removedSample) console.log(`  ${summary.dryRun ? 'removable' : 'removed'} ${uri}`);
        for (const kept of summary.keptSample) console.log(`  kept ${kept.uri}: ${kept.why}`);
      } finally {
        await client.connection.close();
      }
    });
}
