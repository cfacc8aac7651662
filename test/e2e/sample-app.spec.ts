import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { getStoreToken, getSweepName, type MemoryStore } from 'nestjs-memory-store';
import request from 'supertest';
import { AppModule } from '../../sample-app/src/app.module.js';
import { configureApp } from '../../sample-app/src/configure-app.js';
import { PeopleStore, type PeopleState } from '../../sample-app/src/people/people.store.js';
import { Token } from '../../sample-app/src/tokens/token.table.js';
import { TOKEN_TTL, tokenTtlFromEnv } from '../../sample-app/src/tokens/token-ttl.js';

const ADA = '5b1f0c2e-7a41-4d8e-9c3a-0f6b2d1e4a01';
const GRACE = '5b1f0c2e-7a41-4d8e-9c3a-0f6b2d1e4a02';
const LINUS = '5b1f0c2e-7a41-4d8e-9c3a-0f6b2d1e4a03';
const NOOR = '5b1f0c2e-7a41-4d8e-9c3a-0f6b2d1e4a06';
const OLU = '5b1f0c2e-7a41-4d8e-9c3a-0f6b2d1e4a09';
const MIRA = '5b1f0c2e-7a41-4d8e-9c3a-0f6b2d1e4a10';
const EDSGER = '0f3c2b1a-9d8e-4f7a-8b6c-5d4e3f2a1b00';
const FIFTEEN_MINUTES = 15 * 60_000;
const dataDirs: string[] = [];

/** An empty data directory for one application (the sample app persists its stores). */
function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sample-app-'));
  dataDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  delete process.env.DATA_DIR;
});

