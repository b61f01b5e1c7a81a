// The trainer-process supervisor and the command contract's event parsing: events are relayed,
// stderr's tail kept, and a timeout or an abort kills the whole process group.
import { describe, expect, it } from 'vitest';
import { parseTrainerEvent, type TrainerEvent } from '../../training/contract';
import { processAlive, startTrainerProcess, TrainerSpawnError } from '../../training/process';

const node = (script: string) => [process.execPath, '-e', script];

describe('parseTrainerEvent', () => {
  it('accepts progress, checkpoint and info lines and ignores everything else', () => {
    expect(parseTrainerEvent('{"event":"progress","epoch":2,"loss":0.5,"val_loss":0.6}')).toEqual({
      event: 'progress', epoch: 2, epochs: undefined, step: undefined, loss: 0.5, validationLoss: 0.6, samplesSeen: undefined, seconds: undefined,
    });
    expect(parseTrainerEvent('{"event":"checkpoint","epoch":3,"path":"ck/3.pt"}')).toEqual({ event: 'checkpoint', epoch: 3, path: 'ck/3.pt' });
    expect(parseTrainerEvent('{"event":"info","device":"cuda:0"}')).toEqual({ event: 'info', device: 'cuda:0' });
    for (const line of ['loading data...', '{"event":"progress"}', '{"event":"checkpoint","epoch":1}', '{broken', '[1,2]', '{"event":"other"}']) {
      expect(parseTrainerEvent(line)).toBeNull();
    }
  });
});

describe('startTrainerProcess', () => {
  it('relays events in order, passes plain lines to onLog and keeps the tail of stderr', async () => {
    const events: TrainerEvent[] = [];
    const logs: string[] = [];
    const script = `
      console.log('starting');
      console.log(JSON.stringify({ event: 'progress', epoch: 1, loss: 0.5 }));
      console.log(JSON.stringify({ event: 'checkpoint', epoch: 1, path: 'c1.json' }));
      process.stderr.write('x'.repeat(5000) + 'THE END');
      process.exit(3);`;
    const { done } = startTrainerProcess({ argv: node(script), env: process.env, timeoutMs: 20_000, onEvent: (e) => events.push(e), onLog: (l) => logs.push(l), stderrTailChars: 100 });
    const result = await done;
    expect(result).toMatchObject({ outcome: 'exited', exitCode: 3, signal: null });
    expect(result.stderrTail).toHaveLength(100);
    expect(result.stderrTail.endsWith('THE END')).toBe(true);
    expect(events.map((e) => e.event)).toEqual(['progress', 'checkpoint']);
    expect(logs).toEqual(['starting']);
  });

  it('kills the whole process group (the trainer and its children) after the timeout', async () => {
    const script = "require('node:child_process').spawn('sleep', ['600'], { stdio: 'ignore' }); setInterval(() => {}, 1000);";
    const running = startTrainerProcess({ argv: node(script), env: process.env, timeoutMs: 500, killGraceMs: 500 });
    const result = await running.done;
    expect(result.outcome).toBe('timed_out');
    expect(result.signal).toBe('SIGTERM');
    expect(processAlive(-running.pid)).toBe(false);
  });

  it('escalates to SIGKILL when the trainer ignores SIGTERM, and abort means cancelled', async () => {
    const controller = new AbortController();
    const script = "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);";
    const running = startTrainerProcess({ argv: node(script), env: process.env, timeoutMs: 60_000, killGraceMs: 300, signal: controller.signal, onLog: () => controller.abort() });
    const result = await running.done;
    expect(result).toMatchObject({ outcome: 'cancelled', signal: 'SIGKILL' });
    expect(processAlive(-running.pid)).toBe(false);
  });

  it('names the command when it cannot be started', () => {
    expect(() => startTrainerProcess({ argv: ['/nonexistent/trainer'], env: process.env, timeoutMs: 1000 })).toThrow(TrainerSpawnError);
    expect(() => startTrainerProcess({ argv: ['/nonexistent/trainer'], env: process.env, timeoutMs: 1000 })).toThrow(/"\/nonexistent\/trainer" could not be started.*trainer\.command\[0\]/);
  });
});
