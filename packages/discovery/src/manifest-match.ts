import type { Issue } from '@appc/schema';
import type { AppString } from './app-string.ts';

/** Codes of the issues {@link validateDiscoveredManifest} reports. */
export type ManifestMatchCode = 'ERR_DISC_NAME_MISMATCH' | 'ERR_DISC_LABEL_MISMATCH';

/** Checks that a fetched image manifest is the image discovery asked for (DISC-009): its `name` equals the
 * requested name exactly, and every requested label is in its `labels` with the same value (labels not asked
 * for may have any value). Pass the `labels` discovery returned (with os/arch when they were defaulted).
 * Returns every mismatch; never throws. */
export function validateDiscoveredManifest(
  app: AppString,
  manifest: { name?: unknown; labels?: unknown },
): Issue[] {
  const issues: Issue[] = [];
  if (manifest?.name !== app.name) {
    issues.push({
      code: 'ERR_DISC_NAME_MISMATCH',
      pointer: '/name',
      requirement: 'DISC-009',
      message: `the image manifest names ${JSON.stringify(manifest?.name)}, but ${JSON.stringify(app.name)} was asked for; the server published the wrong image.`,
    });
  }
  const have = new Map<string, { value: unknown; index: number }>();
  if (Array.isArray(manifest?.labels)) {
    manifest.labels.forEach((l: unknown, index: number) => {
      const label = l as { name?: unknown; value?: unknown } | null;
      if (typeof label?.name === 'string' && !have.has(label.name))
        have.set(label.name, { value: label.value, index });
    });
  }
  for (const [name, value] of Object.entries(app.labels)) {
    const found = have.get(name);
    if (!found) {
      issues.push({
        code: 'ERR_DISC_LABEL_MISMATCH',
        pointer: '/labels',
        requirement: 'DISC-009',
        message: `label ${name}=${JSON.stringify(value)} was asked for, but the image manifest has no ${name} label.`,
      });
    } else if (found.value !== value) {
      issues.push({
        code: 'ERR_DISC_LABEL_MISMATCH',
        pointer: `/labels/${found.index}/value`,
        requirement: 'DISC-009',
        message: `label ${name}: asked for ${JSON.stringify(value)}, the image manifest has ${JSON.stringify(found.value)}.`,
      });
    }
  }
  return issues;
}
