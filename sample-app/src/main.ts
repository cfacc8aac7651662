import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './configure-app.js';

const app = configureApp(await NestFactory.create(AppModule));
app.enableShutdownHooks();
await app.listen(process.env.PORT ?? 3000);
Logger.log(`Listening on ${await app.getUrl()}`, 'Bootstrap');
