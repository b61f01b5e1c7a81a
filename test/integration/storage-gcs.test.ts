// The gs:// artifact store against a real gcp-storage-emulator process, including retries through
// a fault-injecting HTTP proxy placed in front of it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findGcsEmulatorBinary, startGcsEmulator, type GcsEmulator } from '../../infra/gcs-emulator';
import { ArtifactNotFoundError, ArtifactStoreError, openArtifactStore, type RetryInfo } from '../../storage/artifact-store';

const BUCKET = 'flywheel-test';

interface FaultProxy {
  endpoint: string;
  /** Requests seen since the last reset, faulted or not. */
  requests: number;
  /** Answer this status to the next `count` requests (Infinity = always), then forward. */
  fail(status: number, count: number): void;
  /** Drop the connection without answering for the next `count` requests. */
  reset(count: number): void;
  close(): Promise<void>;
}

async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let failStatus = 503;
  let failuresLeft = 0;
  let resetsLeft = 0;
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    if (resetsLeft > 0) {
      resetsLeft--;
      req.socket.destroy();
      return;
    }
    if (failuresLeft > 0) {
      failuresLeft--;
      // Drain the body first so the client sees a clean response rather than a reset.
      req.resume();
      req.on('end', () => {
        res.writeHead(failStatus, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: failStatus, message: `injected ${failStatus}` } }));
      });
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    set requests(n: number) {
      state.requests = n;
    },
    fail(status, count) {
      failStatus = status;
      failuresLeft = count;
    },
    reset(count) {
      resetsLeft = count;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('gs:// artifact store on gcp-storage-emulator', () => {
  let emulator: GcsEmulator;
  let proxy: FaultProxy;
  let prefix: string;

  beforeAll(async () => {
    emulator = await startGcsEmulator({ createBuckets: [BUCKET] });
    proxy = await startFaultProxy(emulator.endpoint);
  });
  afterAll(async () => {
    await proxy?.close();
    await emulator?.stop();
  });
  beforeEach(() => {
    // Each test writes under its own prefix so they never see each other's objects.
    prefix = `runs/${randomBytes(4).toString('hex')}`;
    proxy.fail(503, 0);
    proxy.reset(0);
    proxy.requests = 0;
  });

  const direct = (retry = {}) => openArtifactStore(`gs://${BUCKET}/${prefix}`, { gcs: { apiEndpoint: emulator.endpoint }, retry });

  it('round-trips put/get/exists/list/delete, including a 1 MB binary payload', async () => {
    const store = direct();
    expect(store.rootUri).toBe(`gs://${BUCKET}/${prefix}`);
    const payload = randomBytes(1024 * 1024);
    const modelUri = await store.put('models/ctr/v1/model.onnx', payload, { contentType: 'application/octet-stream' });
    expect(modelUri).toBe(`gs://${BUCKET}/${prefix}/models/ctr/v1/model.onnx`);
    const reportUri = await store.put('models/ctr/v1/report.json', JSON.stringify({ auc: 0.9 }), { contentType: 'application/json' });
    await store.put('models/ctr/v10/model.onnx', 'ten');
    await store.put('data/rows.csv', 'a,b\n1,2\n');

    expect((await store.get(modelUri)).equals(payload)).toBe(true);
    expect(JSON.parse((await store.get(reportUri)).toString('utf8'))).toEqual({ auc: 0.9 });
    expect(await store.exists(modelUri)).toBe(true);
    expect(await store.exists(store.uriFor('models/none.onnx'))).toBe(false);

    expect(await store.list('models/ctr/v1/')).toEqual([modelUri, reportUri]);
    expect(await store.list('models/ctr/v1')).toEqual([modelUri, reportUri, store.uriFor('models/ctr/v10/model.onnx')]);
    expect(await store.list('')).toHaveLength(4);

    await store.delete(modelUri);
    await store.delete(modelUri);
    expect(await store.exists(modelUri)).toBe(false);
    expect(await store.list('models/ctr/v1/')).toEqual([reportUri]);
  });

  it('keeps the existing object with ifAbsent', async () => {
    const store = direct();
    const uri = await store.put('a.txt', 'first', { ifAbsent: true });
    expect(await store.put('a.txt', 'second', { ifAbsent: true })).toBe(uri);
    expect((await store.get(uri)).toString()).toBe('first');
  });

  it('throws ArtifactNotFoundError for a missing object, without retrying', async () => {
    const retries: RetryInfo[] = [];
    const store = openArtifactStore(`gs://${BUCKET}/${prefix}`, { gcs: { apiEndpoint: proxy.endpoint }, retry: { onRetry: (i) => retries.push(i) } });
    const uri = store.uriFor('missing/model.onnx');
    const error = await store.get(uri).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactNotFoundError);
    expect((error as ArtifactNotFoundError).uri).toBe(uri);
    expect(retries).toEqual([]);
    expect(proxy.requests).toBe(1);
  });

  it('refuses URIs from another bucket or outside its prefix', async () => {
    const store = direct();
    await expect(store.get(`gs://other-bucket/${prefix}/x`)).rejects.toThrow(/not under this store's root/);
    await expect(store.get(`gs://${BUCKET}/elsewhere/x`)).rejects.toThrow(/not under this store's root/);
    await expect(store.exists(`gs://${BUCKET}/${prefix}/../x`)).rejects.toThrow(/"\.\."/);
  });

  it('honours STORAGE_EMULATOR_HOST when no apiEndpoint is given', async () => {
    const saved = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = emulator.endpoint.replace(/^http:\/\//, '');
    try {
      const store = openArtifactStore(`gs://${BUCKET}/${prefix}`);
      const uri = await store.put('env.txt', 'via env');
      expect((await direct().get(uri)).toString()).toBe('via env');
    } finally {
      if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = saved;
    }
  });

  it('retries transient 503s with backoff and then succeeds', async () => {
    const retries: RetryInfo[] = [];
    const store = openArtifactStore(`gs://${BUCKET}/${prefix}`, {
      gcs: { apiEndpoint: proxy.endpoint },
      retry: { initialDelayMs: 20, maxDelayMs: 200, onRetry: (i) => retries.push(i) },
    });
    const payload = randomBytes(64 * 1024);
    proxy.fail(503, 3);
    const uri = await store.put('models/retry.bin', payload);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(retries.every((r) => (r.error as { code?: unknown }).code === 503)).toBe(true);
    expect(proxy.requests).toBe(4);
    expect((await direct().get(uri)).equals(payload)).toBe(true);

    retries.length = 0;
    proxy.fail(503, 2);
    expect((await store.get(uri)).equals(payload)).toBe(true);
    expect(retries).toHaveLength(2);
  });

  it('retries dropped connections (socket hang up / ECONNRESET)', async () => {
    const retries: RetryInfo[] = [];
    const store = openArtifactStore(`gs://${BUCKET}/${prefix}`, {
      gcs: { apiEndpoint: proxy.endpoint },
      retry: { initialDelayMs: 10, maxDelayMs: 50, onRetry: (i) => retries.push(i) },
    });
    proxy.reset(2);
    const uri = await store.put('reset.txt', 'survived');
    expect(retries).toHaveLength(2);
    expect(String(retries[0].error)).toMatch(/socket hang up|ECONNRESET/);
    expect((await store.get(uri)).toString()).toBe('survived');
  });

  it('gives up after maxAttempts when the server keeps failing, naming the URI', async () => {
    const retries: RetryInfo[] = [];
    const store = openArtifactStore(`gs://${BUCKET}/${prefix}`, {
      gcs: { apiEndpoint: proxy.endpoint },
      retry: { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20, onRetry: (i) => retries.push(i) },
    });
    proxy.fail(503, Infinity);
    const uri = store.uriFor('models/never.bin');
    const error = await store.put('models/never.bin', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactStoreError);
    expect((error as ArtifactStoreError).status).toBe(503);
    expect((error as Error).message).toContain(uri);
    expect((error as Error).message).toMatch(/HTTP 503.*after 4 attempts/);
    expect(retries).toHaveLength(3);
    expect(proxy.requests).toBe(4);
  });

  it('fails at once on a permanent error (403), naming the URI', async () => {
    const retries: RetryInfo[] = [];
    const store = openArtifactStore(`gs://${BUCKET}/${prefix}`, {
      gcs: { apiEndpoint: proxy.endpoint },
      retry: { onRetry: (i) => retries.push(i) },
    });
    proxy.fail(403, Infinity);
    const uri = store.uriFor('secret.bin');
    await expect(store.get(uri)).rejects.toThrow(new RegExp(`GCS get of ${uri} failed \\(HTTP 403\\) after 1 attempt`));
    expect(retries).toEqual([]);
    expect(proxy.requests).toBe(1);
  });
});

describe('infra/gcs-emulator', () => {
  it('keeps objects in dataDir across restarts and tolerates re-creating buckets', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flywheel-gcs-'));
    try {
      const first = await startGcsEmulator({ dataDir, createBuckets: [BUCKET, 'flywheel-other'] });
      const uri = await openArtifactStore(`gs://${BUCKET}/p`, { gcs: { apiEndpoint: first.endpoint } }).put('kept.txt', 'kept');
      await first.stop();
      await first.stop();
      await expect(fetch(`${first.endpoint}/`)).rejects.toThrow();

      const second = await startGcsEmulator({ dataDir, createBuckets: [BUCKET] });
      try {
        const store = openArtifactStore(`gs://${BUCKET}/p`, { gcs: { apiEndpoint: second.endpoint } });
        expect((await store.get(uri)).toString()).toBe('kept');
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('explains a bad GCS_EMULATOR_BIN', () => {
    const saved = process.env.GCS_EMULATOR_BIN;
    process.env.GCS_EMULATOR_BIN = '/nonexistent/gcp-storage-emulator';
    try {
      expect(() => findGcsEmulatorBinary()).toThrow(/GCS_EMULATOR_BIN=\/nonexistent\/gcp-storage-emulator is not an executable.*npm run setup/);
    } finally {
      if (saved === undefined) delete process.env.GCS_EMULATOR_BIN;
      else process.env.GCS_EMULATOR_BIN = saved;
    }
  });
});
