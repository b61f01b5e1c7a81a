// Child-process entry of the built-in trainers (started by the training activity with tsx): speaks
// the command-trainer contract on stdout and exits 65 for bad data or settings, 1 for anything else.
import { EXIT_BAD_INPUT, formatTrainerEvent } from '../contract';
import { runBuiltinTrainer } from './run';

// The activity keeps our stdin open; when the worker dies the pipe closes or we are re-parented.
// Either way nobody is left to upload our work, so stop instead of training as an orphan.
const supervisor = process.ppid;
const orphaned = () => process.ppid !== supervisor;
process.stdin.on('end', () => process.exit(1));
process.stdin.resume();

try {
  runBuiltinTrainer({
    env: process.env,
    emit: (event) => process.stdout.write(`${formatTrainerEvent(event)}\n`),
    shouldStop: () => {
      if (orphaned()) {
        process.stderr.write('flywheel trainer: the worker that started this run is gone; exiting\n');
        process.exit(1);
      }
      return false;
    },
  });
  process.exitCode = 0;
} catch (error) {
  const err = error as NodeJS.ErrnoException;
  process.stderr.write(`flywheel trainer: ${err.message}\n`);
  // File-system and other system errors (they carry an errno code) may pass on retry; a thrown
  // training error is deterministic for the same data and settings, so retrying cannot help.
  process.exitCode = err.code ? 1 : EXIT_BAD_INPUT;
}
// stdin keeps the event loop alive; leave as soon as the work is done.
process.stdin.pause();
process.stdin.destroy();
