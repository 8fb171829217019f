import type { ValidationIssue } from '@phoenix-ipc/ringbuffer';
import type { StandardSchemaV1 } from '@standard-schema/spec';

export type Schema = StandardSchemaV1<unknown, unknown>;

/** True if `value` implements Standard Schema v1 (zod, valibot, arktype...). */
export function isStandardSchema(value: unknown): value is Schema {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard'];
  return typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function';
}

/** The issues of a failed validation, JSON-safe (symbols in paths become strings). */
export function issuesOf(issues: ReadonlyArray<StandardSchemaV1.Issue>): ValidationIssue[] {
  return issues.map((issue) => {
    const entry: ValidationIssue = { message: String(issue.message) };
    if (issue.path !== undefined && issue.path.length > 0) {
      entry.path = issue.path.map((segment) => {
        const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
        return typeof key === 'number' ? key : String(key);
      });
    }
    return entry;
  });
}

/** "data.width: Expected number; name: Required" */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues
    .map((issue) => (issue.path === undefined ? issue.message : `${issue.path.join('.')}: ${issue.message}`))
    .join('; ');
}
