import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MemoryStoreError, MemoryStoreService } from 'nestjs-memory-store';
import { createApp, rejectionOf } from './fixtures/app.factory.js';
import {
  beforeInitErrors,
  duringValidation,
  ReentrantAppModule,
  UsersStore,
  type User,
} from './fixtures/reentrant-app.module.js';

/** Every index answers as a scan of the records does. */
function expectIndexesAgree(users: UsersStore): void {
  const all = users.all();
  for (const email of new Set(all.map((u) => u.email).concat(['old@x', 'new@x', 'changed@x']))) {
    expect(users.select({ email }).map((u) => u.id)).toEqual(
      all.filter((u) => u.email === email).map((u) => u.id),
    );
    expect(users.one({ email })?.id).toBe(all.find((u) => u.email === email)?.id);
  }
  for (const team of ['a', 'b']) {
    expect(users.count({ team })).toBe(all.filter((u) => u.team === team).length);
  }
}

describe('a write made from inside a write of the same store', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    duringValidation.run = undefined;
    beforeInitErrors.length = 0;
    await app?.close();
    app = undefined;
  });

  async function start() {
    app = await createApp(ReentrantAppModule.register());
    await app.init();
    return { users: app.get(UsersStore), memory: app.get(MemoryStoreService) };
  }

  /** Expects a refusal that says which write was re-entered, by which call. */
  function expectRefused(error: unknown, call: string, inside: string): void {
    expect(error).toBeInstanceOf(MemoryStoreError);
    expect((error as MemoryStoreError).table).toBe('users');
    expect((error as Error).message).toContain(
      `${call}() was called from code running inside ${inside}()`,
    );
  }

  it('from an update function is refused, and the unique index stays right', async () => {
    const { users } = await start();
    await users.write({ id: 'u1', email: 'old@x' });
    const error = await rejectionOf(
      users.update('u1', () => {
        users.dirtyWrite({ id: 'u1', email: 'new@x' });
        return { name: 'renamed' };
      }),
    );
    expectRefused(error, 'write', 'update');
    expect(users.get('u1')).toMatchObject({ email: 'old@x', name: '' });
    expect(users.one({ email: 'old@x' })?.id).toBe('u1');
    await users.insert({ id: 'u2', email: 'new@x' }); // nobody holds new@x
    await expect(users.insert({ id: 'u3', email: 'old@x' })).rejects.toThrow(/duplicate|already/i);
    expectIndexesAgree(users);
  });

  it('from an update function that catches the refusal: the update applies, alone', async () => {
    const { users } = await start();
    await users.write({ id: 'u1', email: 'old@x' });
    let caught: unknown;
    await users.update('u1', () => {
      try {
        users.dirtyDelete('u1');
      } catch (error) {
        caught = error;
      }
      return { name: 'renamed' };
    });
    expectRefused(caught, 'delete', 'update');
    expect(users.get('u1')).toMatchObject({ email: 'old@x', name: 'renamed' });
    expectIndexesAgree(users);
  });

  it('from an update function of an update by query, and inside a transaction: the inner write rejects, the outer applies alone', async () => {
    const { users, memory } = await start();
    await users.write({ id: 'u1', email: 'old@x', team: 'a' });
    const inners: Promise<unknown>[] = [];
    await users.update({ team: 'a' }, () => {
      inners.push(users.write({ id: 'u9', email: 'x@x', team: 'b' }));
      return { team: 'b' };
    });
    expect(inners).toHaveLength(2); // u1 and the record beforeInit wrote
    for (const inner of inners) expectRefused(await rejectionOf(inner), 'write', 'update');
    let inner: Promise<unknown> | undefined;
    await memory.transaction(async () => {
      await users.update('u1', () => {
        inner = users.delete('u1');
        return { email: 'new@x' };
      });
    });
    expectRefused(await rejectionOf(inner!), 'delete', 'update');
    expect(users.all().map((u) => [u.id, u.email, u.team])).toEqual([
      ['seeded', 'seeded@x', 'b'],
      ['u1', 'new@x', 'b'],
    ]);
    expectIndexesAgree(users);
  });

  it('from a validator or a getter of the written object is refused, and nothing is written', async () => {
    const { users } = await start();
    await users.write({ id: 'u1', email: 'old@x' });
    duringValidation.run = () => void users.dirtyWrite({ id: 'u1', email: 'new@x' });
    expectRefused(await rejectionOf(users.insert({ id: 'u2', email: 'two@x' })), 'write', 'insert');
    duringValidation.run = undefined;
    const input = {
      id: 'u3',
      get email() {
        users.dirtyDeleteAll();
        return 'three@x';
      },
    };
    expectRefused(await rejectionOf(users.write(input)), 'deleteAll', 'write');
    expect(users.keys()).toEqual(['seeded', 'u1']);
    expectIndexesAgree(users);
  });

  it('from beforeInit code, inside an update function, is refused the same way', async () => {
    const { users } = await start();
    expect(beforeInitErrors).toHaveLength(1);
    expectRefused(beforeInitErrors[0], 'write', 'update');
    expect(users.get('seeded')).toMatchObject({ email: 'seeded@x', name: '' });
    expectIndexesAgree(users);
  });

  it('to another store, or made by a listener after the write, is applied as any write', async () => {
    const { users } = await start();
    await users.write({ id: 'u1', email: 'old@x' });
    const seen: User[] = [];
    const subscription = users.changes({ op: 'update' }).subscribe((c) => {
      seen.push(c.record as User);
      void users.write({ id: `after-${String(c.key)}`, email: `after-${String(c.key)}@x` });
    });
    await users.update('u1', { email: 'new@x' });
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    subscription.unsubscribe();
    expect(seen.map((u) => u.email)).toEqual(['new@x']);
    expect(users.get('after-u1')?.email).toBe('after-u1@x');
    expectIndexesAgree(users);
  });
});
