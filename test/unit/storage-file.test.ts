// The file:// artifact store: round trips, atomic writes, ifAbsent, and refusal of keys and URIs
// that would escape the store's root.
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactNotFoundError,
  ArtifactStoreError,
  openArtifactStore,
  parseArtifactUri,
  type ArtifactStore,
} from '../../storage/artifact-store';

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('file:// artifact store', () => {
  let dir: string;
  let store: ArtifactStore;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flywheel-store-'));
    store = openArtifactStore(pathToFileURL(dir).href);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('has a root URI without a trailing slash, even when given one', () => {
    expect(store.rootUri).toBe(pathToFileURL(dir).href);
    expect(openArtifactStore(`${pathToFileURL(dir).href}/`).rootUri).toBe(store.rootUri);
    expect(store.uriFor('models/ctr/v1/model.onnx')).toBe(`${store.rootUri}/models/ctr/v1/model.onnx`);
  });

  it('puts, gets, checks and deletes bytes and strings, creating directories', async () => {
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    const uri = await store.put('models/ctr/v1/model.onnx', bytes);
    expect(uri).toBe(store.uriFor('models/ctr/v1/model.onnx'));
    expect(await store.get(uri)).toEqual(Buffer.from(bytes));
    expect(await store.exists(uri)).toBe(true);

    const textUri = await store.put('reports/r.json', '{"auc":0.91}', { contentType: 'application/json' });
    expect((await store.get(textUri)).toString('utf8')).toBe('{"auc":0.91}');

    await store.delete(uri);
    expect(await store.exists(uri)).toBe(false);
    await expect(store.delete(uri)).resolves.toBeUndefined();
  });

  it('overwrites by default and keeps the first object with ifAbsent', async () => {
    const uri = await store.put('a.txt', 'one');
    await store.put('a.txt', 'two');
    expect((await store.get(uri)).toString()).toBe('two');
    expect(await store.put('a.txt', 'three', { ifAbsent: true })).toBe(uri);
    expect((await store.get(uri)).toString()).toBe('two');
    const fresh = await store.put('b.txt', 'new', { ifAbsent: true });
    expect((await store.get(fresh)).toString()).toBe('new');
  });

  it('lets exactly one of many concurrent ifAbsent writers win', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('race.txt', `writer-${i}`, { ifAbsent: true })));
    expect((await store.get(store.uriFor('race.txt'))).toString()).toMatch(/^writer-\d+$/);
    expect(allFiles(dir)).toEqual(['race.txt']);
  });

  it('leaves no temp files behind', async () => {
    await store.put('m/x.bin', Buffer.alloc(100_000, 7));
    await store.put('m/x.bin', 'again');
    await store.put('m/x.bin', 'not written', { ifAbsent: true });
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.put('m/x.bin', `concurrent-${i}`)));
    expect(allFiles(dir)).toEqual([path.join('m', 'x.bin')]);
  });

  it('lists URIs under a prefix, sorted, with string-prefix semantics', async () => {
    for (const key of ['models/ctr/v2/model.onnx', 'models/ctr/v1/model.onnx', 'models/ctr/v10/model.onnx', 'models/rank/v1/m.onnx', 'data/d.parquet']) {
      await store.put(key, key);
    }
    // A leftover from a process killed mid-write is not an artifact.
    writeFileSync(path.join(dir, 'models', '.flywheel-tmp-model.onnx.123.abc'), 'partial');
    const u = (k: string) => store.uriFor(k);
    expect(await store.list('models/ctr/')).toEqual([u('models/ctr/v1/model.onnx'), u('models/ctr/v10/model.onnx'), u('models/ctr/v2/model.onnx')]);
    expect(await store.list('models/ctr/v1')).toEqual([u('models/ctr/v1/model.onnx'), u('models/ctr/v10/model.onnx')]);
    expect(await store.list('mod')).toHaveLength(4);
    expect(await store.list('')).toHaveLength(5);
    expect(await store.list('nothing/here/')).toEqual([]);
  });

  it('throws ArtifactNotFoundError with the URI for a missing object or a directory', async () => {
    const uri = store.uriFor('missing/model.onnx');
    const error = await store.get(uri).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactNotFoundError);
    expect(error).toBeInstanceOf(ArtifactStoreError);
    expect((error as ArtifactNotFoundError).uri).toBe(uri);
    expect((error as Error).message).toContain(uri);
    mkdirSync(path.join(dir, 'adir'));
    await expect(store.get(store.uriFor('adir'))).rejects.toBeInstanceOf(ArtifactNotFoundError);
    expect(await store.exists(store.uriFor('adir'))).toBe(false);
  });

  it('rejects bad keys with a message naming the key and the rule', () => {
    expect(() => store.uriFor('')).toThrow(/non-empty/);
    expect(() => store.uriFor('/etc/passwd')).toThrow(/"\/etc\/passwd".*no leading "\/"/);
    expect(() => store.uriFor('models/../../etc/passwd')).toThrow(/"\.\." path segments/);
    expect(() => store.uriFor('models/./x')).toThrow(/"\." or "\.\."/);
    expect(() => store.uriFor('models//x')).toThrow(/empty path segments/);
    expect(() => store.uriFor('models/')).toThrow(/end with "\/"/);
    expect(() => store.uriFor('a\\b')).toThrow(/backslashes/);
    expect(store.uriFor('models/..hidden')).toBe(`${store.rootUri}/models/..hidden`);
  });

  it('rejects bad keys in put and bad prefixes in list', async () => {
    await expect(store.put('../outside.txt', 'x')).rejects.toThrow(ArtifactStoreError);
    await expect(store.list('../')).rejects.toThrow(/"\.\."/);
    await expect(store.list('/abs')).rejects.toThrow(/leading/);
    expect(readdirSync(path.dirname(dir)).includes('outside.txt')).toBe(false);
  });

  it('refuses URIs outside its root', async () => {
    const sibling = pathToFileURL(`${dir}-sibling/x.bin`).href;
    await expect(store.get(sibling)).rejects.toThrow(`URI ${sibling} is not under this store's root ${store.rootUri}`);
    await expect(store.exists(`${store.rootUri}/../x.bin`)).rejects.toThrow(/not under this store's root/);
    await expect(store.delete(store.rootUri)).rejects.toThrow(/not under this store's root/);
    await expect(store.get('gs://bucket/x')).rejects.toThrow(/not under this store's root/);
    await expect(store.get('s3://bucket/x')).rejects.toThrow(/unsupported artifact URI scheme "s3:"/);
  });
});

describe('parseArtifactUri and openArtifactStore', () => {
  it('parses file and gs URIs', () => {
    expect(parseArtifactUri('file:///tmp/a%20b/c.txt')).toEqual({ scheme: 'file', path: '/tmp/a b/c.txt' });
    expect(parseArtifactUri('gs://my-bucket/models/v1/m.onnx')).toEqual({ scheme: 'gs', bucket: 'my-bucket', name: 'models/v1/m.onnx' });
    expect(parseArtifactUri('gs://my-bucket')).toEqual({ scheme: 'gs', bucket: 'my-bucket', name: '' });
  });

  it('explains unsupported and malformed URIs', () => {
    expect(() => parseArtifactUri('s3://bucket/key')).toThrow(/unsupported artifact URI scheme "s3:".*file:\/\/\/absolute\/path, gs:\/\/bucket\/path/);
    expect(() => parseArtifactUri('/abs/path')).toThrow(/has no scheme/);
    expect(() => parseArtifactUri('')).toThrow(/non-empty/);
    expect(() => parseArtifactUri('gs://Bad_Bucket!/x')).toThrow(/valid bucket name/);
    expect(() => parseArtifactUri('file://data/x')).toThrow(/names host "data".*three slashes/);
    expect(() => openArtifactStore('http://example.com/x')).toThrow(/unsupported artifact URI scheme "http:"/);
  });

  it('opens a gs store without touching the network', () => {
    const store = openArtifactStore('gs://flywheel-artifacts/prod/', { gcs: { apiEndpoint: 'http://127.0.0.1:1' } });
    expect(store.rootUri).toBe('gs://flywheel-artifacts/prod');
    expect(store.uriFor('models/m.onnx')).toBe('gs://flywheel-artifacts/prod/models/m.onnx');
    expect(() => openArtifactStore('gs://flywheel-artifacts/../x')).toThrow(/"\.\."/);
  });
});
