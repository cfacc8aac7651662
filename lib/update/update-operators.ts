import { valuesEqual } from '../engine/stored-values.js';
import { compareValues, rankOf } from '../query/compare.js';
import type { PushSpec, UpdateStep } from './update-document.js';
import { kindOf, REMOVE, UpdateApplyError, UpdateDraft } from './update-draft.js';

/**
 * Applies checked update steps to a record, returning the draft of the new record (its
 * changed and removed top-level fields). The record itself is not touched. A step that
 * cannot apply to this record's values (`$inc` on a string, `$push` on a non-array) throws
 * `UpdateApplyError`; the operators follow MongoDB's semantics, with the differences the
 * README lists.
 */
export function applyUpdate(record: object, steps: readonly UpdateStep[]): UpdateDraft {
  const draft = new UpdateDraft(record);
  for (const step of steps) applyStep(draft, step);
  return draft;
}

function applyStep(draft: UpdateDraft, step: UpdateStep): void {
  const { segments, text } = step.path;
  switch (step.op) {
    case '$set':
      draft.write(segments, step.value, '$set');
      return;
    case '$unset':
      if (draft.read(segments).found) draft.write(segments, REMOVE, '$unset');
      return;
    case '$inc':
    case '$mul': {
      const { found, value } = draft.read(segments);
      if (!found) {
        // a missing field is created, with the operand ($inc) or zero ($mul), as in MongoDB
        draft.write(segments, step.op === '$inc' ? step.value : 0, step.op);
        return;
      }
      if (typeof value !== 'number') {
        throw new UpdateApplyError(
          text,
          value,
          step.op,
          `${step.op} needs a number at '${text}', which holds ${kindOf(value)}`,
        );
      }
      draft.write(segments, step.op === '$inc' ? value + step.value : value * step.value, step.op);
      return;
    }
    case '$min':
    case '$max': {
      const { found, value } = draft.read(segments);
      if (!found || replaces(step.op, value, step.value, text)) {
        draft.write(segments, step.value, step.op);
      }
      return;
    }
    case '$push': {
      const items = arrayAt(draft, segments, text, '$push', true)!;
      draft.write(segments, pushed(items, step.push), '$push');
      return;
    }
    case '$addToSet': {
      const items = arrayAt(draft, segments, text, '$addToSet', true)!;
      const next = items.slice();
      for (const item of step.items) {
        if (!next.some((existing) => valuesEqual(existing, item))) next.push(item);
      }
      if (next.length !== items.length || !draft.read(segments).found) {
        draft.write(segments, next, '$addToSet');
      }
      return;
    }
    case '$pull': {
      const items = arrayAt(draft, segments, text, '$pull', false);
      if (items === undefined) return;
      const kept = items.filter((item) => !step.matches(item));
      if (kept.length !== items.length) draft.write(segments, kept, '$pull');
      return;
    }
    case '$rename': {
      const found = draft.read(segments);
      if (!found.found) return;
      if (draft.reachesIntoArray(segments) || draft.reachesIntoArray(step.to.segments)) {
        throw new UpdateApplyError(
          text,
          found.value,
          '$rename',
          `$rename cannot move '${text}' to '${step.to.text}': it does not reach into arrays`,
        );
      }
      draft.write(segments, REMOVE, '$rename');
      draft.write(step.to.segments, found.value, '$rename');
      return;
    }
  }
}

/** True when `$min`/`$max` replaces `current` by `operand`. */
function replaces(op: '$min' | '$max', current: unknown, operand: unknown, path: string): boolean {
  const rank = rankOf(current);
  const operandRank = rankOf(operand);
  // null sorts below every value, as in MongoDB
  if (rank === 0 || operandRank === 0) {
    if (rank === operandRank) return false;
    return op === '$min' ? operandRank === 0 : rank === 0;
  }
  if (rank !== operandRank || rank > 4) {
    throw new UpdateApplyError(
      path,
      current,
      op,
      `${op} compares values of one type (numbers, strings, booleans or dates): '${path}' holds ${kindOf(current)} and the operand is ${kindOf(operand)}`,
    );
  }
  const order = compareValues(operand, current);
  return op === '$min' ? order < 0 : order > 0;
}

/** The array at a path; with `create`, an empty one when the path is missing. */
function arrayAt(
  draft: UpdateDraft,
  segments: readonly string[],
  text: string,
  op: string,
  create: boolean,
): readonly unknown[] | undefined {
  const { found, value } = draft.read(segments);
  if (!found || value === undefined) return create ? [] : undefined;
  if (Array.isArray(value)) return value as unknown[];
  throw new UpdateApplyError(
    text,
    value,
    op,
    `${op} needs an array at '${text}', which holds ${kindOf(value)}`,
  );
}

/** `$push`: the items inserted at `$position` (else appended), then `$sort`, then `$slice`. */
function pushed(items: readonly unknown[], spec: PushSpec): unknown[] {
  let next: unknown[];
  if (spec.position === undefined) {
    next = items.concat(spec.items);
  } else {
    const at =
      spec.position < 0
        ? Math.max(0, items.length + spec.position)
        : Math.min(spec.position, items.length);
    next = [...items.slice(0, at), ...spec.items, ...items.slice(at)];
  }
  if (spec.sort !== undefined) next.sort(sorter(spec.sort));
  if (spec.slice !== undefined) {
    next =
      spec.slice < 0
        ? next.slice(Math.max(0, next.length + spec.slice))
        : next.slice(0, spec.slice);
  }
  return next;
}

function sorter(sort: NonNullable<PushSpec['sort']>): (a: unknown, b: unknown) => number {
  if (typeof sort === 'number') return (a, b) => sort * compareValues(a, b);
  const fields = Object.entries(sort);
  return (a, b) => {
    for (const [field, direction] of fields) {
      const order = compareValues(fieldOf(a, field), fieldOf(b, field));
      if (order !== 0) return direction * order;
    }
    return 0;
  };
}

function fieldOf(item: unknown, path: string): unknown {
  let value = item;
  for (const segment of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = Object.prototype.hasOwnProperty.call(value, segment)
      ? (value as Record<string, unknown>)[segment]
      : undefined;
  }
  return value;
}
