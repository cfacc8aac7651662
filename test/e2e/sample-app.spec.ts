import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../../sample-app/src/app.module.js';
import { configureApp } from '../../sample-app/src/configure-app.js';
import { PeopleStore, type PeopleState } from '../../sample-app/src/people/people.store.js';

const ADA = '5b1f0c2e-7a41-4d8e-9c3a-0f6b2d1e4a01';
const LINUS = '5b1f0c2e-7a41-4d8e-9c3a-0f6b2d1e4a03';
const MIRA = '5b1f0c2e-7a41-4d8e-9c3a-0f6b2d1e4a10';

// One application for the whole file: the tests run in order, reads of the seeded data
// first, then the writes, each test knowing what the ones before it changed.
describe('sample-app over HTTP', () => {
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = configureApp(moduleRef.createNestApplication({ logger: false }));
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

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
          uuid: 'p-100',
          email: 'edsger@example.com',
          department: 'research',
          startDate: '2025-02-03T10:00:00.000Z',
          profile: { lang: 'nl' },
        })
        .expect(201);
      expect(res.body).toMatchObject({
        uuid: 'p-100',
        department: 'research',
        startDate: '2025-02-03T10:00:00.000Z',
        profile: { theme: 'dark', lang: 'nl' },
      });
      const research = await http().get('/people?department=research').expect(200);
      expect(research.body.map((p: { uuid: string }) => p.uuid)).toEqual(['p-100']);
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
  });

  describe('tokens', () => {
    it('issues a token that redeems exactly once', async () => {
      const issued = await http().post('/tokens').send({ email: 'ada@example.com' }).expect(201);
      expect(issued.body).toEqual({
        code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        email: 'ada@example.com',
        purpose: 'password-reset',
        issuedAt: expect.any(String),
      });
      const { code } = issued.body as { code: string };

      const redeemed = await http().post('/tokens/redeem').send({ code }).expect(200);
      expect(redeemed.body).toEqual({
        email: 'ada@example.com',
        purpose: 'password-reset',
        issuedAt: issued.body.issuedAt,
        redeemedAt: expect.any(String),
      });

      const again = await http().post('/tokens/redeem').send({ code }).expect(404);
      expect(again.body.message).toBe('Unknown or already redeemed token');
    });

    it('issues a different code each time, each redeemable on its own', async () => {
      const send = () =>
        http().post('/tokens').send({ email: 'sam@example.com', purpose: 'email-verification' });
      const [a, b] = await Promise.all([send().expect(201), send().expect(201)]);
      expect(a.body.code).not.toBe(b.body.code);
      await http().post('/tokens/redeem').send({ code: b.body.code }).expect(200);
      const first = await http().post('/tokens/redeem').send({ code: a.body.code }).expect(200);
      expect(first.body.purpose).toBe('email-verification');
    });

    it('refuses a malformed request and an unknown code', async () => {
      await http().post('/tokens').send({ email: 'nope' }).expect(400);
      await http().post('/tokens').send({ email: 'a@example.com', purpose: 'x' }).expect(400);
      await http().post('/tokens/redeem').send({}).expect(400);
      await http().post('/tokens/redeem').send({ code: 'never-issued' }).expect(404);
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
          },
          {
            table: 'tokens',
            store: 'MemoryStore<tokens>',
            size: 1,
            indexes: [{ field: 'email', unique: false }],
            ready: true,
          },
        ]),
      );
      expect(res.body).toHaveLength(2);
    });
  });
});
