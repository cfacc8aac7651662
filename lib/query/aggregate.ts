import { QueryError } from '../errors/query.error.js';
import { ValueMap } from '../indexes/value-map.js';
import { compareValues } from './compare.js';
import { reader } from './query-compiler.js';
import { isPlainObject, parsePath } from './query-values.js';

/** What `aggregate()` computes: per group (or over all matches), each optional. */
export interface AggregateSpec<F extends string = string, N extends string = F> {
  /** Group by this field (or these fields); without it, one result covers every match. */
  groupBy?: F | readonly F[];
  /** Count the records. */
  count?: boolean;
  /** Sum of a numeric field (or fields); non-numbers are skipped. */
  sum?: N | readonly N[];
  /** Mean of a numeric field (or fields); `null` when no record has a number there. */
  avg?: N | readonly N[];
  /**
   * Smallest value of a field (or fields), in the order `orderBy` uses; missing values and NaN
   * skipped (as `sum` and `avg` skip NaN).
   */
  min?: F | readonly F[];
  /** Largest value of a field (or fields); missing values and NaN skipped. */
  max?: F | readonly F[];
  /**
   * How many distinct values a field (or fields) holds, compared as equality queries compare
   * them (dates by time, objects and arrays by content); missing and `null` values are not
   * counted (as SQL's `COUNT(DISTINCT x)`).
   */
  countDistinct?: F | readonly F[];
}

/** One result of `aggregate()`. */
export interface AggregateResult {
  /** The group's values of the `groupBy` fields (absent without `groupBy`). */
  group?: Record<string, unknown>;
  count?: number;
  sum?: Record<string, number>;
  avg?: Record<string, number | null>;
  min?: Record<string, unknown>;
  max?: Record<string, unknown>;
  countDistinct?: Record<string, number>;
}

const SPEC_KEYS = new Set(['groupBy', 'count', 'sum', 'avg', 'min', 'max', 'countDistinct']);

interface Accumulator {
  group: unknown[];
  count: number;
  sums: number[];
  avgSums: number[];
  avgCounts: number[];
  mins: unknown[];
  maxes: unknown[];
  distinct: ValueMap<true>[];
}

/** Groups matching records and computes the requested figures in one pass. */
export function aggregate(
  table: string,
  records: Iterable<object>,
  spec: unknown,
): AggregateResult[] {
  if (!isPlainObject(spec))
    throw new QueryError(
      table,
      'aggregate() takes an object such as { groupBy, count, sum, avg, min, max, countDistinct }',
    );
  for (const key of Object.keys(spec))
    if (!SPEC_KEYS.has(key)) throw new QueryError(table, `unknown aggregate option '${key}'`);
  if (spec.count !== undefined && typeof spec.count !== 'boolean')
    throw new QueryError(table, "'count' must be true or false");
  const groupBy = fieldList(table, 'groupBy', spec.groupBy);
  const sum = fieldList(table, 'sum', spec.sum);
  const avg = fieldList(table, 'avg', spec.avg);
  const min = fieldList(table, 'min', spec.min);
  const max = fieldList(table, 'max', spec.max);
  const distinct = fieldList(table, 'countDistinct', spec.countDistinct);
  const read = (fields: string[]) => fields.map((f) => reader(parsePath(table, f)));
  const [readGroup, readSum, readAvg, readMin, readMax, readDistinct] = [
    groupBy,
    sum,
    avg,
    min,
    max,
    distinct,
  ].map(read);

  const groups = new ValueMap<Accumulator>();
  const order: Accumulator[] = [];
  for (const record of records) {
    const group = readGroup.map((r) => r(record) ?? null);
    const groupKey = group.length === 1 ? group[0] : group;
    let acc = groups.get(groupKey);
    if (!acc) {
      acc = {
        group,
        count: 0,
        sums: sum.map(() => 0),
        avgSums: avg.map(() => 0),
        avgCounts: avg.map(() => 0),
        mins: min.map(() => undefined),
        maxes: max.map(() => undefined),
        distinct: distinct.map(() => new ValueMap<true>()),
      };
      groups.set(groupKey, acc);
      order.push(acc);
    }
    acc.count++;
    readSum.forEach((r, i) => {
      const v = r(record);
      if (typeof v === 'number' && !Number.isNaN(v)) acc.sums[i] += v;
    });
    readAvg.forEach((r, i) => {
      const v = r(record);
      if (typeof v === 'number' && !Number.isNaN(v)) {
        acc.avgSums[i] += v;
        acc.avgCounts[i]++;
      }
    });
    readMin.forEach((r, i) => {
      const v = r(record);
      if (v != null && v === v && (acc.mins[i] === undefined || compareValues(v, acc.mins[i]) < 0))
        acc.mins[i] = v;
    });
    readMax.forEach((r, i) => {
      const v = r(record);
      if (
        v != null &&
        v === v &&
        (acc.maxes[i] === undefined || compareValues(v, acc.maxes[i]) > 0)
      )
        acc.maxes[i] = v;
    });
    readDistinct.forEach((r, i) => {
      const v = r(record);
      if (v !== undefined && v !== null) acc.distinct[i].set(v, true);
    });
  }

  if (groupBy.length === 0 && order.length === 0) {
    order.push({
      group: [],
      count: 0,
      sums: sum.map(() => 0),
      avgSums: avg.map(() => 0),
      avgCounts: avg.map(() => 0),
      mins: [],
      maxes: [],
      distinct: distinct.map(() => new ValueMap<true>()),
    });
  }
  order.sort((a, b) => {
    for (let i = 0; i < a.group.length; i++) {
      const c = compareValues(a.group[i], b.group[i]);
      if (c !== 0) return c;
    }
    return 0;
  });
  return order.map((acc) => {
    const result: AggregateResult = {};
    if (groupBy.length > 0)
      result.group = Object.fromEntries(groupBy.map((f, i) => [f, acc.group[i]]));
    if (spec.count) result.count = acc.count;
    if (sum.length) result.sum = Object.fromEntries(sum.map((f, i) => [f, acc.sums[i]]));
    if (avg.length)
      result.avg = Object.fromEntries(
        avg.map((f, i) => [f, acc.avgCounts[i] ? acc.avgSums[i] / acc.avgCounts[i] : null]),
      );
    if (min.length) result.min = Object.fromEntries(min.map((f, i) => [f, acc.mins[i]]));
    if (max.length) result.max = Object.fromEntries(max.map((f, i) => [f, acc.maxes[i]]));
    if (distinct.length)
      result.countDistinct = Object.fromEntries(distinct.map((f, i) => [f, acc.distinct[i].size]));
    return result;
  });
}

function fieldList(table: string, option: string, value: unknown): string[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((f) => typeof f !== 'string')) {
    throw new QueryError(table, `'${option}' takes a field name or an array of them`);
  }
  for (const f of list as string[]) parsePath(table, f);
  return list as string[];
}
