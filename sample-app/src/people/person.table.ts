import {
  IsBoolean,
  IsDate,
  IsEmail,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  Min,
} from 'class-validator';
import { Index, Table } from 'nestjs-memory-store';

/**
 * A person, as the store keeps it. The validators run on every write, whichever door it
 * comes through (HTTP, seeds, code), so the domain's rules live here; the DTOs check the
 * shape of a request. The initialisers are the defaults of a record written without them.
 */
@Table({ name: 'people', key: 'uuid', indexes: ['department'] })
export class Person {
  @IsString() @IsNotEmpty() uuid!: string;
  @Index({ unique: true }) @IsEmail() email!: string;
  @IsOptional() @IsString() @MaxLength(50) firstName?: string;
  @IsString() department = 'engineering';
  @IsBoolean() active = true;
  @IsBoolean() admin = false;
  @IsInt() @Min(0) age = 0;
  @IsInt() @Min(0) visits = 0;
  // The decorator also gives the field its `design:type` (Date), which is how the store
  // knows to turn the ISO strings of the JSON seed file into dates.
  @IsOptional() @IsDate() startDate?: Date;
  profile = { theme: 'dark', lang: 'en' };
}
