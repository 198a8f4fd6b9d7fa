/**
 * SBOMs of a service's resolved dependencies: lockfiles (npm, pnpm, yarn, pip requirements, Poetry,
 * uv, Go modules) read into CycloneDX 1.6 JSON, the flat component list scanning and policies read,
 * and SPDX 2.3 JSON from the same document.
 */
export { generateSbom, type SbomInput, type SbomResult } from './generate.js';
export { toSpdx, type SpdxDocument, type SpdxOptions, type SpdxPackage } from './spdx.js';
export { componentsOf, canonicalCycloneDx, type CycloneDxDocument, type CdxComponent } from './cyclonedx.js';
export type { Component, Ecosystem, Origin, Scope } from './model.js';
export { readNpmLockfile, type NpmReadOptions } from './readers/npm-lock.js';
export { readPnpmLockfile, type PnpmReadOptions } from './readers/pnpm-lock.js';
export { readYarnLockfile, type YarnReadOptions } from './readers/yarn-lock.js';
export { readRequirements, type RequirementsReadOptions } from './readers/requirements.js';
export { readPoetryLock, type PoetryReadOptions } from './readers/poetry-lock.js';
export { readUvLock, type UvReadOptions } from './readers/uv-lock.js';
export { readGoModules, type GoReadOptions } from './readers/go-modules.js';
export { placePackages } from './graph.js';
export type { LockfileGraph, LockedPackage, Problem } from './model.js';
