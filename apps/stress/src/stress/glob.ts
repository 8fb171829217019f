/**
 * Scenario-name globs: `*` matches any run of characters (dots included), `?`
 * exactly one; everything else is literal and the whole name must match.
 * A pattern without `*`, `?` or `.` names a group: `Hang` means `Hang.*`.
 * Several patterns may be given separated by commas.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const char of pattern) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += char.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export function matchesFilter(name: string, filter: string | undefined): boolean {
  if (filter === undefined || filter.trim() === '') return true;
  return filter
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .some((part) => {
      const pattern = /[*?.]/.test(part) ? part : `${part}.*`;
      return globToRegExp(pattern).test(name);
    });
}
