import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * Where Debian puts daemons such as nginx: on root's PATH, not on other users', so they are
 * looked for there after PATH.
 */
const systemBinaries = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/**
 * The first executable named `name` on PATH (then in the sbin folders) that `usable`
 * accepts, or undefined. Tests find their tools this way instead of by fixed paths, so
 * that a machine with them elsewhere (Homebrew, /usr/local, a venv) runs the same tests;
 * `npm test` installs them first (scripts/test-prerequisites.sh).
 */
export function findOnPath(
  name: string,
  usable: (path: string) => boolean = () => true,
): string | undefined {
  const onPath = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  for (const dir of [...onPath, ...systemBinaries.filter((folder) => !onPath.includes(folder))]) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    if (usable(path)) {
      return path;
    }
  }
  return undefined;
}

/** Like {@link findOnPath}, but fails naming the Debian package that provides the tool. */
export function requireOnPath(name: string, debianPackage: string): string {
  const path = findOnPath(name);
  if (path === undefined) {
    throw new Error(
      `${name} is not on PATH: apt-get install -y ${debianPackage} (or run npm test, which installs it)`,
    );
  }
  return path;
}

/**
 * A python3 on PATH that can import every one of `modules`: a pyenv or venv python3 earlier
 * on PATH often cannot see Debian's python3-* packages, so each candidate is asked.
 */
export function pythonWith(modules: readonly string[]): string | undefined {
  return findOnPath(
    "python3",
    (path) =>
      spawnSync(path, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" }).status === 0,
  );
}

/** Like {@link pythonWith}, but fails naming the Debian packages that provide the modules. */
export function requirePythonWith(modules: readonly string[], debianPackages: string): string {
  const python = pythonWith(modules);
  if (python === undefined) {
    throw new Error(
      `no python3 on PATH imports ${modules.join(", ")}: apt-get install -y ${debianPackages}`,
    );
  }
  return python;
}
