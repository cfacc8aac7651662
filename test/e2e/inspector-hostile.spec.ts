import 'reflect-metadata';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Injectable,
  Module,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { MemoryStoreError, MemoryStoreInspectorModule } from 'nestjs-memory-store';
import request from 'supertest';
import { MEMORY_STORE_REGISTRY } from '../../lib/memory-store.constants.js';
import type { StoreRegistry } from '../../lib/store/store-registry.js';
import { createApp } from './fixtures/app.factory.js';
import { BooksStore, OperationsAppModule, PagesStore } from './fixtures/operations-app.module.js';

/** What an application's admin guard depends on, from a module of its own. */
@Injectable()
class AdminTokens {
  readonly token = 'admin-token';
}

@Module({ providers: [AdminTokens], exports: [AdminTokens] })
class AuthModule {}

/** A guard as applications write them: it injects a provider of another module. */
@Injectable()
class AdminGuard implements CanActivate {
  constructor(private readonly tokens: AdminTokens) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<IncomingMessage>();
    return request.headers['x-admin'] === this.tokens.token;
  }
}

/** The inspector's JSON API and live feed, used the way a careless or hostile client would. */
describe('inspector under hostile use', () => {
  const apps: INestApplication[] = [];

  async function start() {
    const app = await createApp(
      OperationsAppModule.register(
        {},
        [BooksStore, PagesStore],
        [MemoryStoreInspectorModule.forRoot({ enabled: true })],
      ),
    );
    apps.push(app);
    await app.init();
    const books = app.get(BooksStore);
    for (let i = 0; i < 5; i++)
      await books.write({ isbn: `b${i}`, title: `Book ${i}`, author: `A${i}`, year: 2000 + i });
    return { app, books, http: () => request(app.getHttpServer()) };
  }

  /** Opens the live feed on a listening app. */
  async function openFeed(app: INestApplication): Promise<IncomingMessage> {
    const { port } = app.getHttpServer().address() as AddressInfo;
    return new Promise<IncomingMessage>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/_stores/api/changes' }, resolve).on('error', reject);
    });
  }

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it('app.close() ends open live feeds instead of waiting for their clients forever', async () => {
    const { app } = await start();
    await app.listen(0, '127.0.0.1');
    const feeds = [await openFeed(app), await openFeed(app)];
    const ended = feeds.map(
      (feed) =>
        new Promise<void>((resolve) => {
          feed.resume();
          feed.on('end', resolve);
        }),
    );
    apps.length = 0;
    await app.close(); // waited for the feeds' clients to leave: the test timed out
    await Promise.all(ended);
  });

  it('a client that disconnects leaves no subscription behind', async () => {
    const { app, books } = await start();
    await app.listen(0, '127.0.0.1');
    const hub = app.get<StoreRegistry>(MEMORY_STORE_REGISTRY).hub;
    const feeds = await Promise.all(Array.from({ length: 20 }, () => openFeed(app)));
    expect(hub.interestIn('books').watchers).toBe(20);
    const closed = feeds.map(
      (feed) => new Promise((resolve) => feed.socket.once('close', resolve)),
    );
    for (const feed of feeds) feed.destroy();
    await Promise.all(closed);
    await books.write({ isbn: 'after', title: 'x', author: 'x' });
    for (let i = 0; i < 100 && hub.interestIn('books').watchers > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(hub.interestIn('books').watchers).toBe(0);
  });
  it('refuses a parameter given twice, rather than answering for every record', async () => {
    const { http } = await start();
    for (const path of [
      '/_stores/api/stores/books/query?filter={"author":"A1"}&filter={"author":"A2"}',
      '/_stores/api/stores/books/records?sort=year&sort=title',
      '/_stores/api/changes?table=books&table=pages',
    ]) {
      const res = await http().get(path);
      expect([path, res.status]).toEqual([path, 400]);
      expect((res.body as { message: string }).message).toMatch(/must be given once, as a string/);
    }
    // Given once, as text, they are read as before.
    const one = await http()
      .get('/_stores/api/stores/books/query')
      .query({ filter: '{"author":"A1"}' })
      .expect(200);
    expect((one.body as { count: number }).count).toBe(1);
    await http().get('/_stores/api/stores/books/records?sort=year').expect(200);
  });

  it('answers prototype names as fields or tables with a 400 or 404, never a 500', async () => {
    const { http } = await start();
    for (const field of ['__proto__', 'constructor'])
      await http().get(`/_stores/api/stores/books/records?sort=${field}`).expect(400);
    await http()
      .get('/_stores/api/stores/books/query')
      .query({ filter: '{"__proto__":{"x":1}}' })
      .expect(400);
    for (const table of ['__proto__', 'constructor', 'toString'])
      await http().get(`/_stores/api/stores/${table}/records`).expect(404);
    await http().get('/_stores/api/changes?table=constructor').expect(404);
  });

  it('writes nothing: other methods find no route, and paths outside its files are not served', async () => {
    const { http, books } = await start();
    for (const method of ['post', 'put', 'patch', 'delete'] as const)
      await http()[method]('/_stores/api/stores/books/records').send({ isbn: 'x' }).expect(404);
    await http().get('/_stores/..%2f..%2fpackage.json').expect(404);
    await http().get('/_stores/assets%2f..%2f..%2fpackage.json').expect(404);
    expect(books.size).toBe(5);
  });
  it("refuses an 'enabled' that is not a boolean: the string 'false' of an environment variable mounted it", () => {
    for (const enabled of ['false', '0', 1, 'true'])
      expect(() =>
        MemoryStoreInspectorModule.forRoot({ enabled: enabled as unknown as boolean }),
      ).toThrow(MemoryStoreError);
    expect(() => MemoryStoreInspectorModule.forRoot({ enabled: 'false' as never })).toThrow(
      /'enabled' must be true or false, got the string "false"/,
    );
    expect(MemoryStoreInspectorModule.forRoot({ enabled: false }).controllers).toBeUndefined();
    expect(MemoryStoreInspectorModule.forRoot({}).controllers).toBeUndefined();
  });
  it('resolves a guard class that injects a provider of a module given in imports', async () => {
    const app = await createApp(
      OperationsAppModule.register(
        {},
        [BooksStore],
        [
          MemoryStoreInspectorModule.forRoot({
            enabled: true,
            guard: AdminGuard,
            imports: [AuthModule],
          }),
        ],
      ),
    );
    apps.push(app);
    await app.init(); // could not resolve AdminGuard's AdminTokens: no way to give its module
    const http = () => request(app.getHttpServer());
    for (const path of ['/_stores', '/_stores/inspector.css', '/_stores/api/stores']) {
      await http().get(path).expect(403);
      await http().get(path).set('x-admin', 'admin-token').expect(200);
    }
    await http().get('/_stores/api/changes').expect(403);
    await http().head('/_stores/api/stores').expect(403); // HEAD runs the GET route's guard
    await http().head('/_stores/api/stores').set('x-admin', 'admin-token').expect(200);
  });
  it('sends a record holding a bigint (as its digits) in pages, queries and the live feed', async () => {
    const { app, books, http } = await start();
    await app.listen(0, '127.0.0.1');
    const feed = await openFeed(app);
    let text = '';
    feed.setEncoding('utf8');
    const arrived = new Promise<void>((resolve) => {
      feed.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('"key":"after"')) resolve();
      });
      feed.on('end', resolve);
    });
    await books.write({ isbn: 'big', title: 't', author: 'A1', balance: 10n } as never);
    await books.write({ isbn: 'after', title: 't', author: 'A1' });
    await arrived;
    feed.destroy();
    expect(text).not.toMatch(/^event: error$/m); // it sent one and ended at the bigint
    expect(text).toContain('"balance":"10"');

    const page = await http().get('/_stores/api/stores/books/records').expect(200); // was 500
    expect((page.body as { items: object[] }).items).toContainEqual(
      expect.objectContaining({ isbn: 'big', balance: '10' }),
    );
    const found = await http()
      .get('/_stores/api/stores/books/query')
      .query({ filter: '{"isbn":"big"}' })
      .expect(200); // was 500
    expect((found.body as { items: object[] }).items).toEqual([
      expect.objectContaining({ balance: '10' }),
    ]);
  });
});
