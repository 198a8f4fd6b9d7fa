/**
 * Licenses as lockfiles write them (`MIT`, `(MIT OR Apache-2.0)`, `mit`, `SEE LICENSE IN LICENSE`)
 * turned into what CycloneDX and SPDX accept: a known SPDX id, a valid SPDX expression with its ids
 * spelled canonically, or, failing both, free text under a name.
 */
import { SPDX_LICENSE_IDS } from './spdx-license-ids.js';

const CANONICAL = new Map(SPDX_LICENSE_IDS.map((id) => [id.toLowerCase(), id]));

export type CycloneDxLicense = { license: { id: string } } | { license: { name: string } } | { expression: string };

/** The canonical spelling of a known SPDX id, or undefined. */
export function spdxId(text: string): string | undefined {
  return CANONICAL.get(text.trim().toLowerCase());
}

/**
 * The expression with canonical ids and upper-case operators when it is a valid SPDX license
 * expression over known ids (or LicenseRef-s); otherwise undefined.
 */
export function spdxExpression(text: string): string | undefined {
  const tokens = text.match(/\(|\)|[^\s()]+/g);
  if (!tokens || tokens.length === 0) return undefined;
  let position = 0;
  const out: string[] = [];
  const peek = (): string | undefined => tokens[position];
  const operator = (token: string | undefined): string | undefined => (token && /^(and|or|with)$/i.test(token) ? token.toUpperCase() : undefined);

  const simple = (): boolean => {
    const token = peek();
    if (token === undefined || token === '(' || token === ')' || operator(token)) return false;
    const plus = token.endsWith('+') && token.length > 1;
    const bare = plus ? token.slice(0, -1) : token;
    const id = /^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$/.test(bare) ? bare : spdxId(bare);
    if (id === undefined) return false;
    out.push(`${id}${plus ? '+' : ''}`);
    position += 1;
    if (operator(peek()) === 'WITH') {
      position += 1;
      const exception = peek();
      const canonical = exception === undefined ? undefined : spdxId(exception);
      if (canonical === undefined) return false;
      out.push('WITH', canonical);
      position += 1;
    }
    return true;
  };
  const term = (): boolean => {
    if (peek() === '(') {
      position += 1;
      out.push('(');
      if (!expression() || peek() !== ')') return false;
      position += 1;
      out.push(')');
      return true;
    }
    return simple();
  };
  const expression = (): boolean => {
    if (!term()) return false;
    while (operator(peek()) === 'AND' || operator(peek()) === 'OR') {
      out.push(operator(peek())!);
      position += 1;
      if (!term()) return false;
    }
    return true;
  };
  if (!expression() || position !== tokens.length) return undefined;
  return withoutOuterParentheses(out.join(' ').replace(/\( /g, '(').replace(/ \)/g, ')'));
}

/** `(MIT OR Apache-2.0)` says no more than `MIT OR Apache-2.0`. */
function withoutOuterParentheses(expression: string): string {
  let text = expression;
  while (text.startsWith('(') && text.endsWith(')')) {
    let depth = 0;
    let closesAtEnd = true;
    for (let index = 0; index < text.length - 1; index += 1) {
      depth += text[index] === '(' ? 1 : text[index] === ')' ? -1 : 0;
      if (depth === 0) {
        closesAtEnd = false;
        break;
      }
    }
    if (!closesAtEnd) break;
    text = text.slice(1, -1);
  }
  return text;
}

/**
 * CycloneDX `licenses`: an id where one is known, one `expression` for a single compound
 * expression (the schema allows an expression only alone), a `name` for anything else.
 */
export function cyclonedxLicenses(licenses: readonly string[]): CycloneDxLicense[] {
  const texts = [...new Set(licenses.map((text) => text.trim()).filter((text) => text !== ''))];
  if (texts.length === 1) {
    const only = texts[0]!;
    const id = spdxId(only.replace(/^\((.*)\)$/, '$1'));
    if (id) return [{ license: { id } }];
    const expression = spdxExpression(only);
    if (expression) return [{ expression }];
    return [{ license: { name: only } }];
  }
  return texts.map((text) => {
    const id = spdxId(text);
    return id ? { license: { id } } : { license: { name: text } };
  });
}
