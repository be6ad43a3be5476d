import { invalidPayload } from './errors.js';

/**
 * A deliberately small XML reader for SOAP notifications: elements, attributes, text and CDATA.
 * No DTD and therefore no custom entities (rejected, so no XXE or entity expansion); only the
 * five predefined entities and character references are decoded. Iterative, with depth and
 * element caps, so hostile nesting cannot exhaust the stack.
 */
export interface XmlElement {
  /** The qualified name as written, such as `sf:FirstName`. */
  name: string;
  /** The name without its namespace prefix, such as `FirstName`. */
  localName: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  text: string;
}

const MAX_DEPTH = 64;
const MAX_ELEMENTS = 100_000;

const NAME = /[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/y;
const ATTRIBUTE = /\s+([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const START_END = /\s*(\/?)>/y;
const CLOSE_END = /\s*>/y;
const REFERENCE = /&(?:#x([0-9A-Fa-f]{1,6})|#([0-9]{1,7})|(lt|gt|amp|quot|apos));/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function fail(): never {
  throw invalidPayload('Body is not valid XML');
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

function decode(raw: string): string {
  if (!raw.includes('&')) return raw;
  // Any `&` that is not one of the known references would be an undeclared entity.
  if (raw.replace(REFERENCE, '').includes('&')) fail();
  return raw.replace(
    REFERENCE,
    (_match, hex: string | undefined, decimal: string | undefined, named: string | undefined) => {
      if (named !== undefined) return NAMED[named] ?? fail();
      const code = hex !== undefined ? Number.parseInt(hex, 16) : Number.parseInt(decimal ?? '', 10);
      return isXmlChar(code) ? String.fromCodePoint(code) : fail();
    },
  );
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

function matchAt(pattern: RegExp, text: string, position: number): RegExpExecArray | null {
  pattern.lastIndex = position;
  return pattern.exec(text);
}

/** Index just past `terminator` searched from `from`; fails when it never comes. */
function skipPast(text: string, from: number, terminator: string): number {
  const index = text.indexOf(terminator, from);
  if (index === -1) fail();
  return index + terminator.length;
}

export function parseXml(text: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let position = 0;
  while (position < text.length) {
    const open = text.indexOf('<', position);
    const textEnd = open === -1 ? text.length : open;
    if (textEnd > position) {
      const chunk = text.slice(position, textEnd);
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.text += decode(chunk);
      else if (chunk.trim().length > 0) fail();
    }
    if (open === -1) break;
    if (text.startsWith('<?', open)) {
      position = skipPast(text, open + 2, '?>');
    } else if (text.startsWith('<!--', open)) {
      position = skipPast(text, open + 4, '-->');
    } else if (text.startsWith('<![CDATA[', open)) {
      const parent = stack[stack.length - 1] ?? fail();
      const end = skipPast(text, open + 9, ']]>');
      parent.text += text.slice(open + 9, end - 3);
      position = end;
    } else if (text.startsWith('<!', open)) {
      // <!DOCTYPE and <!ENTITY: refused outright rather than half-supported.
      throw invalidPayload('XML document type declarations are not allowed');
    } else if (text.startsWith('</', open)) {
      const name = matchAt(NAME, text, open + 2)?.[0];
      const current = stack.pop();
      if (name === undefined || current === undefined || current.name !== name) fail();
      const end = matchAt(CLOSE_END, text, open + 2 + name.length) ?? fail();
      position = end.index + end[0].length;
    } else {
      if (root !== undefined && stack.length === 0) fail();
      const name = matchAt(NAME, text, open + 1)?.[0] ?? fail();
      const attributes = new Map<string, string>();
      let cursor = open + 1 + name.length;
      for (let attribute = matchAt(ATTRIBUTE, text, cursor); attribute !== null; ) {
        attributes.set(attribute[1] ?? '', decode(attribute[2] ?? attribute[3] ?? ''));
        cursor = attribute.index + attribute[0].length;
        attribute = matchAt(ATTRIBUTE, text, cursor);
      }
      const end = matchAt(START_END, text, cursor) ?? fail();
      position = end.index + end[0].length;
      if (++elements > MAX_ELEMENTS || stack.length >= MAX_DEPTH) throw invalidPayload('XML too large or too deep');
      const element: XmlElement = { name, localName: localName(name), attributes, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.children.push(element);
      else root = element;
      if (end[1] !== '/') stack.push(element);
    }
  }
  if (root === undefined || stack.length > 0) fail();
  return root;
}

/** The first child with this local name (namespaces ignored: SOAP prefixes vary by sender). */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((candidate) => candidate.localName === name);
}

export function children(element: XmlElement | undefined, name: string): XmlElement[] {
  return element === undefined ? [] : element.children.filter((candidate) => candidate.localName === name);
}

/** An attribute by local name, whatever its prefix (`xsi:type`, `type`). */
export function attribute(element: XmlElement, name: string): string | undefined {
  for (const [key, value] of element.attributes) {
    if (localName(key) === name) return value;
  }
  return undefined;
}
