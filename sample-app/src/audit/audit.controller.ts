import { Controller, Get } from '@nestjs/common';
import { AuditLog, type AuditEntry } from './audit.log.js';

@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  /** The latest changes made to people, oldest first. */
  @Get()
  list(): readonly AuditEntry[] {
    return this.audit.entries();
  }
}
