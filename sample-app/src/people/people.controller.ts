import { randomUUID } from 'node:crypto';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Patch,
  Post,
  Query,
  StreamableFile,
} from '@nestjs/common';
import { MemoryStoreService } from 'nestjs-memory-store';
import { definedFields } from '../common/defined-fields.js';
import { CreatePersonDto } from './dto/create-person.dto.js';
import { ExportPeopleQuery } from './dto/export-people.query.js';
import { ListPeopleQuery } from './dto/list-people.query.js';
import { MovePersonDto } from './dto/move-person.dto.js';
import { UpdatePersonDto } from './dto/update-person.dto.js';
import { PeopleService } from './people.service.js';
import { PeopleStore } from './people.store.js';
import { Person } from './person.table.js';

/**
 * People over HTTP. Reads come from the store; writes go through `PeopleService`, which keeps
 * the departments' headcounts in step. The store's errors become HTTP answers in
 * `MemoryStoreExceptionFilter`: a taken uuid or email is a 409, a record the table's
 * validators refuse a 400, an unknown uuid on update a 404.
 */
@Controller('people')
export class PeopleController {
  constructor(
    private readonly people: PeopleStore,
    private readonly service: PeopleService,
    private readonly memory: MemoryStoreService,
  ) {}

  @Get()
  list(@Query() { department }: ListPeopleQuery): readonly Person[] {
    return department === undefined ? this.people.all() : this.people.select({ department });
  }

  @Get('admins')
  admins(): Person[] {
    return this.people.admins();
  }

  /**
   * Every person, streamed as NDJSON (the default), CSV or JSON: the store makes the text a
   * chunk at a time as the client reads it, so the table is never built as one string.
   */
  @Get('export')
  export(@Query() { format = 'ndjson' }: ExportPeopleQuery): StreamableFile {
    return new StreamableFile(this.memory.exportStream(PeopleStore, { format }), {
      type: CONTENT_TYPES[format],
      disposition: `attachment; filename="people.${format}"`,
    });
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
    return this.service.hire({
      ...fields,
      uuid: fields.uuid ?? randomUUID(),
      // A partial profile completes the table's default one (the class's initialiser).
      ...(profile && { profile: { ...new Person().profile, ...definedFields(profile) } }),
    });
  }

  @Patch(':uuid')
  update(@Param('uuid') uuid: string, @Body() dto: UpdatePersonDto): Promise<Person> {
    const { profile, ...fields } = dto;
    return this.service.change(uuid, (current) => ({
      ...fields,
      // A patch of the profile changes the fields it names and keeps the others.
      ...(profile && { profile: { ...current.profile, ...definedFields(profile) } }),
    }));
  }

  @Delete(':uuid')
  async remove(@Param('uuid') uuid: string): Promise<Person> {
    const deleted = await this.service.remove(uuid);
    if (!deleted) throw new NotFoundException(`No person with uuid '${uuid}'`);
    return deleted;
  }

  /** Moves a person to another department: 404 for an unknown person, 400 for an unknown department. */
  @Post(':uuid/move')
  @HttpCode(HttpStatus.OK)
  move(@Param('uuid') uuid: string, @Body() { department }: MovePersonDto): Promise<Person> {
    return this.service.move(uuid, department);
  }
}

const CONTENT_TYPES = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
} as const;