// One application for the whole file: the tests run in order, reads of the seeded data
// first, then the writes, each test knowing what the ones before it changed.
describe('sample-app over HTTP', () => {
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    process.env.DATA_DIR = freshDataDir();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = configureApp(moduleRef.createNestApplication({ logger: false }));
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  /** The headcount of every department, by name. */
  async function headcounts(): Promise<Record<string, number>> {
    const res = await http().get('/departments').expect(200);
    return Object.fromEntries(
      (res.body as { name: string; headcount: number }[]).map((d) => [d.name, d.headcount]),
    );
  }

  /** Every department's headcount equals the people in it, and everyone's department exists. */
  async function expectConsistentHeadcounts(): Promise<Record<string, number>> {
    const counts = await headcounts();
    const people = (await http().get('/people').expect(200)).body as { department: string }[];
    const counted: Record<string, number> = Object.fromEntries(
      Object.keys(counts).map((name) => [name, 0]),
    );
    for (const { department } of people) counted[department] = (counted[department] ?? 0) + 1;
    expect(counts).toEqual(counted);
    return counts;
  }

  /** Lets the store deliver its changes (on the next turn of the event loop). */
  const delivered = () => new Promise<void>((resolve) => setImmediate(resolve));

  describe('start-up', () => {
    it('ran the beforeInit hook before the seeds and the initial state after them', () => {
      const state = app.get(PeopleStore).state as PeopleState;
      expect(state).toMatchObject({
        tag: 'people-v1',
        tableName: 'people',
        sizeBeforeSeeds: 0,
        seeded: 10,
      });
      expect(state.startedAt).toBeInstanceOf(Date);
    });
  });

  describe('GET /departments', () => {
    it('lists the seeded departments, with headcounts that match the seeded people', async () => {
      const res = await http().get('/departments').expect(200);
      expect(res.body).toEqual([
        { name: 'engineering', headcount: 4 },
        { name: 'marketing', headcount: 2 },
        { name: 'research', headcount: 0 },
        { name: 'sales', headcount: 3 },
        { name: 'support', headcount: 1 },
      ]);
      await expectConsistentHeadcounts();
    });
  });

  describe('GET /people', () => {
    it('lists the seeded people, defaults filled in', async () => {
      const res = await http().get('/people').expect(200);
      expect(res.body).toHaveLength(10);
      const linus = res.body.find((p: { uuid: string }) => p.uuid === LINUS);
      expect(linus).toEqual({
        uuid: LINUS,
        email: 'linus@example.com',
        firstName: 'Linus',
        department: 'engineering',
        active: true,
        admin: false,
        age: 29,
        visits: 0,
        startDate: '2021-06-01T09:00:00.000Z',
        profile: { theme: 'dark', lang: 'en' },
      });
    });

    it('filters by department', async () => {
      const res = await http().get('/people').query({ department: 'sales' }).expect(200);
      expect(res.body.map((p: { email: string }) => p.email).sort()).toEqual([
        'kenji@example.com',
        'noor@example.com',
        'sam@example.com',
      ]);
      const none = await http().get('/people?department=legal').expect(200);
      expect(none.body).toEqual([]);
    });

    it('refuses an unknown query parameter', async () => {
      const res = await http().get('/people?team=sales').expect(400);
      expect(res.body.message).toEqual(['property team should not exist']);
    });
  });

  describe('GET /people/admins', () => {
    it('lists the active admins only', async () => {
      const res = await http().get('/people/admins').expect(200);
      expect(res.body.map((p: { firstName: string }) => p.firstName).sort()).toEqual([
        'Ada',
        'Sam',
      ]);
    });
  });

  describe('GET /people/export', () => {
    /** The whole body of a streamed answer, as text. */
    const text = (res: request.Response) => res.text ?? '';

    it('streams every person as NDJSON by default: a header line, then a person a line', async () => {
      const people = (await http().get('/people').expect(200)).body as { uuid: string }[];
      const res = await http().get('/people/export').expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
      expect(res.headers['content-disposition']).toBe('attachment; filename="people.ndjson"');
      const lines = text(res)
        .split('\n')
        .filter((line) => line !== '');
      expect(JSON.parse(lines[0])).toMatchObject({ $export: { table: 'people' } });
      const exported = lines.slice(1).map((line) => JSON.parse(line) as { uuid: string });
      expect(exported.map((p) => p.uuid).sort()).toEqual(people.map((p) => p.uuid).sort());
      expect(exported.find((p) => p.uuid === ADA)).toMatchObject({ uuid: ADA });
    });

    it('streams CSV and JSON when asked', async () => {
      const people = (await http().get('/people').expect(200)).body as { uuid: string }[];
      const csv = await http().get('/people/export?format=csv').expect(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      const rows = text(csv)
        .split('\n')
        .filter((line) => line !== '');
      expect(rows[0].split(',')[0]).toBe('uuid');
      expect(rows).toHaveLength(people.length + 1);
      const json = await http()
        .get('/people/export?format=json')
        .buffer(true)
        .parse((res, done) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => done(null, body));
        })
        .expect(200);
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      const parsed = JSON.parse(json.body as string) as { records: { uuid: string }[] };
      expect(parsed.records.map((p) => p.uuid).sort()).toEqual(people.map((p) => p.uuid).sort());
    });

    it('answers 400 for an unknown format', async () => {
      await http().get('/people/export?format=xml').expect(400);
    });
  });

  describe('GET /people/:uuid', () => {
    it('returns one person', async () => {
      const res = await http().get(`/people/${ADA}`).expect(200);
      expect(res.body).toMatchObject({
        uuid: ADA,
        email: 'ada@example.com',
        admin: true,
        profile: { theme: 'light', lang: 'en' },
        startDate: '2019-03-04T09:00:00.000Z',
      });
    });

    it('answers 404 for an unknown uuid', async () => {
      const res = await http().get('/people/no-such-uuid').expect(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    });
  });

  describe('POST /people', () => {
    it('creates a person (201) with a generated uuid and the defaults', async () => {
      const res = await http()
        .post('/people')
        .send({ email: 'barbara@example.com', firstName: 'Barbara', age: 30 })
        .expect(201);
      expect(res.body).toEqual({
        uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: 'barbara@example.com',
        firstName: 'Barbara',
        department: 'engineering',
        active: true,
        admin: false,
        age: 30,
        visits: 0,
        profile: { theme: 'dark', lang: 'en' },
      });
      await http().get(`/people/${res.body.uuid}`).expect(200);
      expect((await http().get('/people')).body).toHaveLength(11);
    });

    it('creates a person with a given uuid, a date and a partial profile', async () => {
      const res = await http()
        .post('/people')
        .send({
          uuid: EDSGER,
          email: 'edsger@example.com',
          department: 'research',
          startDate: '2025-02-03T10:00:00.000Z',
          profile: { lang: 'nl' },
        })
        .expect(201);
      expect(res.body).toMatchObject({
        uuid: EDSGER,
        department: 'research',
        startDate: '2025-02-03T10:00:00.000Z',
        profile: { theme: 'dark', lang: 'nl' },
      });
      const research = await http().get('/people?department=research').expect(200);
      expect(research.body.map((p: { uuid: string }) => p.uuid)).toEqual([EDSGER]);
    });

    it('answers 409 for an email already taken', async () => {
      const res = await http()
        .post('/people')
        .send({ email: 'ada@example.com', firstName: 'Another Ada' })
        .expect(409);
      expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict', field: 'email' });
      expect(res.body.message).toContain("'ada@example.com' already exists");
    });

    it('answers 409 for a uuid already taken', async () => {
      const res = await http()
        .post('/people')
        .send({ uuid: ADA, email: 'someone-new@example.com' })
        .expect(409);
      expect(res.body).toMatchObject({ statusCode: 409, field: 'uuid' });
      const ada = await http().get(`/people/${ADA}`).expect(200);
      expect(ada.body.email).toBe('ada@example.com');
    });

    it('answers 400 for an invalid body, and creates nothing', async () => {
      const res = await http()
        .post('/people')
        .send({ email: 'not-an-email', age: -3, profile: { theme: 'neon' } })
        .expect(400);
      expect(res.body.message).toEqual(
        expect.arrayContaining([
          'email must be an email',
          'age must not be less than 0',
          expect.stringContaining('profile.theme must be one of the following values'),
        ]),
      );
      await http().post('/people').send({ email: 'x@example.com', role: 'root' }).expect(400);
      expect((await http().get('/people')).body).toHaveLength(12);
    });

    it('answers 400 for a uuid that is not a UUID, such as a route name that would hide it', async () => {
      for (const uuid of ['admins', 'p-100']) {
        const res = await http()
          .post('/people')
          .send({ uuid, email: `${uuid}@example.com` })
          .expect(400);
        expect(res.body.message).toEqual(['uuid must be a UUID']);
      }
      expect((await http().get('/people')).body).toHaveLength(12);
    });

    it('answers 400, not 500, for a body nested 5,000 levels deep', async () => {
      const profile = '{"profile":'.repeat(5_000) + '{"lang":"en"}' + '}'.repeat(5_000);
      const res = await http()
        .post('/people')
        .set('content-type', 'application/json')
        .send(`{"email":"deep@example.com","profile":${profile}}`)
        .expect(400);
      expect(res.body.message).toMatch(/nested more than \d+ levels deep/);
      expect((await http().get('/people')).body).toHaveLength(12);
    });

    it('answers 400 when the table refuses what the DTO let through, and creates nothing', async () => {
      const res = await http()
        .post('/people')
        .send({ email: 'long@example.com', firstName: 'x'.repeat(51) })
        .expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: ['firstName must be shorter than or equal to 50 characters'],
      });
      await http()
        .get('/people')
        .expect(200)
        .expect((r) => expect(r.body).toHaveLength(12));
    });

    it('counts each new person in their department', async () => {
      expect(await expectConsistentHeadcounts()).toMatchObject({ engineering: 5, research: 1 });
    });

    it('answers 400 for an unknown department, and creates nobody', async () => {
      const res = await http()
        .post('/people')
        .send({ email: 'lawyer@example.com', department: 'legal' })
        .expect(400);
      expect(res.body.message).toBe("No department 'legal'");
      const people = await http().get('/people').expect(200);
      expect(people.body).toHaveLength(12);
      expect(people.body.map((p: { email: string }) => p.email)).not.toContain(
        'lawyer@example.com',
      );
      await expectConsistentHeadcounts();
      // the email was never taken
      const lawyer = await http().post('/people').send({ email: 'lawyer@example.com' }).expect(201);
      expect(await expectConsistentHeadcounts()).toMatchObject({ engineering: 6 });
      await http().delete(`/people/${lawyer.body.uuid}`).expect(200);
      expect(await expectConsistentHeadcounts()).toMatchObject({ engineering: 5 });
    });
  });

  describe('PATCH /people/:uuid', () => {
    it('changes the named fields and keeps the others', async () => {
      const res = await http()
        .patch(`/people/${LINUS}`)
        .send({ department: 'sales', admin: true, profile: { theme: 'light' } })
        .expect(200);
      expect(res.body).toMatchObject({
        uuid: LINUS,
        email: 'linus@example.com',
        firstName: 'Linus',
        department: 'sales',
        admin: true,
        age: 29,
        profile: { theme: 'light', lang: 'en' },
      });
      const sales = await http().get('/people?department=sales').expect(200);
      expect(sales.body.map((p: { uuid: string }) => p.uuid)).toContain(LINUS);
      const admins = await http().get('/people/admins').expect(200);
      expect(admins.body.map((p: { uuid: string }) => p.uuid)).toContain(LINUS);
    });

    it('takes the person’s count along to the new department', async () => {
      expect(await expectConsistentHeadcounts()).toMatchObject({ engineering: 4, sales: 4 });
    });

    it('is in the audit log, with only the fields that changed', async () => {
      await delivered();
      const res = await http().get('/audit').expect(200);
      expect(res.body).toEqual([
        {
          at: expect.any(String),
          uuid: LINUS,
          changes: { department: 'sales', admin: true, profile: { theme: 'light', lang: 'en' } },
        },
      ]);
    });

    it('answers 409 when the new email is taken, and changes nothing', async () => {
      await http().patch(`/people/${LINUS}`).send({ email: 'grace@example.com' }).expect(409);
      const linus = await http().get(`/people/${LINUS}`).expect(200);
      expect(linus.body.email).toBe('linus@example.com');
    });

    it('answers 400 for a key change or an invalid value', async () => {
      await http().patch(`/people/${LINUS}`).send({ uuid: 'other' }).expect(400);
      await http().patch(`/people/${LINUS}`).send({ active: 'yes' }).expect(400);
      await http()
        .patch(`/people/${LINUS}`)
        .send({ firstName: 'y'.repeat(60) })
        .expect(400);
      const linus = await http().get(`/people/${LINUS}`).expect(200);
      expect(linus.body.firstName).toBe('Linus');
    });

    it('answers 400 for an unknown department, and changes nothing', async () => {
      await http().patch(`/people/${LINUS}`).send({ department: 'legal', age: 30 }).expect(400);
      const linus = await http().get(`/people/${LINUS}`).expect(200);
      expect(linus.body).toMatchObject({ department: 'sales', age: 29 });
      await expectConsistentHeadcounts();
    });

    it('answers 404 for an unknown uuid', async () => {
      const res = await http().patch('/people/no-such-uuid').send({ age: 40 }).expect(404);
      expect(res.body.message).toBe("No record with key 'no-such-uuid' in table 'people'");
    });
  });

  describe('DELETE /people/:uuid', () => {
    it('deletes a person and returns it', async () => {
      const res = await http().delete(`/people/${MIRA}`).expect(200);
      expect(res.body).toMatchObject({ uuid: MIRA, email: 'mira@example.com' });
      await http().get(`/people/${MIRA}`).expect(404);
      const support = await http().get('/people?department=support').expect(200);
      expect(support.body).toEqual([]);
    });

    it('frees the deleted person’s email', async () => {
      await http().post('/people').send({ email: 'mira@example.com' }).expect(201);
    });

    it('answers 404 for an unknown uuid', async () => {
      await http().delete(`/people/${MIRA}`).expect(404);
    });

    it('takes the person’s count off their department', async () => {
      // Mira left support; her email went to a new engineer
      expect(await expectConsistentHeadcounts()).toMatchObject({ support: 0, engineering: 5 });
    });
  });

  describe('POST /people/:uuid/move', () => {
    it('moves a person to another department and both headcounts with them', async () => {
      const before = await headcounts();
      const res = await http()
        .post(`/people/${GRACE}/move`)
        .send({ department: 'research' })
        .expect(200);
      expect(res.body).toMatchObject({ uuid: GRACE, firstName: 'Grace', department: 'research' });
      expect(await expectConsistentHeadcounts()).toEqual({
        ...before,
        engineering: before.engineering - 1,
        research: before.research + 1,
      });
      const research = await http().get('/people?department=research').expect(200);
      expect(research.body.map((p: { uuid: string }) => p.uuid)).toContain(GRACE);
    });

    it('answers 400 for an unknown department, and changes nothing: not the person, not a headcount', async () => {
      const before = await headcounts();
      await delivered();
      const audited = (await http().get('/audit').expect(200)).body.length;

      const res = await http()
        .post(`/people/${OLU}/move`)
        .send({ department: 'legal' })
        .expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, message: "No department 'legal'" });

      const olu = await http().get(`/people/${OLU}`).expect(200);
      expect(olu.body.department).toBe('marketing');
      expect(await headcounts()).toEqual(before);
      await expectConsistentHeadcounts();
      // the rolled-back update was never committed, so the audit log never heard of it
      await delivered();
      expect((await http().get('/audit').expect(200)).body).toHaveLength(audited);
    });

    it('answers 404 for an unknown person', async () => {
      const before = await headcounts();
      const res = await http()
        .post('/people/no-such-uuid/move')
        .send({ department: 'sales' })
        .expect(404);
      expect(res.body.message).toBe("No record with key 'no-such-uuid' in table 'people'");
      expect(await headcounts()).toEqual(before);
    });

    it('answers 400 for a missing or malformed department', async () => {
      await http().post(`/people/${OLU}/move`).send({}).expect(400);
      await http().post(`/people/${OLU}/move`).send({ department: '' }).expect(400);
      await http().post(`/people/${OLU}/move`).send({ department: 7 }).expect(400);
      await http()
        .post(`/people/${OLU}/move`)
        .send({ department: 'sales', admin: true })
        .expect(400);
      expect((await http().get(`/people/${OLU}`).expect(200)).body.department).toBe('marketing');
    });

    it('changes nothing when the person is in that department already', async () => {
      const before = await headcounts();
      const res = await http()
        .post(`/people/${NOOR}/move`)
        .send({ department: 'sales' })
        .expect(200);
      expect(res.body.department).toBe('sales');
      expect(await headcounts()).toEqual(before);
    });

    it('keeps the headcounts right under many concurrent moves', async () => {
      const people = [ADA, GRACE, LINUS, NOOR, OLU];
      const departments = ['engineering', 'sales', 'marketing', 'research', 'support'];
      const moves = Array.from({ length: 40 }, (_, i) =>
        http()
          .post(`/people/${people[i % people.length]}/move`)
          .send({ department: departments[(i * 3) % departments.length] })
          .expect(200),
      );
      await Promise.all(moves);
      const counts = await expectConsistentHeadcounts();
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(12);
    });

    it('is in the audit log as a change of department only', async () => {
      await http().post(`/people/${OLU}/move`).send({ department: 'support' }).expect(200);
      await delivered();
      const res = await http().get('/audit').expect(200);
      expect(res.body[res.body.length - 1]).toEqual({
        at: expect.any(String),
        uuid: OLU,
        changes: { department: 'support' },
      });
    });
  });

  describe('tokens', () => {
    it('issues a token that redeems exactly once', async () => {
      const issued = await http().post('/tokens').send({ email: 'ada@example.com' }).expect(201);
      const { expiresInMs } = issued.body as { expiresInMs: number };
      expect(expiresInMs).toBeGreaterThan(FIFTEEN_MINUTES - 5_000);
      expect(expiresInMs).toBeLessThanOrEqual(FIFTEEN_MINUTES);
      expect(issued.body).toEqual({
        code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        serial: 1,
        email: 'ada@example.com',
        purpose: 'password-reset',
        issuedAt: expect.any(String),
        // the write is made durable (persisted) before the answer: a few ms pass
        expiresInMs: expect.any(Number),
        expiresAt: expect.any(String),
      });
      const { code, issuedAt, expiresAt } = issued.body as Record<string, string>;
      expect(Date.parse(expiresAt) - Date.parse(issuedAt)).toBeGreaterThanOrEqual(
        FIFTEEN_MINUTES - 1_000,
      );
      expect(Date.parse(expiresAt) - Date.parse(issuedAt)).toBeLessThanOrEqual(
        FIFTEEN_MINUTES + 1_000,
      );

      const redeemed = await http().post('/tokens/redeem').send({ code }).expect(200);
      expect(redeemed.body).toEqual({
        serial: 1,
        email: 'ada@example.com',
        purpose: 'password-reset',
        issuedAt,
        redeemedAt: expect.any(String),
      });

      const again = await http().post('/tokens/redeem').send({ code }).expect(404);
      expect(again.body.message).toBe('Unknown, expired or already redeemed token');
    });

    it('issues a different code each time, each redeemable on its own', async () => {
      const send = () =>
        http().post('/tokens').send({ email: 'sam@example.com', purpose: 'email-verification' });
      const [a, b] = await Promise.all([send().expect(201), send().expect(201)]);
      expect(a.body.code).not.toBe(b.body.code);
      expect([a.body.serial, b.body.serial].sort()).toEqual([2, 3]);
      await http().post('/tokens/redeem').send({ code: b.body.code }).expect(200);
      const first = await http().post('/tokens/redeem').send({ code: a.body.code }).expect(200);
      expect(first.body.purpose).toBe('email-verification');
    });

    it('refuses a malformed request and an unknown code', async () => {
      await http().post('/tokens').send({ email: 'nope' }).expect(400);
      await http().post('/tokens').send({ email: 'a@example.com', purpose: 'x' }).expect(400);
      await http().post('/tokens/redeem').send({}).expect(400);
      const unknown = await http()
        .post('/tokens/redeem')
        .send({ code: 'never-issued' })
        .expect(404);
      expect(unknown.body.message).toBe('Unknown, expired or already redeemed token');
    });
  });

  describe('GET /stats', () => {
    it('reports every store', async () => {
      await http().post('/tokens').send({ email: 'grace@example.com' }).expect(201);
      const res = await http().get('/stats').expect(200);
      expect(res.body).toEqual(
        expect.arrayContaining([
          {
            table: 'people',
            store: 'PeopleStore',
            size: 12,
            indexes: [
              { field: 'department', unique: false },
              { field: 'email', unique: true },
            ],
            ready: true,
            pendingEvents: 0,
          },
          {
            table: 'tokens',
            store: 'MemoryStore<tokens>',
            size: 1,
            indexes: [{ field: 'email', unique: false }],
            ready: true,
            pendingEvents: 0,
          },
          {
            table: 'departments',
            store: 'DepartmentsStore',
            size: 5,
            indexes: [],
            ready: true,
            pendingEvents: 0,
          },
        ]),
      );
      expect(res.body).toHaveLength(3);
    });
  });
});

