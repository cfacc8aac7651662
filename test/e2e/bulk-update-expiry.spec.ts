import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createApp, fakeDateOnly } from './fixtures/app.factory.js';
import { MassExpiryAppModule, TokensStore } from './fixtures/mass-expiry-app.module.js';

const N = 20_000;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `update(query)` finds its matches in slices, then builds and applies the new records in
 * slices: a record that expires on the way is gone, and the update must not bring it back.
 */
describe('update(query) over records that expire while it runs', () => {
  let app: INestApplication | undefined;

  beforeEach(() => fakeDateOnly()); // only the date: the test moves it past the deadlines

  afterEach(async () => {
    jest.useRealTimers();
    await app?.close();
    app = undefined;
  });

  it('does not bring back a matched record that expired before it was written', async () => {
    app = await createApp(MassExpiryAppModule.register());
    await app.init();
    const tokens = app.get(TokensStore);
    await tokens.writeMany(
      Array.from({ length: N }, (_, i) => ({ id: `t${i}`, code: `c${i}`, owner: 'o1' })),
      { ttl: '1h' },
    );
    await tokens.write({ id: 'keep', code: 'k', owner: 'o1' });

    let settled = false;
    const updated = tokens.update({ owner: 'o1' }, { owner: 'o2' }).finally(() => (settled = true));
    await turn(); // under way: its matches found, or being found
    expect(settled).toBe(false);
    jest.setSystemTime(Date.now() + 2 * 3_600_000); // every token but 'keep' has expired
    for (let i = 0; i < 10_000 && !settled; i++) {
      void tokens.size; // a read: expiry removes them in steps
      await turn();
    }
    expect(settled).toBe(true);
    await updated;

    expect(tokens.get('keep')).toMatchObject({ owner: 'o2' });
    expect(tokens.get('t0')).toBeUndefined();
    expect(tokens.all().map((t) => t.id)).toEqual(['keep']);
    expect(tokens.ttl('t0')).toBeUndefined();
    expect(tokens.size).toBe(1);
  });
});
