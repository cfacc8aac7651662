import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { IssueTokenDto } from './dto/issue-token.dto.js';
import { RedeemTokenDto } from './dto/redeem-token.dto.js';
import type { Token } from './token.table.js';
import { TokensService, type RedeemedToken } from './tokens.service.js';

@Controller('tokens')
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Post()
  issue(@Body() { email, purpose }: IssueTokenDto): Promise<Token> {
    return this.tokens.issue(email, purpose);
  }

  @Post('redeem')
  @HttpCode(HttpStatus.OK)
  redeem(@Body() { code }: RedeemTokenDto): Promise<RedeemedToken> {
    return this.tokens.redeem(code);
  }
}
