import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Index } from '../../../lib/decorators/index.decorator.js';
import { Table } from '../../../lib/decorators/table.decorator.js';
import { MemoryTable } from '../../../lib/engine/memory-table.js';
import { getTableSchema } from '../../../lib/metadata/table-schema.js';
import { NODE_FILE_SYSTEM } from '../../../lib/persistence/file-system.js';
import { Journal } from '../../../lib/persistence/journal.js';
import { LogRecovery } from '../../../lib/persistence/log-recovery.js';
import { encodeValue } from '../../../lib/persistence/value-codec.js';
import { TableLoader } from '../../../lib/store/table-loader.js';

@Table({ name: 'members', indexes: ['team'] })
class Member {
  id!: string;
  @Index({ unique: true }) email = '';
  team = 'core';
  joined?: Date;
}

/**
 * Recovery loads a table's records straight into the live table: the log after the snapshot
 * is read first, and the snapshot's records it changed, deleted or cleared are passed over.
 * A snapshot is fuzzy (read while writes go on), so it can hold two records that were never
 * in the table together; the log after it makes the state exact.
 */
describe('LogRecovery into a live table', () => {
  const dirs: string[] = [];
  const journals: Journal[] = [];

  afterEach(async () => {
    for (const journal of journals.splice(0)) await journal.close().catch(() => undefined);
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** A directory whose snapshot holds `snapshot` and whose log after it then applies `after`. */
  async function persisted(snapshot: Member[], after: (journal: Journal) => void): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'nms-log-recovery-'));
    dirs.push(dir);
    const journal = new Journal(dir, 'always', NODE_FILE_SYSTEM);
    journals.push(journal);
    await journal.open('members');
    journal.attach('members', {
      rows: new Map(snapshot.map((m) => [m.id, m])),
      deadline: () => undefined,
      counters: () => [['visits', 3]],
      version: 1,
    });
    await journal.snapshot();
    after(journal);
    await journal.durable();
    return dir;
  }

  async function recover(dir: string): Promise<MemoryTable<Member>> {
    const table = new MemoryTable(getTableSchema(Member));
    const loader = new TableLoader(table, {
      rows: table.rows,
      deadline: () => undefined,
      counters: () => [],
      version: 1,
    });
    const recovery = new LogRecovery(
      dir,
      NODE_FILE_SYSTEM,
      'members',
      'fail',
      new Logger('test'),
      new Map([['members', loader]]),
    );
    await recovery.run();
    expect(recovery.loaded.has('members')).toBe(true);
    expect(recovery.tables.has('members')).toBe(false); // no copy kept
    return table;
  }

  const put = (m: Member) => ['p', 'members', m.id, encodeValue(m), null] as const;

  it('gives a unique value that moved between records after a fuzzy snapshot to its last holder', async () => {
    // m1 was read holding x before it moved to y, m2 after it took x
    const dir = await persisted(
      [
        { id: 'm1', email: 'x', team: 'core' },
        { id: 'm2', email: 'x', team: 'core' },
        { id: 'm3', email: 'z', team: 'ops' },
      ],
      (journal) => {
        journal.log(put({ id: 'm1', email: 'y', team: 'core' }));
        journal.log(put({ id: 'm2', email: 'x', team: 'core' }));
      },
    );
    const table = await recover(dir);
    expect(table.get('m1')?.email).toBe('y');
    expect(table.one({ email: 'x' })?.id).toBe('m2');
    expect(table.one({ email: 'z' })?.id).toBe('m3');
    expect(table.size).toBe(3);
  });

  it('applies deletes, replacements, a clear and counters from the log over the snapshot', async () => {
    const joined = new Date('2026-01-02T03:04:05Z');
    const dir = await persisted(
      [
        { id: 'a', email: 'a@x', team: 'core' },
        { id: 'b', email: 'b@x', team: 'core' },
        { id: 'c', email: 'c@x', team: 'core' },
      ],
      (journal) => {
        journal.log(['d', 'members', 'a']);
        journal.log(put({ id: 'b', email: 'b@x', team: 'ops', joined }));
        journal.log(['n', 'members', 'visits', 4]);
      },
    );
    const table = await recover(dir);
    expect(table.keys().sort()).toEqual(['b', 'c']);
    expect(table.get('b')).toEqual(expect.objectContaining({ team: 'ops', joined }));
    expect(table.get('b')?.joined).toBeInstanceOf(Date);
    expect(table.select({ team: 'core' }).map((m) => m.id)).toEqual(['c']);
    expect([...table.counters.entries()]).toEqual([['visits', 4]]);

    const cleared = await persisted(
      [
        { id: 'a', email: 'a@x', team: 'core' },
        { id: 'b', email: 'b@x', team: 'core' },
      ],
      (journal) => {
        journal.log(['x', 'members']);
        journal.log(put({ id: 'c', email: 'a@x', team: 'core' }));
      },
    );
    const after = await recover(cleared);
    expect(after.keys()).toEqual(['c']);
    expect(after.one({ email: 'a@x' })?.id).toBe('c');
  });

  it('loads every record of a table past the size where its rows grow (65,536), in order, indexed', async () => {
    // the loader cuts a batch there (the records before it, then a slice of its own for the rest)
    const count = 70_003;
    const members = Array.from({ length: count }, (_, i) => ({
      id: `m${i}`,
      email: `m${i}@x`,
      team: `t${i % 7}`,
    }));
    const dir = await persisted(members.slice(0, count - 3), (journal) => {
      for (const m of members.slice(count - 3)) journal.log(put(m));
      journal.log(put({ id: 'm65535', email: 'moved@x', team: 'ops' }));
    });
    const table = await recover(dir);
    expect(table.size).toBe(count);
    // the snapshot's records but the one the log changed, then the log's, in the order logged
    const expected = members.map((m) => m.id).filter((id) => id !== 'm65535');
    expected.push('m65535');
    expect(table.keys()).toEqual(expected);
    expect(table.get('m65536')?.email).toBe('m65536@x');
    expect(table.one({ email: 'moved@x' })?.id).toBe('m65535');
    expect(table.one({ email: 'm65535@x' })).toBeUndefined();
    expect(table.one({ email: 'm70002@x' })?.id).toBe('m70002');
    const team = members[65_535].team; // where m65535 was before it moved
    const left = members.filter((m) => m.team === team).length - 1;
    expect(table.count({ team })).toBe(left);
    expect(table.select({ team })).toHaveLength(left);
    expect(table.select({ team: 't0' }).map((m) => m.id)).toEqual(
      members.filter((m) => m.team === 't0').map((m) => m.id),
    );
    expect(table.count({ team: 'ops' })).toBe(1);
  });
});
