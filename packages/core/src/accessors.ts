/**
 * `object` with `getters` added as enumerable read-only accessors, returned as one object.
 *
 * V8 builds an object literal that declares an accessor (`get x() {}`) in dictionary mode, where
 * every property read, including calls of its methods, is a hash lookup that optimized code cannot
 * inline. Accessors added to an existing object keep it fast. Objects that loops call on every
 * event are built this way.
 *
 * @typeParam T - the object to extend.
 * @typeParam G - its getters by name; each becomes a read-only property of the getter's type.
 */
export function withGetters<T extends object, G extends Record<string, () => unknown>>(
  object: T,
  getters: G,
): T & { readonly [K in keyof G]: ReturnType<G[K]> } {
  const descriptors: PropertyDescriptorMap = {};
  for (const key of Object.keys(getters)) descriptors[key] = { get: getters[key], enumerable: true, configurable: true };
  return Object.defineProperties(object, descriptors) as T & { readonly [K in keyof G]: ReturnType<G[K]> };
}
