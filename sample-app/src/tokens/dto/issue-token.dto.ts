import { IsEmail, IsIn, IsOptional } from 'class-validator';
import { TOKEN_PURPOSES, type TokenPurpose } from '../token.table.js';

export class IssueTokenDto {
  @IsEmail() email!: string;
  @IsOptional() @IsIn(TOKEN_PURPOSES) purpose?: TokenPurpose;
}
