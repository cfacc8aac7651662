import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { StoreChange } from 'nestjs-memory-store';
import { createApp, fakeDateOnly } from './fixtures/app.factory.js';
import { MassExpiryAppModule, TokensStore } from './fixtures/mass-expiry-app.module.js';

/** Many more records than one step of expiry removes. */
const N = 25_000;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a mass expiry', () => {
  let app: INestApplication | undefined;
  let dir: string | undefined;

  beforeEach(() => {
    // only the date is faked: the test moves it past the deadlines when it wants
    fakeDateOnly();
  });

  afterEach(async () => {
    jest.useRealTimers();
    await app?.close();
    app = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function start(persisted = false): Promise<TokensStore> {
    if (persisted) dir ??= await mkdtemp(join(tmpdir(), 'mass-expiry-'));
    app = await createApp(MassExpiryAppModule.register(persisted ? dir : undefined));
    await app.init();
    return app.get(TokensStore);
  }

  /** N tokens that expire together, and two that do not. */
  async function fill(tokens: TokensStore): Promise<void> {
    const expiring = Array.from({ length: N }, (_, i) => ({
      id: `t${i}`,
      code: `c${i}`,
      owner: `o${i % 10}`,
    }));
    await tokens.writeMany(expiring, { ttl: '1h' });
    await tokens.writeMany([
      { id: 'keep1', code: 'k1', owner: 'o1' },
      { id: 'keep2', code: 'k2', owner: 'o2' },
    ]);
    jest.setSystemTime(Date.now() + 2 * 3_600_000);
  }

  it('is hidden from the first read at once and removed over several turns, each record reported once', async () => {
    const tokens = await start();
    await fill(tokens);
    const expired: StoreChange[] = [];
    const subscription = tokens.changes({ op: 'expire' }).subscribe((c) => expired.push(c));
    expect(tokens.size).toBe(2); // the read that finds them
    expect(tokens.get('t0')).toBeUndefined();
    expect(tokens.select({ owner: 'o1' }).map((t) => t.id)).toEqual(['keep1']);
    expect(tokens.one({ code: `c${N - 1}` })).toBeUndefined();
    expect(tokens.count()).toBe(2);
    expect(tokens.keys().sort()).toEqual(['keep1', 'keep2']);
    await turn();
    const firstTurn = expired.length;
    expect(firstTurn).toBeGreaterThan(0);
    expect(firstTurn).toBeLessThan(N); // the rest comes in later turns
    // each step stops after 2,000 records or about 3 ms, so a loaded machine takes more turns
    for (let i = 0; i < 2_000 && expired.length < N; i++) await turn();
    subscription.unsubscribe();
    expect(expired).toHaveLength(N);
    expect(new Set(expired.map((c) => c.key)).size).toBe(N);
    expect(
      tokens
        .all()
        .map((t) => t.id)
        .sort(),
    ).toEqual(['keep1', 'keep2']);
  });

  it('lets writes take expired keys and unique values meanwhile, and persists what the reads saw', async () => {
    const tokens = await start(true);
    await fill(tokens);
    expect(tokens.size).toBe(2);
    // before the later steps run: the keys and unique values of expired records are free
    await tokens.insert({ id: `t${N - 1}`, code: 'again' });
    await tokens.insert({ id: 'new', code: `c${N - 2}`, owner: 'o1' });
    await tokens.update('keep1', { code: `c${N - 3}` });
    await expect(tokens.update(`t${N - 4}`, { owner: 'x' })).rejects.toThrow(/No record/);
    const seen = tokens
      .all()
      .map((t) => [t.id, t.code, t.owner])
      .sort();
    expect(seen).toHaveLength(4);
    for (let i = 0; i < 20; i++) await turn();
    await app!.close();
    const reopened = await start(true);
    expect(
      reopened
        .all()
        .map((t) => [t.id, t.code, t.owner])
        .sort(),
    ).toEqual(seen);
    expect(reopened.one({ code: `c${N - 2}` })?.id).toBe('new');
    expect(reopened.select({ owner: 'o1' }).map((t) => t.id)).toEqual(['keep1', 'new']);
  });
});
