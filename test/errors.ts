import { expect } from 'vitest';
import { MaestroError } from '../src/common/index.js';

/** Resolves to the MaestroError a promise rejects with (and fails the test if it resolves or rejects with anything else). */
export async function rejection(promise: Promise<unknown>): Promise<MaestroError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(MaestroError);
  return error as MaestroError;
}
