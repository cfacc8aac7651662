import { describe, expect, it } from '@jest/globals';
import { runInNewContext } from 'node:vm';
import { errorMessage, isError } from '../../../lib/errors/describe-value.js';

describe('isError and errorMessage: errors of any realm', () => {
  const foreign = runInNewContext('new TypeError("from a vm context")') as unknown;

  it('tell an error made in another realm (not instanceof Error here) by its message', () => {
    expect(foreign instanceof Error).toBe(false);
    expect(isError(foreign)).toBe(true);
    expect(errorMessage(foreign)).toBe('from a vm context');
  });

  it('tell an error of this realm, and describe what is not an error', () => {
    expect(errorMessage(new RangeError('out of range'))).toBe('out of range');
    expect(isError({ message: 'looks like one' })).toBe(false);
    expect(errorMessage({ message: 'looks like one' })).toBe('an object');
    expect(errorMessage('text')).toBe('the string "text"');
  });
});
