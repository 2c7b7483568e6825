import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const ROOT = join(__dirname, "..");

export type AppCopy = {
  /** The copy's directory: pass it to `startApp({ root })`. */
  root: string;
  /** `npm run build` in the copy, as in the checkout; `env` adds to this process's environment. */
  build(env?: Record<string, string>): void;
  remove(): void;
};

/**
 * The working tree as it is, uncommitted edits included (the files git tracks or would track, not the ignored
 * ones), in a temp dir, with `files` added (path → contents) and this checkout's dependencies. A plain copy,
 * not a git worktree, so nothing is written into the repository's `.git`.
 */
export function copyApp(prefix: string, files: Record<string, string> = {}): AppCopy {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  // A tracked file deleted in the working tree is still listed; so is a worktree's node_modules symlink, which
  // `.gitignore`'s `node_modules/` (a directory) does not match.
  const paths = listed.split("\0").filter((path) => path && path !== "node_modules" && existsSync(join(ROOT, path)));
  for (const path of paths) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    copyFileSync(join(ROOT, path), join(root, path));
  }
  for (const [path, contents] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), contents);
  }
  linkDependencies(root);
  return {
    root,
    build(env = {}) {
      execFileSync("npm", ["run", "build"], {
        cwd: root,
        stdio: ["ignore", "ignore", "inherit"],
        env: { ...process.env, ...env },
      });
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Turbopack refuses a node_modules symlinked from outside the project: hard links, or a full copy. */
function linkDependencies(copy: string): void {
  // The directory itself, where a worktree's is a symlink to another checkout's.
  const from = realpathSync(join(ROOT, "node_modules"));
  const to = join(copy, "node_modules");
  try {
    execFileSync("cp", ["-al", from, to], { stdio: "ignore" });
  } catch {
    rmSync(to, { recursive: true, force: true });
    execFileSync("cp", ["-a", from, to]);
  }
}
