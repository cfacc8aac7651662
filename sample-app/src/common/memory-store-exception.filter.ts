import {
  BadRequestException,
  Catch,
  ConflictException,
  NotFoundException,
  type ArgumentsHost,
  type HttpException,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { ValidationError } from 'class-validator';
import {
  DuplicateKeyError,
  MemoryStoreError,
  RecordNotFoundError,
  StoreValidationError,
} from 'nestjs-memory-store';

/**
 * Answers the store's errors as HTTP errors: a taken key or unique value is a 409, a record
 * the store refuses is a 400 (shaped like the ValidationPipe's), a missing record a 404.
 * Any other store error is left to Nest's default handling: logged, answered with a 500.
 */
@Catch(MemoryStoreError)
export class MemoryStoreExceptionFilter extends BaseExceptionFilter {
  override catch(error: MemoryStoreError, host: ArgumentsHost): void {
    super.catch(toHttpException(error) ?? error, host);
  }
}

function toHttpException(error: MemoryStoreError): HttpException | undefined {
  if (error instanceof DuplicateKeyError) {
    return new ConflictException({
      statusCode: 409,
      error: 'Conflict',
      message: error.message,
      field: error.field,
    });
  }
  if (error instanceof StoreValidationError) {
    return new BadRequestException(messagesOf(error.errors));
  }
  if (error instanceof RecordNotFoundError) {
    return new NotFoundException(error.message);
  }
  return undefined;
}

/** class-validator's messages, nested ones prefixed with their parent's path. */
function messagesOf(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}).map((message) => prefix + message),
    ...messagesOf(error.children ?? [], `${prefix}${error.property}.`),
  ]);
}
