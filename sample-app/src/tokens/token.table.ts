import { IsDate, IsEmail, IsIn, IsInt, IsString, Length, Min } from 'class-validator';
import { Table } from 'nestjs-memory-store';

export const TOKEN_PURPOSES = ['password-reset', 'email-verification'] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

/** A one-time token: redeeming it removes it, and so does its time to live running out. */
@Table({ name: 'tokens', key: 'code', indexes: ['email'] })
export class Token {
  /** 32 random bytes, base64url: 43 characters. */
  @IsString() @Length(43, 43) code!: string;
  /** 1, 2, 3, … in the order tokens were issued, from the store's `serial` counter. */
  @IsInt() @Min(1) serial!: number;
  @IsEmail() email!: string;
  @IsIn(TOKEN_PURPOSES) purpose: TokenPurpose = 'password-reset';
  @IsDate() issuedAt!: Date;
}
