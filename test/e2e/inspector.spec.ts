import 'reflect-metadata';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Injectable,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { MemoryStoreInspectorModule, QueryError } from 'nestjs-memory-store';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../../sample-app/src/app.module.js';
import { createApp } from './fixtures/app.factory.js';
import { BooksStore, OperationsAppModule, PagesStore } from './fixtures/operations-app.module.js';

const TOKEN = { 'x-inspector-token': 'let-me-in' };

/** Lets a request in only with the right header. */
@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<IncomingMessage>();
    return request.headers['x-inspector-token'] === 'let-me-in';
  }
}

describe('inspector (MemoryStoreInspectorModule)', () => {
  const apps: INestApplication[] = [];

  async function start(
    inspector = MemoryStoreInspectorModule.forRoot({ enabled: true, guard: TokenGuard }),
  ) {
    const app = await createApp(
      OperationsAppModule.register({}, [BooksStore, PagesStore], [inspector]),
    );
    apps.push(app);
    await app.init();
    const books = app.get(BooksStore);
    for (let i = 0; i < 30; i++)
      await books.write({
        isbn: `b${String(i).padStart(2, '0')}`,
        title: `Book ${i}`,
        author: `A${i % 5}`,
        year: 1990 + i,
      });
    return { app, books, http: () => request(app.getHttpServer()) };
  }

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it('is mounted by the sample app (outside production) at /_stores', async () => {
    process.env.DATA_DIR = 'memory';
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      apps.push(app);
      await app.init();
      const res = await request(app.getHttpServer()).get('/_stores/api/stores').expect(200);
      expect((res.body as { table: string }[]).map((s) => s.table)).toEqual(
        expect.arrayContaining(['people', 'departments', 'tokens']),
      );
    } finally {
      delete process.env.DATA_DIR;
    }
  });

  it('is off unless enabled: nothing is served', async () => {
    const { http } = await start(MemoryStoreInspectorModule.forRoot({ guard: TokenGuard }));
    await http().get('/_stores').set(TOKEN).expect(404);
    await http().get('/_stores/api/stores').set(TOKEN).expect(404);
  });

  it('serves its page and assets, and refuses every route when the guard says no', async () => {
    const { http } = await start();
    const page = await http().get('/_stores').set(TOKEN).expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<base href="/_stores/" />');
    await http()
      .get('/_stores/inspector.css')
      .set(TOKEN)
      .expect(200)
      .expect('content-type', /text\/css/);
    await http()
      .get('/_stores/inspector.js')
      .set(TOKEN)
      .expect(200)
      .expect('content-type', /javascript/);

    for (const path of [
      '/_stores',
      '/_stores/inspector.js',
      '/_stores/api/stores',
      '/_stores/api/stores/books/records',
      '/_stores/api/stores/books/query?filter={}',
      '/_stores/api/changes',
    ])
      await http().get(path).expect(403);
  });

  it('lists the stores with their figures and indexes', async () => {
    const { http } = await start();
    const res = await http().get('/_stores/api/stores').set(TOKEN).expect(200);
    expect(res.body).toEqual([
      expect.objectContaining({
        table: 'books',
        store: 'BooksStore',
        key: 'isbn',
        records: 30,
        ready: true,
        persisted: false,
        indexes: [{ field: 'author', unique: false }],
        eventBacklog: 0,
      }),
      expect.objectContaining({ table: 'pages', key: 'url', records: 0, maxRecords: 2 }),
    ]);
  });

  it("pages and sorts a table's records", async () => {
    const { http } = await start();
    const res = await http()
      .get('/_stores/api/stores/books/records?offset=10&limit=5&sort=year&order=desc')
      .set(TOKEN)
      .expect(200);
    expect(res.body).toMatchObject({
      table: 'books',
      total: 30,
      offset: 10,
      limit: 5,
      sort: { field: 'year', order: 'desc' },
    });
    expect((res.body as { items: { year: number }[] }).items.map((b) => b.year)).toEqual([
      2009, 2008, 2007, 2006, 2005,
    ]);
    const first = await http()
      .get('/_stores/api/stores/books/records?limit=3&sort=isbn')
      .set(TOKEN)
      .expect(200);
    expect((first.body as { items: { isbn: string }[] }).items.map((b) => b.isbn)).toEqual([
      'b00',
      'b01',
      'b02',
    ]);

    await http().get('/_stores/api/stores/books/records?limit=-1').set(TOKEN).expect(400);
    await http().get('/_stores/api/stores/books/records?order=sideways').set(TOKEN).expect(400);
    await http().get('/_stores/api/stores/nope/records').set(TOKEN).expect(404);
  });

  it('runs a JSON filter with its explain(); a bad filter is a 400 with the QueryError message', async () => {
    const { http, books } = await start();
    const res = await http()
      .get('/_stores/api/stores/books/query')
      .query({ filter: '{"author":"A3","year":{"$gte":2000}}' })
      .set(TOKEN)
      .expect(200);
    const body = res.body as {
      count: number;
      items: { isbn: string }[];
      explain: Record<string, unknown>;
    };
    expect(body.count).toBe(4);
    expect(body.items.map((b) => b.isbn).sort()).toEqual(['b13', 'b18', 'b23', 'b28']);
    expect(body.explain).toMatchObject({
      strategy: 'index lookup',
      field: 'author',
      examinedRows: 6,
      returnedRows: 4,
    });

    const filter = { year: { $bogus: 1 } };
    let expected = '';
    try {
      books.select(filter as never);
    } catch (error) {
      expect(error).toBeInstanceOf(QueryError);
      expected = (error as Error).message;
    }
    expect(expected).not.toBe('');
    const bad = await http()
      .get('/_stores/api/stores/books/query')
      .query({ filter: JSON.stringify(filter) })
      .set(TOKEN)
      .expect(400);
    expect((bad.body as { message: string }).message).toBe(expected);

    const notJson = await http()
      .get('/_stores/api/stores/books/query')
      .query({ filter: '{author:' })
      .set(TOKEN)
      .expect(400);
    expect((notJson.body as { message: string }).message).toMatch(/^'filter' is not JSON/);
  });

  it('streams each change made after connecting as a Server-Sent Event, with its diff', async () => {
    const { app, books } = await start();
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/_stores/api/changes', headers: TOKEN }, resolve).on(
        'error',
        reject,
      );
    });
    try {
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
      const events: string[] = [];
      const arrived = new Promise<void>((resolve) => {
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            events.push(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
          if (events.length >= 2) resolve();
        });
      });
      await books.update('b07', { title: 'Renamed' });
      await books.write({ isbn: 'new', title: 'Fresh', author: 'Z' });
      await arrived;
      const changes = events.map((event) => {
        expect(event).toMatch(/^event: change$/m);
        return JSON.parse(/^data: (.*)$/m.exec(event)![1]) as Record<string, unknown>;
      });
      expect(changes[0]).toMatchObject({
        table: 'books',
        op: 'update',
        key: 'b07',
        diff: { title: 'Renamed' },
        previous: { title: 'Book 7' },
      });
      expect(changes[1]).toMatchObject({
        table: 'books',
        op: 'insert',
        key: 'new',
        diff: { isbn: 'new', title: 'Fresh', author: 'Z', year: 0 },
      });
    } finally {
      response.destroy();
    }
  });
});