// A second application on fake timers, for the tokens' time to live. Only the timers and the
// clock are fake: HTTP needs real nextTick and setImmediate.
describe('sample-app tokens over time (fake timers)', () => {
  let app: INestApplication;
  const http = () => request(app.getHttpServer());
  const advance = (ms: number) => jest.advanceTimersByTime(ms);

  async function startApp(build?: (builder: TestingModuleBuilder) => TestingModuleBuilder) {
    process.env.DATA_DIR = freshDataDir();
    const builder = Test.createTestingModule({ imports: [AppModule] });
    const moduleRef = await (build ? build(builder) : builder).compile();
    const started = configureApp(moduleRef.createNestApplication({ logger: false }));
    await started.init();
    return started;
  }

  const issue = async (email: string) =>
    (await http().post('/tokens').send({ email }).expect(201)).body as Record<string, unknown> & {
      code: string;
    };
  const redeem = (code: string) => http().post('/tokens/redeem').send({ code });

  beforeAll(async () => {
    jest.useFakeTimers({
      now: Date.UTC(2026, 5, 1, 9, 0, 0),
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'],
    });
    app = await startApp();
  });

  afterAll(async () => {
    await app?.close();
    jest.useRealTimers();
  });

  it('answers when a token expires, 15 minutes after it was issued', async () => {
    const now = Date.now();
    const token = await issue('ada@example.com');
    expect(token).toMatchObject({
      serial: 1,
      issuedAt: new Date(now).toISOString(),
      expiresInMs: FIFTEEN_MINUTES,
      expiresAt: new Date(now + FIFTEEN_MINUTES).toISOString(),
    });
    expect((await issue('sam@example.com')).serial).toBe(2);
  });

  it('redeems a token up to its deadline and answers 404 from then on, as for an unknown one', async () => {
    const early = await issue('grace@example.com');
    const late = await issue('grace@example.com');
    advance(FIFTEEN_MINUTES - 1);
    const redeemed = await redeem(early.code).expect(200);
    expect(redeemed.body).toMatchObject({ email: 'grace@example.com', serial: early.serial });
    advance(1);
    const expired = await redeem(late.code).expect(404);
    const unknown = await redeem('never-issued').expect(404);
    expect(expired.body).toEqual(unknown.body);
    expect(expired.body.message).toBe('Unknown, expired or already redeemed token');
  });

  it('sweeps expired tokens every 30 seconds, as the module is configured', async () => {
    const tokens = app.get<MemoryStore<Token>>(getStoreToken(Token));
    const scheduler = app.get(SchedulerRegistry);
    expect(scheduler.doesExist('cron', getSweepName(Token))).toBe(true);

    await issue('ada@example.com');
    await issue('linus@example.com');
    const live = tokens.size;
    expect(live).toBeGreaterThanOrEqual(2);
    const sweep = jest.spyOn(tokens, 'sweep');
    advance(FIFTEEN_MINUTES + 30_000);
    // one run every 30 s, and together they removed every token (nothing else read them)
    expect(sweep.mock.calls.length).toBeGreaterThanOrEqual(30);
    const removed = sweep.mock.results.reduce((sum, r) => sum + (r.value as number), 0);
    expect(removed).toBe(live);
    sweep.mockRestore();

    const stats = await http().get('/stats').expect(200);
    expect(stats.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ table: 'tokens', size: 0 })]),
    );
  });

  it('takes the time to live from TOKEN_TTL', async () => {
    const short = await startApp((builder) => builder.overrideProvider(TOKEN_TTL).useValue('2m'));
    try {
      const res = await request(short.getHttpServer())
        .post('/tokens')
        .send({ email: 'ada@example.com' })
        .expect(201);
      expect(res.body.expiresInMs).toBe(120_000);
      advance(120_000);
      await request(short.getHttpServer())
        .post('/tokens/redeem')
        .send({ code: res.body.code })
        .expect(404);
    } finally {
      await short.close();
    }
  });

  it('reads TOKEN_TTL from the environment, refusing a malformed one', () => {
    expect(tokenTtlFromEnv(undefined)).toBe('15m');
    expect(tokenTtlFromEnv('')).toBe('15m');
    expect(tokenTtlFromEnv('30s')).toBe('30s');
    expect(tokenTtlFromEnv('900000')).toBe(900_000);
    expect(() => tokenTtlFromEnv('soon')).toThrow(
      "TOKEN_TTL must be milliseconds or a duration such as '15m'; got 'soon'",
    );
    expect(() => tokenTtlFromEnv('0')).toThrow(/TOKEN_TTL/);
  });
});

describe('sample-app data across restarts', () => {
  it('keeps what was written, and does not seed again', async () => {
    const dir = freshDataDir();
    const start = async () => {
      process.env.DATA_DIR = dir;
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      const app = configureApp(moduleRef.createNestApplication({ logger: false }));
      await app.init();
      return app;
    };
    let app = await start();
    const created = await request(app.getHttpServer())
      .post('/people')
      .send({ email: 'restart@example.com', firstName: 'Rae', department: 'sales' })
      .expect(201);
    await request(app.getHttpServer()).delete(`/people/${ADA}`).expect(200);
    const before = (await request(app.getHttpServer()).get('/people').expect(200))
      .body as unknown[];
    await app.close();

    app = await start();
    const after = (await request(app.getHttpServer()).get('/people').expect(200)).body as unknown[];
    expect(after).toHaveLength(before.length);
    await request(app.getHttpServer())
      .get(`/people/${(created.body as { uuid: string }).uuid}`)
      .expect(200);
    await request(app.getHttpServer()).get(`/people/${ADA}`).expect(404);
    await app.close();
  });
});
