/**
 * `.gitignore` semantics across nested folders: each folder's rules speak about paths relative to
 * that folder, deeper files override shallower ones, and within one folder `.maestroignore` comes
 * after `.gitignore` (so it can re-include with `!pattern` what git ignores, e.g. a built `dist/`).
 * A folder one file ignores and a later one re-includes is then judged only by the files that did
 * not ignore it: `!dist/` in `.maestroignore` brings back all of `dist/`, not just the folder.
 */
import ignore, { type Ignore } from 'ignore';

/** Folder and file names that never go into a source upload, at any depth. */
export const ALWAYS_EXCLUDED = new Set(['.git', 'node_modules', '.maestro']);

export const IGNORE_FILES = ['.gitignore', '.maestroignore'] as const;

interface Layer {
  /** The folder the rules live in, relative to the tree root ('' for the root). */
  base: string;
  rules: Ignore;
}

export class IgnoreRules {
  private constructor(private readonly layers: readonly Layer[]) {}

  static empty(): IgnoreRules {
    return new IgnoreRules([]);
  }

  /** These rules plus the contents of ignore files found in folder `base`, in `IGNORE_FILES` order. */
  withFolder(base: string, fileContents: readonly string[]): IgnoreRules {
    const added = fileContents.filter((text) => text.trim() !== '').map((text) => ({ base, rules: ignore().add(text) }));
    return added.length === 0 ? this : new IgnoreRules([...this.layers, ...added]);
  }

  /** The rules inside folder `dir` (which was not ignored): rules that ignored the folder itself stop applying. */
  enter(dir: string): IgnoreRules {
    const kept = this.layers.filter((layer) => !layer.rules.test(`${relativeTo(layer.base, dir)}/`).ignored);
    return kept.length === this.layers.length ? this : new IgnoreRules(kept);
  }

  /** Whether `path` (relative to the root, `/`-separated) is ignored; the last rule that matches wins. */
  ignores(path: string, isDir: boolean): boolean {
    let ignored = false;
    for (const layer of this.layers) {
      const relative = relativeTo(layer.base, path);
      const result = layer.rules.test(isDir ? `${relative}/` : relative);
      if (result.ignored) ignored = true;
      else if (result.unignored) ignored = false;
    }
    return ignored;
  }
}

function relativeTo(base: string, path: string): string {
  return base === '' ? path : path.slice(base.length + 1);
}
