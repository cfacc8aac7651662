import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsDate,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

export const THEMES = ['dark', 'light'] as const;

export class ProfileDto {
  @IsOptional() @IsIn(THEMES) theme?: (typeof THEMES)[number];
  @IsOptional() @IsString() @IsNotEmpty() lang?: string;
}

/** The fields a client may set on a person, on creation and in a patch. */
export class PersonFieldsDto {
  @IsOptional() @IsString() @IsNotEmpty() firstName?: string;
  @IsOptional() @IsString() @IsNotEmpty() department?: string;
  @IsOptional() @IsBoolean() active?: boolean;
  @IsOptional() @IsBoolean() admin?: boolean;
  @IsOptional() @IsInt() @Min(0) @Max(150) age?: number;
  @IsOptional() @Type(() => Date) @IsDate() startDate?: Date;
  @IsOptional() @ValidateNested() @Type(() => ProfileDto) profile?: ProfileDto;
}
