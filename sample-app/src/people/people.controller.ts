import { randomUUID } from 'node:crypto';
import {
  Body,
  Controller,
  Delete,
  Get,
  NotFoundException,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { definedFields } from '../common/defined-fields.js';
import { CreatePersonDto } from './dto/create-person.dto.js';
import { ListPeopleQuery } from './dto/list-people.query.js';
import { UpdatePersonDto } from './dto/update-person.dto.js';
import { PeopleStore } from './people.store.js';
import { Person } from './person.table.js';

/**
 * People over HTTP. The store's errors become HTTP answers in `MemoryStoreExceptionFilter`:
 * a taken uuid or email is a 409, a record the table's validators refuse a 400, an
 * unknown uuid on update a 404.
 */
@Controller('people')
export class PeopleController {
  constructor(private readonly people: PeopleStore) {}

  @Get()
  list(@Query() { department }: ListPeopleQuery): readonly Person[] {
    return department === undefined ? this.people.all() : this.people.select({ department });
  }

  @Get('admins')
  admins(): Person[] {
    return this.people.admins();
  }

  @Get(':uuid')
  get(@Param('uuid') uuid: string): Person {
    const person = this.people.get(uuid);
    if (!person) throw new NotFoundException(`No person with uuid '${uuid}'`);
    return person;
  }

  @Post()
  create(@Body() dto: CreatePersonDto): Promise<Person> {
    const { profile, ...fields } = dto;
    return this.people.insert({
      ...fields,
      uuid: fields.uuid ?? randomUUID(),
      // A partial profile completes the table's default one (the class's initialiser).
      ...(profile && { profile: { ...new Person().profile, ...definedFields(profile) } }),
    });
  }

  @Patch(':uuid')
  update(@Param('uuid') uuid: string, @Body() dto: UpdatePersonDto): Promise<Person> {
    const { profile, ...fields } = dto;
    return this.people.update(uuid, (current) => ({
      ...fields,
      // A patch of the profile changes the fields it names and keeps the others.
      ...(profile && { profile: { ...current.profile, ...definedFields(profile) } }),
    }));
  }

  @Delete(':uuid')
  async remove(@Param('uuid') uuid: string): Promise<Person> {
    const deleted = await this.people.delete(uuid);
    if (!deleted) throw new NotFoundException(`No person with uuid '${uuid}'`);
    return deleted;
  }
}
