import { IsInt, IsNotEmpty, IsString, Min } from 'class-validator';
import { Table } from 'nestjs-memory-store';

/**
 * A department and how many people work in it. `headcount` always equals the number of
 * people whose `department` names it: every change of people that could alter it runs in one
 * transaction with the headcounts (`PeopleService`).
 */
@Table({ name: 'departments', key: 'name' })
export class Department {
  @IsString() @IsNotEmpty() name!: string;
  @IsInt() @Min(0) headcount = 0;
}
