import { IsEmail, IsOptional, IsUUID } from 'class-validator';
import { PersonFieldsDto } from './person-fields.dto.js';

export class CreatePersonDto extends PersonFieldsDto {
  /**
   * Generated when omitted. A UUID, so that no person's uuid can be a route's name
   * (`/people/admins`).
   */
  @IsOptional() @IsUUID() uuid?: string;
  @IsEmail() email!: string;
}
