import { Parser } from 'htmlparser2';

/** One `<meta name="ac-…" content="PREFIX VALUE">` tag of a discovery page (DISC-003). */
export interface MetaTag {
  /** The tag's name, lower-cased: `ac-discovery`, `ac-discovery-pubkeys` or another `ac-` name. */
  name: string;
  /** The name prefix the tag answers for (DISC-005). */
  prefix: string;
  /** A URL template (`ac-discovery`) or a URL (`ac-discovery-pubkeys`). */
  value: string;
}

/** Reads every `<meta>` tag whose name starts with `ac-` from an HTML page, in document order (DISC-003): start or
 * self-closing tags anywhere in the document (not only `<head>`), attributes in any order and case, quoted or
 * not, entities decoded. The `content` is trimmed and split at its first whitespace into prefix and value (the
 * value trimmed); a tag with an empty prefix or value is dropped. Tag names compare case-insensitively (HTML
 * meta names are; the reference compares exactly). Text inside comments, `<script>` or `<style>` is not read. */
export function parseMetaTags(html: string): MetaTag[] {
  const tags: MetaTag[] = [];
  const parser = new Parser(
    {
      onopentag(tag, attrs) {
        if (tag !== 'meta') return;
        const name = attrs.name?.toLowerCase();
        const content = attrs.content;
        if (name === undefined || content === undefined || !name.startsWith('ac-')) return;
        const trimmed = content.trim();
        const m = /\s/.exec(trimmed);
        if (!m) return;
        const prefix = trimmed.slice(0, m.index);
        const value = trimmed.slice(m.index).trim();
        if (prefix === '' || value === '') return;
        tags.push({ name, prefix, value });
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  return tags;
}
