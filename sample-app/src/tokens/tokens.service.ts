import { randomBytes } from 'node:crypto';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectStore, MemoryStore, type Duration } from 'nestjs-memory-store';
import { Token, type TokenPurpose } from './token.table.js';
import { TOKEN_TTL } from './token-ttl.js';

/** An issued token and when it stops being redeemable. */
export interface IssuedToken {
  code: string;
  serial: number;
  email: string;
  purpose: TokenPurpose;
  issuedAt: Date;
  expiresInMs: number;
  expiresAt: Date;
}

/** What redeeming a token yields. */
export interface RedeemedToken {
  serial: number;
  email: string;
  purpose: TokenPurpose;
  issuedAt: Date;
  redeemedAt: Date;
}

@Injectable()
export class TokensService {
  constructor(
    @InjectStore(Token) private readonly tokens: MemoryStore<Token>,
    @Inject(TOKEN_TTL) private readonly ttl: Duration,
  ) {}

  /**
   * Issues a token that lives `TOKEN_TTL` (15 minutes by default). A real application would
   * mail it rather than hand it to the caller.
   */
  async issue(email: string, purpose: TokenPurpose = 'password-reset'): Promise<IssuedToken> {
    const serial = await this.tokens.nextId('serial');
    const token = await this.tokens.insert(
      { code: randomBytes(32).toString('base64url'), serial, email, purpose, issuedAt: new Date() },
      { ttl: this.ttl },
    );
    const expiresInMs = this.tokens.ttl(token.code)!;
    return {
      code: token.code,
      serial: token.serial,
      email: token.email,
      purpose: token.purpose,
      issuedAt: token.issuedAt,
      expiresInMs,
      expiresAt: new Date(Date.now() + expiresInMs),
    };
  }

  /**
   * Redeems a token once: `withdraw` reads and deletes it in one step, so two concurrent
   * redemptions cannot both get it. An expired token is never returned by the store, so it
   * is as unknown as one redeemed before or never issued.
   */
  async redeem(code: string): Promise<RedeemedToken> {
    const token = await this.tokens.withdraw({ code });
    if (!token) throw new NotFoundException('Unknown, expired or already redeemed token');
    const { serial, email, purpose, issuedAt } = token;
    return { serial, email, purpose, issuedAt, redeemedAt: new Date() };
  }
}
