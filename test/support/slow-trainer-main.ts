// A command trainer for shutdown tests: holds for FLYWHEEL_HPARAMS.holdMs (printing a progress event
// every 200 ms, so the run is visibly in flight), then trains with the built-in trainer on the
// rest of FLYWHEEL_HPARAMS (the resolved built-in settings) and writes its usual outputs
// (model.onnx, checkpoint.json, result.json). Started as [node, --require, tsx/cjs, this file].
import { runBuiltinTrainer } from '../../training/builtin/run';
import { ENV, formatTrainerEvent, type TrainerEvent } from '../../training/contract';

const emit = (event: TrainerEvent) => process.stdout.write(`${formatTrainerEvent(event)}\n`);

async function main(): Promise<void> {
  const { holdMs = 0, ...builtin } = JSON.parse(process.env[ENV.hparams] ?? '{}') as { holdMs?: number } & Record<string, unknown>;
  const started = Date.now();
  console.log(`slow trainer: holding ${holdMs} ms before training (pid ${process.pid})`);
  while (Date.now() - started < holdMs) {
    emit({ event: 'progress', epoch: 0, step: 0, seconds: (Date.now() - started) / 1000 });
    await new Promise((r) => setTimeout(r, 200));
  }
  runBuiltinTrainer({ env: { ...process.env, [ENV.hparams]: JSON.stringify(builtin) }, emit });
  console.log('slow trainer: done');
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`slow trainer: ${error.message}\n`);
    process.exit(1);
  },
);
