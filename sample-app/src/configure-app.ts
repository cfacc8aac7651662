import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { BodyDepthPipe } from './common/body-depth.pipe.js';
import { MemoryStoreExceptionFilter } from './common/memory-store-exception.filter.js';

/** The global set-up shared by `main.ts` and the e2e tests, so both run the same app. */
export function configureApp<A extends INestApplication>(app: A): A {
  app.useGlobalPipes(
    new BodyDepthPipe(),
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  app.useGlobalFilters(new MemoryStoreExceptionFilter(app.get(HttpAdapterHost).httpAdapter));
  return app;
}
