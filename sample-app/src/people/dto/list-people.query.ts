import { IsNotEmpty, IsOptional, IsString } from 'class-validator';

export class ListPeopleQuery {
  @IsOptional() @IsString() @IsNotEmpty() department?: string;
}
