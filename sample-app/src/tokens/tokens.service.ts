import { randomBytes } from 'node:crypto';
import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectStore, MemoryStore } from 'nestjs-memory-store';
import { Token, type TokenPurpose } from './token.table.js';

/** What redeeming a token yields. */
export interface RedeemedToken {
  email: string;
  purpose: TokenPurpose;
  issuedAt: Date;
  redeemedAt: Date;
}

@Injectable()
export class TokensService {
  constructor(@InjectStore(Token) private readonly tokens: MemoryStore<Token>) {}

  /** Issues a token. A real application would mail it rather than hand it to the caller. */
  issue(email: string, purpose: TokenPurpose = 'password-reset'): Promise<Token> {
    return this.tokens.insert({
      code: randomBytes(32).toString('base64url'),
      email,
      purpose,
      issuedAt: new Date(),
    });
  }

  /**
   * Redeems a token once: `withdraw` reads and deletes it in one step, so two concurrent
   * redemptions cannot both get it. A token redeemed before is as unknown as one never issued.
   */
  async redeem(code: string): Promise<RedeemedToken> {
    const token = await this.tokens.withdraw({ code });
    if (!token) throw new NotFoundException('Unknown or already redeemed token');
    const { email, purpose, issuedAt } = token;
    return { email, purpose, issuedAt, redeemedAt: new Date() };
  }
}
