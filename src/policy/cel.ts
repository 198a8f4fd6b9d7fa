/**
 * Policy expressions in CEL: compiling (parse, then check every name, function and `input` field the
 * expression uses against the input document, so a typo is a compile error with its position, not a
 * deny at deploy time) and running a compiled expression over one input. Pure; never throws.
 */
import { CelScalar, celEnv, isCelError, isCelList, isCelMap, mapType, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { z } from 'zod';
import { closestName } from '../manifest/suggest.js';
import { policyInputSchema, type PolicyInput } from './input.js';

/** A policy is a rule of a line or a few; anything this long is a mistake. */
export const MAX_EXPRESSION_LENGTH = 8_000;

export interface CompileError {
  message: string;
  /** Where in the expression text (0-based), to point the person at. */
  offset: number;
}

export interface CompiledExpression {
  readonly expression: string;
  /** The planned program, given the input already in CEL's types (see runExpression). */
  readonly run: (input: unknown) => unknown;
}

export type Compiled = { ok: true; program: CompiledExpression } | { ok: false; error: CompileError };

export type EvaluationResult = { ok: true; value: boolean } | { ok: false; error: string };

// The parser's tree types, named through the function that returns them.
type ParsedExpr = ReturnType<typeof parse>;
type Expr = ParsedExpr['expr'];

const env = celEnv({ variables: { input: mapType(CelScalar.STRING, CelScalar.DYN) }, funcs: strings });

const FUNCTIONS = new Set([...env.funcs].map((f) => f.name));
// Macros the parser expands; written with the wrong arguments they stay calls, and are better named
// as what they are than as unknown functions.
const MACROS = new Set(['has', 'all', 'exists', 'exists_one', 'map', 'filter']);
// Type names are identifiers too: `type(x) == string`.
const TYPE_NAMES = new Set(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn']);

// ---- the input document's shape, as JSON Schema (stable to walk) ----

interface Shape {
  type?: string;
  properties?: Record<string, Shape>;
  required?: string[];
  items?: Shape;
  enum?: unknown[];
}

const INPUT_SHAPE = z.toJSONSchema(policyInputSchema) as Shape;

const NOUN: Record<string, string> = {
  string: 'text',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

// ---- compiling ----

const cache = new Map<string, Compiled>();
const CACHE_LIMIT = 1_000;

/** Compiles a boolean CEL expression over `input`. Results are cached by text: compiling is pure. */
export function compileExpression(expression: string): Compiled {
  const cached = cache.get(expression);
  if (cached) return cached;
  const compiled = compileUncached(expression);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(expression, compiled);
  return compiled;
}

function compileUncached(expression: string): Compiled {
  if (expression.trim() === '') return failure('is empty: write a condition that must hold, like input.artifact.signed', 0);
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    return failure(`is ${expression.length} characters long; a policy expression may have at most ${MAX_EXPRESSION_LENGTH}`, 0);
  }
  let parsed: ParsedExpr;
  try {
    parsed = parse(expression);
  } catch (error) {
    return { ok: false, error: syntaxError(error, expression) };
  }
  const problem = new Checker(parsed, expression).check();
  if (problem) return { ok: false, error: problem };
  try {
    const program = plan(env, parsed);
    return { ok: true, program: { expression, run: (input) => program({ input } as Parameters<typeof program>[0]) } };
  } catch (error) {
    return failure(`cannot be planned: ${error instanceof Error ? error.message : String(error)}`, 0);
  }
}

function failure(message: string, offset: number): Compiled {
  return { ok: false, error: { message, offset } };
}

interface ParserError {
  rawMessage?: string;
  found?: string | null;
  location?: { start?: { offset?: number } };
}

/** The parser's own wording ("found & but expecting end of input") says little; say what it means. */
function syntaxError(error: unknown, expression: string): CompileError {
  const parserError = error as ParserError;
  const offset = Math.min(parserError.location?.start?.offset ?? 0, expression.length);
  const found = parserError.found ?? expression.slice(offset, offset + 1);
  const rest = expression.slice(offset).trim();
  let message: string;
  if (!found || rest === '') message = 'CEL syntax: the expression ends too soon (an operand, a closing bracket or quote is missing)';
  else if (/^[-&|=!<>+*/%?:.,]+$/.test(rest)) message = `CEL syntax: the expression ends after \`${rest}\`, which needs something to its right`;
  else if (typeof parserError.rawMessage === 'string' && !parserError.rawMessage.includes('expecting end of input'))
    message = `CEL syntax: ${parserError.rawMessage}`;
  else message = `CEL syntax: cannot read the expression from ${JSON.stringify(expression.slice(offset, offset + 12))} on`;
  return { message, offset };
}

type Scope = ReadonlyMap<string, Shape | undefined>;

/**
 * Walks the parsed expression with what is known of each value's shape: `input` and its fields, the
 * elements of its lists inside comprehensions. Unknown shapes (a function's result) are not checked.
 */
class Checker {
  private readonly positions: Record<string, number>;

  constructor(
    private readonly parsed: ParsedExpr,
    private readonly text: string,
  ) {
    this.positions = (parsed.sourceInfo?.positions ?? {}) as Record<string, number>;
  }

  check(): CompileError | undefined {
    try {
      const root = this.shapeOf(this.parsed.expr, new Map([['input', INPUT_SHAPE]]));
      const kind = this.parsed.expr.exprKind;
      const constant = kind.case === 'constExpr' ? kind.value.constantKind.case : undefined;
      if ((constant !== undefined && constant !== 'boolValue') || (root?.type !== undefined && root.type !== 'boolean')) {
        const what = constant !== undefined ? 'it is a constant' : `${this.pathOf(this.parsed.expr)} is ${NOUN[root!.type!] ?? root!.type}`;
        throw this.error(this.parsed.expr, `must be true or false, but ${what}: compare it, like input.vulnerabilities.counts.critical == 0`);
      }
      return undefined;
    } catch (error) {
      if (error instanceof CheckError) return error.problem;
      throw error;
    }
  }

  private error(expr: Expr, message: string, atField = false): CheckError {
    let offset = this.positions[String(expr.id)] ?? 0;
    // A field's position is its dot; the name after it is what to fix.
    if (atField && this.text[offset] === '.') offset += 1;
    return new CheckError({ message, offset });
  }

  /** `input.build.coverage` for a chain of fields from a name, else a neutral word. */
  private pathOf(expr: Expr): string {
    const kind = expr.exprKind;
    if (kind.case === 'identExpr') return kind.value.name;
    if (kind.case === 'selectExpr' && kind.value.operand) return `${this.pathOf(kind.value.operand)}.${kind.value.field}`;
    return 'the value';
  }

  private shapeOf(expr: Expr, scope: Scope): Shape | undefined {
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'constExpr':
        return undefined;
      case 'identExpr': {
        const name = kind.value.name;
        if (scope.has(name)) return scope.get(name);
        if (TYPE_NAMES.has(name)) return undefined;
        const guess = closestName(name, ['input', ...[...scope.keys()].filter((k) => !k.startsWith('@'))]);
        throw this.error(expr, `unknown name \`${name}\`${guess ? `; did you mean \`${guess}\`?` : ''}: policies read their facts from \`input\`, like input.artifact.signed`);
      }
      case 'selectExpr': {
        const operand = kind.value.operand;
        if (!operand) return undefined;
        return this.field(expr, operand, this.shapeOf(operand, scope), kind.value.field);
      }
      case 'callExpr': {
        const call = kind.value;
        if (call.target) this.shapeOf(call.target, scope);
        const args = call.args.map((arg) => this.shapeOf(arg, scope));
        this.checkFunction(expr, call.function);
        if (call.function === '_[_]') {
          const [container, key] = [args[0], call.args[1]?.exprKind];
          if (container?.type === 'array') return container.items;
          if (container?.type === 'object' && key?.case === 'constExpr' && key.value.constantKind.case === 'stringValue') {
            return this.field(expr, call.args[0]!, container, key.value.constantKind.value);
          }
        }
        return undefined;
      }
      case 'listExpr':
        for (const element of kind.value.elements) this.shapeOf(element, scope);
        return undefined;
      case 'structExpr':
        for (const entry of kind.value.entries) {
          if (entry.keyKind.case === 'mapKey') this.shapeOf(entry.keyKind.value, scope);
          if (entry.value) this.shapeOf(entry.value, scope);
        }
        return undefined;
      case 'comprehensionExpr': {
        const c = kind.value;
        const range = c.iterRange ? this.shapeOf(c.iterRange, scope) : undefined;
        if (c.accuInit) this.shapeOf(c.accuInit, scope);
        // Over a list the variable is an element; over a mapping, a key.
        const element = range?.type === 'array' ? range.items : range?.type === 'object' ? { type: 'string' } : undefined;
        const inner = new Map(scope);
        inner.set(c.accuVar, undefined);
        inner.set(c.iterVar, c.iterVar2 ? (range?.type === 'array' ? { type: 'integer' } : element) : element);
        if (c.iterVar2) inner.set(c.iterVar2, range?.type === 'array' ? range.items : undefined);
        for (const part of [c.loopCondition, c.loopStep, c.result]) if (part) this.shapeOf(part, inner);
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** The shape of `operand.name`; a field the input document does not have is an error, with a guess. */
  private field(expr: Expr, operand: Expr, shape: Shape | undefined, name: string): Shape | undefined {
    if (shape === undefined || shape.type === undefined) return undefined;
    const path = this.pathOf(operand);
    if (shape.type === 'object' && shape.properties) {
      const found = shape.properties[name];
      if (found) return found;
      const fields = Object.keys(shape.properties);
      const guess = closestName(name, fields);
      throw this.error(expr, `${path} has no field \`${name}\`${guess ? `; did you mean \`${guess}\`?` : `; its fields are ${fields.join(', ')}`}`, true);
    }
    if (shape.type === 'array') {
      throw this.error(expr, `${path} is a list, which has no field \`${name}\`: look inside it with ${path}.exists(x, x.${name} ...) or ${path}.all(...)`, true);
    }
    throw this.error(expr, `${path} is ${NOUN[shape.type] ?? shape.type}, which has no field \`${name}\``, true);
  }

  private checkFunction(expr: Expr, name: string): void {
    // Operators (`_&&_`, `@in`, `@not_strictly_false`) are the parser's own and always known.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.startsWith('_')) return;
    if (FUNCTIONS.has(name)) return;
    if (MACROS.has(name)) {
      throw this.error(expr, `\`${name}\` is a macro and takes other arguments: has(input.a.b), list.all(x, cond), list.exists(x, cond), list.map(x, expr), list.filter(x, cond)`);
    }
    const guess = closestName(name, [...FUNCTIONS, ...MACROS].filter((f) => /^[A-Za-z]/.test(f)));
    throw this.error(expr, `unknown function \`${name}\`${guess ? `; did you mean \`${guess}\`?` : ''}`);
  }
}

class CheckError extends Error {
  constructor(readonly problem: CompileError) {
    super(problem.message);
  }
}

// ---- running ----

// One decision runs every policy over one input: it is converted to CEL's types once.
const convertedInputs = new WeakMap<PolicyInput, unknown>();

/** Runs a compiled expression; an error, or a result that is not a boolean, comes back as an error. */
export function runExpression(program: CompiledExpression, input: PolicyInput): EvaluationResult {
  let result: unknown;
  try {
    let converted = convertedInputs.get(input);
    if (converted === undefined) {
      converted = toCel(input, INPUT_SHAPE);
      convertedInputs.set(input, converted);
    }
    result = program.run(converted);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  if (isCelError(result)) return { ok: false, error: explainRuntimeError(result.message) };
  if (typeof result !== 'boolean') return { ok: false, error: `the expression gave ${describeResult(result)}, not true or false` };
  return { ok: true, value: result };
}

function explainRuntimeError(message: string): string {
  if (/field not found|no such key/.test(message)) return `${message} (test a field that may be absent with has(), like has(input.build.coverage))`;
  return message;
}

function describeResult(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint' || typeof value === 'number') return `the number ${String(value)}`;
  if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (isCelList(value)) return 'a list';
  if (isCelMap(value)) return 'a mapping';
  return 'a value';
}

/** Whole-number fields become CEL ints (bigint), so `size(list) == input.vulnerabilities.counts.high` works. */
function toCel(value: unknown, shape: Shape | undefined): unknown {
  if (value === null || value === undefined) return value;
  if (shape?.type === 'integer' && typeof value === 'number') return BigInt(Math.trunc(value));
  if (Array.isArray(value)) return value.map((item) => toCel(item, shape?.items));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = toCel(item, shape?.properties?.[key]);
    return out;
  }
  return value;
}
