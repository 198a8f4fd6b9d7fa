/**
 * Framework detection for `maestro init`: looks at a folder, says what it found and why, and
 * writes a maestro.yml that deploys it as is.
 */
export type { Detection, DetectedService, Evidence, ManifestRuntime, PackageManager, SkippedPackage } from './types.js';
export { detect, detectTree } from './detect.js';
export { renderManifest, renderUnknownManifest, manifestObject } from './render.js';
export { describeDetection } from './describe.js';
export { diskTree, memoryTree, type SourceTree, type DirEntry } from './source-tree.js';
export { LOOKED_FOR } from './looked-for.js';
