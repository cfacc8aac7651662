import { Module } from '@nestjs/common';
import { MemoryStoreModule } from 'nestjs-memory-store';
import { Token } from './token.table.js';
import { TokensController } from './tokens.controller.js';
import { TokensService } from './tokens.service.js';

/** A feature module with a store of its own: a bare table gives a plain `MemoryStore<Token>`. */
@Module({
  imports: [MemoryStoreModule.forFeature([Token])],
  controllers: [TokensController],
  providers: [TokensService],
})
export class TokensModule {}
