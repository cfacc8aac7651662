import {
  Controller,
  Get,
  Header,
  Param,
  Query,
  Req,
  Sse,
  UseGuards,
  type CanActivate,
  type MessageEvent,
  type Type,
} from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { readAsset } from './inspector-assets.js';
import { InspectorService, type QueryAnswer, type RecordPage } from './inspector.service.js';

/** The parts of a request the page needs (Express and Fastify both have `url`). */
interface RequestLike {
  originalUrl?: string;
  url?: string;
}

/**
 * A controller class serving the page and its JSON API under `path`, guarded by `guard`:
 * made per `forRoot()`, since a controller's path and guards are decorations of its class.
 */
export function createInspectorController(
  path: string,
  guard: Type<CanActivate> | CanActivate | undefined,
): Type {
  @Controller(path)
  class MemoryStoreInspectorController {
    constructor(private readonly inspector: InspectorService) {}

    /** The page, told where it is mounted (a global prefix included). */
    @Get()
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Cache-Control', 'no-store')
    page(@Req() request: RequestLike): string {
      const url = (request.originalUrl ?? request.url ?? path).split('?')[0];
      const base = `${url.replace(/\/+$/, '')}/`;
      return readAsset('index.html').body.replace('{{BASE}}', escapeAttribute(base));
    }

    @Get('inspector.css')
    @Header('Content-Type', 'text/css; charset=utf-8')
    css(): string {
      return readAsset('inspector.css').body;
    }

    @Get('inspector.js')
    @Header('Content-Type', 'text/javascript; charset=utf-8')
    js(): string {
      return readAsset('inspector.js').body;
    }

    @Get('api/stores')
    stores() {
      return this.inspector.stores();
    }

    @Get('api/stores/:table/records')
    records(@Param('table') table: string, @Query() query: Record<string, unknown>): RecordPage {
      return this.inspector.records(table, query);
    }

    @Get('api/stores/:table/query')
    query(
      @Param('table') table: string,
      @Query('filter') filter: unknown,
      @Query('limit') limit: unknown,
    ): QueryAnswer {
      return this.inspector.query(table, filter, limit);
    }

    /** Server-Sent Events: one `change` event per committed change, with its diff. */
    @Sse('api/changes')
    changes(@Query('table') table?: unknown): Observable<MessageEvent> {
      return this.inspector
        .changes(table)
        .pipe(map((change) => ({ type: 'change', data: change })));
    }
  }
  if (guard) UseGuards(guard)(MemoryStoreInspectorController);
  return MemoryStoreInspectorController;
}

function escapeAttribute(value: string): string {
  return value.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}
