import { IsIn, IsOptional } from 'class-validator';
import type { TransferFormat } from 'nestjs-memory-store';

export const EXPORT_FORMATS: readonly TransferFormat[] = ['ndjson', 'csv', 'json'];

export class ExportPeopleQuery {
  /** The format of the export. @default 'ndjson' */
  @IsOptional() @IsIn(EXPORT_FORMATS) format?: TransferFormat;
}
