/**
 * Which names a service method may have: a name a caller can write as
 * `api.name(...)` (a JavaScript identifier name: `getUser`, `_tick`, `$run`,
 * `größe`, even `delete`), that no object already answers. Anything else is
 * refused by defineService, not left to break the bound proxy later.
 */

// An IdentifierName as the language defines it (reserved words included: `api.delete()` is valid).
const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u;

/**
 * Why `name` cannot be a method name, or null if it can.
 *
 * Names every object has (`__proto__`, `constructor`, `toString`, `valueOf`,
 * `hasOwnProperty`...): a bound method would replace what they do (assigning
 * `__proto__` replaces the proxy's prototype, a `toString` would make a call
 * whenever the proxy is printed), and implement() would find Object's own
 * function for a missing handler instead of refusing it. `then`: a proxy
 * with a `then` would be taken for a promise by `await`.
 */
export function methodNameProblem(name: string): string | null {
  if (!IDENTIFIER.test(name))
    return 'a method name must be an identifier (letters, digits, _ and $; not a digit first)';
  if (name === 'then') return 'a method called then would make every bound service look like a promise to await';
  if (name in Object.prototype) return `every object has a "${name}" already`;
  return null;
}
