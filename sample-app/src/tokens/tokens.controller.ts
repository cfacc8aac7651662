import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { IssueTokenDto } from './dto/issue-token.dto.js';
import { RedeemTokenDto } from './dto/redeem-token.dto.js';
import { TokensService, type IssuedToken, type RedeemedToken } from './tokens.service.js';

@Controller('tokens')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  /** Issues a token; the answer says when it expires (`expiresInMs`, `expiresAt`). */
  @Post()
  issue(@Body() { email, purpose }: IssueTokenDto): Promise<IssuedToken> {
    return this.tokens.issue(email, purpose);
  }

  /** Redeems a token once; an unknown, expired or redeemed one answers 404. */
  @Post('redeem')
  @HttpCode(HttpStatus.OK)
  redeem(@Body() { code }: RedeemTokenDto): Promise<RedeemedToken> {
    return this.tokens.redeem(code);
  }
}
