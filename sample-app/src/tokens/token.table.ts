import { IsDate, IsEmail, IsIn, IsString, Length } from 'class-validator';
import { Table } from 'nestjs-memory-store';

export const TOKEN_PURPOSES = ['password-reset', 'email-verification'] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

/** A one-time token: redeeming it removes it. */
@Table({ name: 'tokens', key: 'code', indexes: ['email'] })
export class Token {
  /** 32 random bytes, base64url: 43 characters. */
  @IsString() @Length(43, 43) code!: string;
  @IsEmail() email!: string;
  @IsIn(TOKEN_PURPOSES) purpose: TokenPurpose = 'password-reset';
  @IsDate() issuedAt!: Date;
}
