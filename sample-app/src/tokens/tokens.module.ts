import { Module } from '@nestjs/common';
import { MemoryStoreModule } from 'nestjs-memory-store';
import { Token } from './token.table.js';
import { TOKEN_TTL, tokenTtlFromEnv } from './token-ttl.js';
import { TokensController } from './tokens.controller.js';
import { TokensService } from './tokens.service.js';

/** A feature module with a store of its own: a bare table gives a plain `MemoryStore<Token>`. */
@Module({
  imports: [MemoryStoreModule.forFeature([Token])],
  controllers: [TokensController],
  providers: [TokensService, { provide: TOKEN_TTL, useFactory: () => tokenTtlFromEnv() }],
})
export class TokensModule {}
