import { readFile } from 'node:fs/promises';

/** The fields of `/proc/PID/stat` after the command name, which may hold blanks and parentheses itself: field 3
 * (the state) is `[0]`, field 5 (the process group) `[2]`, field 22 (the start time, clock ticks after boot)
 * `[19]`. Undefined when there is no such process. */
export async function procStatFields(pid: number | string): Promise<string[] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
