/**
 * A double-quoted string literal with backslash and double quote escaped: the string syntax
 * GVariant's text format (gdbus arguments) and AppleScript share. Control characters become
 * spaces, since the two read them differently.
 */
export function doubleQuoted(text: string): string {
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return `"${plain.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
