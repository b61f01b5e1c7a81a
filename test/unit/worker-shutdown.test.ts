// FLYWHEEL_WORKER_SHUTDOWN_GRACE parsing: seconds or a number with a unit; errors name the variable.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SHUTDOWN_GRACE_MS, parseShutdownGrace } from '../../worker/shutdown';

describe('parseShutdownGrace', () => {
  it('defaults to 30 s when unset or empty', () => {
    expect(DEFAULT_SHUTDOWN_GRACE_MS).toBe(30_000);
    expect(parseShutdownGrace(undefined)).toBe(30_000);
    expect(parseShutdownGrace('  ')).toBe(30_000);
  });

  it('reads a bare number as seconds and honours ms, s, m and h', () => {
    expect(parseShutdownGrace('0')).toBe(0);
    expect(parseShutdownGrace('45')).toBe(45_000);
    expect(parseShutdownGrace('2.5')).toBe(2_500);
    expect(parseShutdownGrace('500ms')).toBe(500);
    expect(parseShutdownGrace('30s')).toBe(30_000);
    expect(parseShutdownGrace('2m')).toBe(120_000);
    expect(parseShutdownGrace('1h')).toBe(3_600_000);
  });

  it('refuses anything else, naming the variable and the fix', () => {
    for (const bad of ['-1', 'soon', '30 sec', '1e3', '5d']) {
      expect(() => parseShutdownGrace(bad)).toThrow(/FLYWHEEL_WORKER_SHUTDOWN_GRACE=".*" is not a duration; give seconds \(30\) or a number with ms, s, m or h/);
    }
  });
});
