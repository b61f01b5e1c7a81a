// A trainer process never inherits the worker's secrets (they could reach the workflow history
// through its error output).
import { describe, expect, it } from 'vitest';
import { trainerBaseEnv } from '../../training/activity';

describe('trainerBaseEnv', () => {
  it('drops credentials and keeps the ordinary environment', () => {
    const env = trainerBaseEnv({ PATH: '/usr/bin', HOME: '/root', DATABASE_URL: 'postgres://u:pw@h/db', PGPASSWORD: 'pw', AWS_SECRET_ACCESS_KEY: 'k', GITHUB_TOKEN: 't', API_KEY: 'x', CUDA_VISIBLE_DEVICES: '0' });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root', CUDA_VISIBLE_DEVICES: '0' });
  });
});
