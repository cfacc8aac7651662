import {
  BadRequestException,
  Injectable,
  type ArgumentMetadata,
  type PipeTransform,
} from '@nestjs/common';

/**
 * Refuses a request body nested deeper than `maxDepth` with a 400, before the
 * ValidationPipe: class-transformer walks a body recursively, and a body nested some thousands
 * of levels deep (which the JSON parser accepts) overflows its stack: a 500 for any client
 * that sends one. The walk here keeps its own stack, so no depth overflows it.
 */
@Injectable()
export class BodyDepthPipe implements PipeTransform {
  constructor(private readonly maxDepth = 32) {}

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && depthOver(value, this.maxDepth)) {
      throw new BadRequestException(`The body is nested more than ${this.maxDepth} levels deep`);
    }
    return value;
  }
}

function depthOver(root: unknown, maxDepth: number): boolean {
  const pending: [unknown, number][] = [[root, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, depth] = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= maxDepth) return true;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return false;
}
