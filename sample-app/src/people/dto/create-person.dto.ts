import { IsEmail, IsOptional, IsString, IsNotEmpty } from 'class-validator';
import { PersonFieldsDto } from './person-fields.dto.js';

export class CreatePersonDto extends PersonFieldsDto {
  /** Generated when omitted. */
  @IsOptional() @IsString() @IsNotEmpty() uuid?: string;
  @IsEmail() email!: string;
}
