import { IsEmail, IsOptional } from 'class-validator';
import { PersonFieldsDto } from './person-fields.dto.js';

/** A patch: every field optional; the uuid, being the key, cannot change. */
export class UpdatePersonDto extends PersonFieldsDto {
  @IsOptional() @IsEmail() email?: string;
}
