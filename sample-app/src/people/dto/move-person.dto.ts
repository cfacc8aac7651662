import { IsNotEmpty, IsString } from 'class-validator';

export class MovePersonDto {
  @IsString() @IsNotEmpty() department!: string;
}
