// Worker entry point: `npm run worker -- [--roles orchestration,training] [--training-slots N]`.
import { runCliProcess } from '../client/cli';

runCliProcess(['worker', ...process.argv.slice(2)]);
