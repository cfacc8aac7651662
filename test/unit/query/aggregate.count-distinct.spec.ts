import { describe, expect, it } from '@jest/globals';
import { QueryError } from '../../../lib/errors/query.error.js';
import { aggregate } from '../../../lib/query/aggregate.js';
import { thrown } from '../test-helpers.js';

const records = [
  { team: 'a', at: new Date(1000), tags: ['x', 'y'], city: 'Oslo' },
  { team: 'a', at: new Date(1000), tags: ['x', 'y'], city: null },
  { team: 'a', at: new Date(2000), tags: ['y', 'x'] },
  { team: 'b', at: new Date(1000), tags: [], city: 'Oslo' },
  { team: 'b', at: new Date(1000), tags: [], city: 'Rome' },
];

describe('aggregate: countDistinct', () => {
  it('counts distinct values as equality compares them (dates by time, arrays by content), skipping missing and null', () => {
    expect(aggregate('t', records, { countDistinct: ['at', 'tags', 'city'] })).toEqual([
      { countDistinct: { at: 2, tags: 3, city: 2 } },
    ]);
  });

  it('counts per group, beside the other figures', () => {
    expect(
      aggregate('t', records, { groupBy: 'team', count: true, countDistinct: 'city' }),
    ).toEqual([
      { group: { team: 'a' }, count: 3, countDistinct: { city: 1 } },
      { group: { team: 'b' }, count: 2, countDistinct: { city: 2 } },
    ]);
    expect(aggregate('t', [], { countDistinct: 'city' })).toEqual([{ countDistinct: { city: 0 } }]);
  });

  it('refuses what is not a field name', () => {
    thrown(QueryError, () => aggregate('t', records, { countDistinct: 3 }));
    thrown(QueryError, () => aggregate('t', records, { countDistinct: ['__proto__'] }));
  });
});
