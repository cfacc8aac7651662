import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IsEmail, IsString } from 'class-validator';
import {
  Index,
  MemoryStore,
  MemoryStoreModule,
  MemoryStoreService,
  Store,
  Table,
  InjectStore,
} from 'nestjs-memory-store';

@Table({ name: 'people', key: 'uuid', indexes: ['department'] })
class Person {
  @IsString() uuid!: string;
  @Index({ unique: true }) @IsEmail() email!: string;
  department = 'engineering';
  profile = { theme: 'dark' };
}

@Store({ table: Person })
class PeopleStore extends MemoryStore<Person> {}

@Table()
class Flag {
  id!: string;
  on = false;
}

@Injectable()
class Svc {
  constructor(
    readonly people: PeopleStore,
    @InjectStore(Flag) readonly flags: MemoryStore<Flag>,
  ) {}
}

@Module({ imports: [MemoryStoreModule.forRoot({ stores: [PeopleStore, Flag] })], providers: [Svc] })
class AppModule {}

describe('smoke', () => {
  it('works', async () => {
    const m = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = await m.init();
    const svc = app.get(Svc);
    const p = await svc.people.write({ uuid: 'u1', email: 'a@b.co' });
    expect(p).toBeInstanceOf(Person);
    expect(p.department).toBe('engineering');
    expect(Object.isFrozen(p.profile)).toBe(true);
    await expect(svc.people.write({ uuid: 'u2', email: 'a@b.co' })).rejects.toThrow('Duplicate');
    await expect(svc.people.write({ uuid: 'u3', email: 'nope' })).rejects.toThrow('email');
    expect(svc.people.select({ department: 'engineering' })).toHaveLength(1);
    await svc.flags.write({ id: 'x' });
    expect(svc.flags.get('x')?.on).toBe(false);
    expect(app.get(MemoryStoreService).stats()).toHaveLength(2);
    await app.close();
  });
});
