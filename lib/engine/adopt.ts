/**
 * Returns the object it is given as `this`: a subclass's constructor thus adds its private
 * fields to any object (the "return override"), which the store uses to keep marks and
 * deadlines in values and records without a property anyone can see (JSON, keys, equality and
 * copies do not see them) and without a side table. Freezing the object does not fix them.
 */
export class Adopt {
  constructor(target: object) {
    return target;
  }
}
