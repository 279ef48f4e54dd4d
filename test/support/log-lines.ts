/**
 * Every line Powertools writes while captured (it writes errors to stderr and the rest to stdout), parsed
 * as JSON, instead of being printed. Call restore() in a finally.
 */
export function captureLogLines(): { lines: Record<string, unknown>[]; restore(): void } {
  const lines: Record<string, unknown>[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
    return true;
  };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
  return { lines, restore: () => spies.forEach((spy) => spy.mockRestore()) };
}
